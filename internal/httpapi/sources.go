package httpapi

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// Source is a data source the API serves: one registered provider.
type Source struct {
	// DataSource is the slug in paths and in the store.
	DataSource string
	// Name is ROOK's name for it; requests may use either.
	Name        string
	Description string
	// Collections are the raw collections /v2/raw_data serves.
	Collections []string
	// Linker links its accounts; nil answers 503 for this source.
	Linker Linker
}

// rookSources are the names ROOK knows, to tell a known source this
// server does not serve from a name nobody knows.
var rookSources = []string{"Garmin", "Oura", "Polar", "Fitbit", "Withings", "Whoop", "Dexcom", "Apple Health", "Health Connect", "Android", "Google Fit", "Samsung Health"}

var slug = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

func checkSources(ss []Source) error {
	seen := map[string]bool{}
	for _, s := range ss {
		if !slug.MatchString(s.DataSource) || s.Name == "" {
			return fmt.Errorf("httpapi: source %q/%q needs a lower-case slug and a name", s.DataSource, s.Name)
		}
		if seen[s.DataSource] {
			return fmt.Errorf("httpapi: source %s given twice", s.DataSource)
		}
		seen[s.DataSource] = true
	}
	return nil
}

// served lists the names of the served sources, for messages.
func (a *API) served() string {
	if len(a.cfg.Sources) == 0 {
		return "no data source"
	}
	names := make([]string, len(a.cfg.Sources))
	for i, s := range a.cfg.Sources {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// source finds a served source by ROOK's name or by slug, any case. Other
// names get a message that tells a known but unserved source from an
// unknown one; code is the error code to use (ROOK answers 422 on
// revoke_auth and 400 elsewhere).
func (a *API) source(v, code string) (Source, error) {
	if v == "" {
		return Source{}, health.Errorf(code, "data_source is required; this server serves %s.", a.served())
	}
	for _, s := range a.cfg.Sources {
		if strings.EqualFold(v, s.Name) || strings.EqualFold(v, s.DataSource) {
			return s, nil
		}
	}
	for _, s := range rookSources {
		if strings.EqualFold(v, s) {
			return Source{}, health.Errorf(code, "Data source %s is not available on this server; it serves %s.", s, a.served())
		}
	}
	return Source{}, health.Errorf(code, "Unknown data source %s; this server serves %s.", quoteShort(v), a.served())
}

// sourceName is a data source as ROOK spells it.
func (a *API) sourceName(ds string) string {
	for _, s := range a.cfg.Sources {
		if s.DataSource == ds {
			return s.Name
		}
	}
	return ds
}

// linker is a source's Linker, or the 503 that says linking it is off.
func (s Source) linker() (Linker, error) {
	if s.Linker == nil {
		return nil, unavailable("Linking " + s.Name + " accounts is not configured on this server.")
	}
	return s.Linker, nil
}

// collection checks that a source serves a raw collection.
func (s Source) collection(name string) error {
	if slices.Contains(s.Collections, name) {
		return nil
	}
	names := slices.Sorted(slices.Values(s.Collections))
	return invalid("Unknown %s collection %s. Collections: %s.", s.Name, quoteShort(name), strings.Join(names, ", "))
}

// authorized reports whether the user's connection to a source works now.
// A connection that needs a new consent counts as not authorized.
func (a *API) authorized(ctx context.Context, clientUUID, userID string, s Source) (bool, error) {
	conn, err := a.st.FindConnection(ctx, clientUUID, userID, s.DataSource)
	if health.ErrorCode(err) == health.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return conn.Status == store.StatusActive, nil
}

// SourcesOf describes the registered providers in their order, each with
// its Linker from linkers (by data source; none: linking it answers 503).
func SourcesOf(reg *provider.Registry, linkers map[string]Linker) []Source {
	var out []Source
	for _, p := range reg.All() {
		info := p.Info()
		s := Source{DataSource: info.DataSource, Name: info.Name, Description: info.Description, Linker: linkers[info.DataSource]}
		for _, c := range p.Collections() {
			s.Collections = append(s.Collections, c.Name)
		}
		out = append(out, s)
	}
	return out
}
