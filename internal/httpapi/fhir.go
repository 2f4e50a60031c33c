package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/fhir"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// fhirBase is the root of the FHIR R4 routes: a read-only view of the same
// health documents as the ROOK routes, with the same auth and tenancy.
const fhirBase = "/fhir/R4"

// Search paging: _count's default and its most.
const (
	fhirDefaultCount = 100
	fhirMaxCount     = 1000
)

// fhirSearchParams are the Observation search parameters served; any
// other is a 400, as FHIR lets a server refuse what it would ignore.
var fhirSearchParams = []string{"patient", "date", "code", "category", "_count", "_cursor", "_format"}

func (a *API) fhirRoutes() []route {
	return []route{
		{method: "GET", pattern: fhirBase + "/metadata", h: a.fhirMetadata},
		{method: "GET", pattern: fhirBase + "/Patient/{id}", auth: true, h: a.fhirPatient},
		{method: "GET", pattern: fhirBase + "/Patient/{id}/$everything", auth: true, h: a.fhirEverything},
		{method: "GET", pattern: fhirBase + "/Device/{id}", auth: true, h: a.fhirDevice},
		{method: "GET", pattern: fhirBase + "/Observation", auth: true, h: a.fhirSearch},
		{method: "GET", pattern: fhirBase + "/Observation/{id}", auth: true, h: a.fhirObservation},
	}
}

// isFHIR reports whether the request is for a FHIR route, whose errors
// are OperationOutcomes.
func isFHIR(r *http.Request) bool {
	return r.URL.Path == fhirBase || strings.HasPrefix(r.URL.Path, fhirBase+"/")
}

// writeOutcome writes an error of a FHIR route.
func writeOutcome(w http.ResponseWriter, status int, msg string) {
	code := "exception"
	switch status {
	case http.StatusBadRequest:
		code = "invalid"
	case http.StatusUnauthorized, http.StatusForbidden:
		code = "security"
	case http.StatusNotFound:
		code = "not-found"
	case http.StatusMethodNotAllowed:
		code = "not-supported"
	case http.StatusTooManyRequests:
		code = "throttled"
	}
	writeFHIR(w, status, fhir.Outcome(code, msg))
}

// writeFHIR writes a FHIR resource as application/fhir+json.
func writeFHIR(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(fhir.Outcome("exception", "The response could not be encoded."))
	}
	h := w.Header()
	h.Set("Content-Type", "application/fhir+json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (a *API) fhirMetadata(w http.ResponseWriter, r *http.Request, _ *store.Client) error {
	writeFHIR(w, http.StatusOK, fhir.CapabilityStatement(a.now(), a.publicURL(r)+fhirBase))
	return nil
}

// fhirUser reads a Patient id as one of the client's users; another
// client's user is not found, as on the ROOK routes.
func (a *API) fhirUser(ctx context.Context, c *store.Client, id string) (string, error) {
	id = strings.TrimPrefix(id, "Patient/")
	if !health.ValidUserID(id) {
		return "", health.Errorf(health.ENOTFOUND, "There is no Patient %s: a Patient id is a user_id (1 to 50 letters, digits or hyphens).", quoteShort(id))
	}
	if _, err := a.st.GetUser(ctx, c.UUID, id); err != nil {
		if health.ErrorCode(err) == health.ENOTFOUND {
			return "", health.Errorf(health.ENOTFOUND, "There is no Patient %s: this client has no such user.", id)
		}
		return "", err
	}
	return id, nil
}

func (a *API) fhirPatient(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	id, err := a.fhirUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeFHIR(w, http.StatusOK, fhir.NewPatient(c.UUID, id))
	return nil
}

func (a *API) fhirDevice(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	raw := r.PathValue("id")
	user, ds, ok := strings.Cut(raw, ".")
	notFound := health.Errorf(health.ENOTFOUND, "There is no Device %s: a Device id is <user_id>.<data_source> of a linked account.", quoteShort(raw))
	if !ok {
		return notFound
	}
	user, err := a.fhirUser(r.Context(), c, user)
	if err != nil {
		return err
	}
	if _, err := a.st.FindConnection(r.Context(), c.UUID, user, ds); err != nil {
		if health.ErrorCode(err) == health.ENOTFOUND {
			return notFound
		}
		return err
	}
	writeFHIR(w, http.StatusOK, fhir.NewDevice(user, ds, a.sourceName(ds), ""))
	return nil
}

// fhirDocument turns a stored document into the mapping's input.
func (a *API) fhirDocument(d store.HealthDocument) fhir.Document {
	ds := d.DataSource()
	_, key, _ := strings.Cut(d.Key, ":")
	return fhir.Document{UserID: d.UserID, DataSource: ds, SourceName: a.sourceName(ds), Key: key,
		Pillar: d.Pillar, DataStructure: d.DataStructure, Day: d.Day, Version: d.Version, Body: d.Body}
}

func (a *API) fhirObservation(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	id := r.PathValue("id")
	notFound := health.Errorf(health.ENOTFOUND, "There is no Observation %s.", quoteShort(id))
	day, s, ok := fhir.ParseID(id)
	if !ok {
		return notFound
	}
	// The id names the day and the structure; the documents of that day
	// and structure of the client's users hold it, if anyone's does.
	docs, err := a.st.GetHealthDocuments(r.Context(), store.HealthQuery{ClientUUID: c.UUID, DataStructure: s.Name, Pillar: s.Pillar, Day: day})
	if err != nil {
		return err
	}
	for _, d := range docs {
		obs, err := fhir.Observations(a.fhirDocument(d))
		if err != nil {
			return err
		}
		for _, o := range obs {
			if o.ID == id {
				writeFHIR(w, http.StatusOK, o)
				return nil
			}
		}
	}
	return notFound
}

// fhirQuery is a checked Observation search.
type fhirQuery struct {
	user       string
	dates      []fhir.DateParam
	codes      [][]fhir.Token
	categories [][]fhir.Token
	count      int
	after      *fhir.Cursor
}

func (a *API) parseFHIRSearch(ctx context.Context, c *store.Client, q url.Values) (fhirQuery, error) {
	fq := fhirQuery{count: fhirDefaultCount}
	for name := range q {
		if !slices.Contains(fhirSearchParams, name) {
			return fq, invalid("The search parameter %s is not supported; Observation search takes %s.", quoteShort(name), strings.Join(fhirSearchParams, ", "))
		}
	}
	if f := q.Get("_format"); q.Has("_format") && f != "json" && f != "application/json" && f != "application/fhir+json" {
		return fq, invalid("_format=%s: this server answers in JSON only (json or application/fhir+json).", quoteShort(f))
	}
	if len(q["patient"]) != 1 || q.Get("patient") == "" {
		return fq, invalid("patient is required, once: the user_id whose Observations to search (patient=<user_id>).")
	}
	for _, v := range q["date"] {
		p, err := fhir.ParseDate(v)
		if err != nil {
			return fq, invalid("date=%s: %v.", quoteShort(v), err)
		}
		fq.dates = append(fq.dates, p)
	}
	for _, v := range q["code"] {
		ts, err := fhir.ParseTokens(v)
		if err != nil {
			return fq, invalid("code=%s: %v.", quoteShort(v), err)
		}
		fq.codes = append(fq.codes, ts)
	}
	for _, v := range q["category"] {
		ts, err := fhir.ParseTokens(v)
		if err != nil {
			return fq, invalid("category=%s: %v.", quoteShort(v), err)
		}
		fq.categories = append(fq.categories, ts)
	}
	if q.Has("_count") {
		n, err := strconv.Atoi(q.Get("_count"))
		if err != nil || n < 1 || n > fhirMaxCount {
			return fq, invalid("_count=%s: give a page size from 1 to %d.", quoteShort(q.Get("_count")), fhirMaxCount)
		}
		fq.count = n
	}
	if q.Has("_cursor") {
		cur, err := fhir.ParseCursor(q.Get("_cursor"))
		if err != nil {
			return fq, invalid("_cursor: %v.", err)
		}
		fq.after = &cur
	}
	user, err := a.fhirUser(ctx, c, q.Get("patient"))
	if err != nil {
		return fq, err
	}
	fq.user = user
	return fq, nil
}

// days are the local days whose documents can hold a match: an
// Observation starts at most two days before or after its document's day
// (a night that began the evening before, a zone far from UTC).
func (fq fhirQuery) days() (from, to string) {
	const margin = 2 * 24 * time.Hour
	var lo, hi time.Time
	for _, d := range fq.dates {
		switch d.Prefix {
		case "ge", "gt", "eq":
			if lo.IsZero() || d.Lo.After(lo) {
				lo = d.Lo
			}
		}
		switch d.Prefix {
		case "le", "lt", "eq":
			if hi.IsZero() || d.Hi.Before(hi) {
				hi = d.Hi
			}
		}
	}
	if fq.after != nil && fq.after.Start.After(lo) {
		lo = fq.after.Start
	}
	if !lo.IsZero() {
		from = lo.Add(-margin).UTC().Format(time.DateOnly)
	}
	if !hi.IsZero() {
		to = hi.Add(margin).UTC().Format(time.DateOnly)
	}
	return from, to
}

func (fq fhirQuery) matches(o fhir.Ranked) bool {
	for _, d := range fq.dates {
		if !d.Matches(o.Start, o.End) {
			return false
		}
	}
	for _, ts := range fq.codes {
		if !o.Code.MatchesAny(ts) {
			return false
		}
	}
	for _, ts := range fq.categories {
		if !slices.ContainsFunc(o.Category, func(c fhir.CodeableConcept) bool { return c.MatchesAny(ts) }) {
			return false
		}
	}
	return fq.after == nil || o.After(*fq.after)
}

// fhirSearch serves GET /fhir/R4/Observation: one page of the user's
// matching Observations in (effective start, id) order, and a next link
// that continues after the page's last one.
func (a *API) fhirSearch(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	q := r.URL.Query()
	fq, err := a.parseFHIRSearch(r.Context(), c, q)
	if err != nil {
		return err
	}
	var docs []store.HealthDocument
	// Dates that exclude each other leave no day to read.
	if from, to := fq.days(); from == "" || to == "" || from <= to {
		docs, err = a.st.GetHealthDocuments(r.Context(), store.HealthQuery{ClientUUID: c.UUID, UserID: fq.user, FromDay: from, ToDay: to})
		if err != nil {
			return err
		}
	}
	var hits []fhir.Ranked
	for _, d := range docs {
		obs, err := fhir.Observations(a.fhirDocument(d))
		if err != nil {
			return err
		}
		for _, o := range fhir.Rank(obs) {
			if fq.matches(o) {
				hits = append(hits, o)
			}
		}
	}
	fhir.SortRanked(hits)
	base := a.publicURL(r) + fhirBase
	bundle := fhir.Bundle{ResourceType: "Bundle", Type: "searchset", Timestamp: a.now().UTC().Format(time.RFC3339)}
	self := url.Values{}
	for k, v := range q {
		self[k] = v
	}
	bundle.Link = append(bundle.Link, fhir.BundleLink{Relation: "self", URL: base + "/Observation?" + self.Encode()})
	page := hits[:min(fq.count, len(hits))]
	if len(hits) > fq.count {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("_cursor", page[len(page)-1].Cursor().String())
		bundle.Link = append(bundle.Link, fhir.BundleLink{Relation: "next", URL: base + "/Observation?" + next.Encode()})
	}
	for _, o := range page {
		b, err := json.Marshal(o.Observation)
		if err != nil {
			return err
		}
		bundle.Entry = append(bundle.Entry, fhir.BundleEntry{FullURL: base + "/Observation/" + o.ID, Resource: b, Search: &fhir.BundleSearch{Mode: "match"}})
	}
	writeFHIR(w, http.StatusOK, bundle)
	return nil
}

// fhirEverything serves GET /fhir/R4/Patient/{id}/$everything: the
// Patient, the Device of each linked account or provider with documents,
// and every Observation, as NDJSON (one resource a line, as FHIR Bulk Data
// files are).
func (a *API) fhirEverything(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	ctx := r.Context()
	user, err := a.fhirUser(ctx, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	stored, err := a.st.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: c.UUID, UserID: user})
	if err != nil {
		return err
	}
	var sources []string
	for _, s := range a.cfg.Sources {
		if _, err := a.st.FindConnection(ctx, c.UUID, user, s.DataSource); err == nil {
			sources = append(sources, s.DataSource)
		} else if health.ErrorCode(err) != health.ENOTFOUND {
			return err
		}
	}
	docs := make([]fhir.Document, len(stored))
	for i, d := range stored {
		docs[i] = a.fhirDocument(d)
		if !slices.Contains(sources, docs[i].DataSource) {
			sources = append(sources, docs[i].DataSource)
		}
	}
	slices.Sort(sources)
	devices := make([]fhir.Device, len(sources))
	for i, ds := range sources {
		devices[i] = fhir.NewDevice(user, ds, a.sourceName(ds), "")
	}
	// Mapped before anything is written, so that an error is still an
	// OperationOutcome rather than a cut stream.
	var b bytes.Buffer
	if err := fhir.Everything(fhir.NewNDJSON(&b), fhir.NewPatient(c.UUID, user), devices, docs); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/fhir+ndjson")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}
