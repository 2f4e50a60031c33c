package delivery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/delivery/destination"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// A destination is stored as a data endpoint with a kind and settings
// (store.WebhookEndpoint.Destination), so it gets deliveries exactly as a
// webhook does; only the attempt differs: write instead of post.

// writers keeps one writer per destination, rebuilt when its settings
// change, so connections are reused between attempts.
type writers struct {
	mu sync.Mutex
	m  map[string]cachedWriter
}

type cachedWriter struct {
	sum [sha256.Size]byte
	w   destination.Writer
}

// writer returns the writer of ep, building it on first use or after its
// settings changed.
func (s *Service) writer(ep store.WebhookEndpoint) (destination.Writer, error) {
	sum := sha256.Sum256(append([]byte(ep.Destination+"\x00"), ep.Settings...))
	ws := &s.dests
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if c, ok := ws.m[ep.ID]; ok {
		if c.sum == sum {
			return c.w, nil
		}
		// An attempt still using the old writer fails and is retried.
		_ = c.w.Close()
		delete(ws.m, ep.ID)
	}
	w, err := s.newWriter(ep)
	if err != nil {
		return nil, err
	}
	if ws.m == nil {
		ws.m = map[string]cachedWriter{}
	}
	ws.m[ep.ID] = cachedWriter{sum: sum, w: w}
	return w, nil
}

// newWriter builds a writer of ep that nothing else shares. It only
// decodes the settings: NewWriter validates them.
func (s *Service) newWriter(ep store.WebhookEndpoint) (destination.Writer, error) {
	set, err := destination.DecodeSettings(ep.Destination, ep.Settings)
	if err != nil {
		return nil, err
	}
	return s.cfg.NewWriter(set, destination.Options{Timeout: s.cfg.Timeout, DialContext: s.dial, Logger: s.log, ClientID: s.cfg.UserAgent})
}

// forget closes and drops the cached writer of a destination.
func (s *Service) forget(id string) {
	ws := &s.dests
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if c, ok := ws.m[id]; ok {
		_ = c.w.Close()
		delete(ws.m, id)
	}
}

// Close releases the connections of every destination writer. The
// service stays usable: a later attempt opens them again.
func (s *Service) Close() error {
	ws := &s.dests
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var errs []error
	for id, c := range ws.m {
		errs = append(errs, c.w.Close())
		delete(ws.m, id)
	}
	return errors.Join(errs...)
}

// write is post for a destination: one Write of the delivery's document.
func (s *Service) write(ctx context.Context, ep store.WebhookEndpoint, d store.Delivery) outcome {
	start := time.Now()
	w, err := s.writer(ep)
	if err != nil {
		return outcome{duration: time.Since(start), class: string(destination.ClassInvalid), err: err.Error()}
	}
	err = w.Write(ctx, destination.Doc{ClientUUID: d.ClientUUID, UserID: d.UserID, Pillar: d.Pillar, DataStructure: d.EventType,
		Day: d.Day, Key: d.Key, Version: d.Version, WebhookID: d.WebhookID, Body: d.Body})
	o := outcome{duration: time.Since(start)}
	if err == nil {
		return o
	}
	o.err = err.Error()
	if ctx.Err() != nil {
		o.aborted = true
		return o
	}
	o.class = destClass(err)
	return o
}

// destClass is the error class of a failed Write or Test.
func destClass(err error) string {
	var be *BlockedError
	if errors.As(err, &be) {
		return store.ErrorBlocked
	}
	var de *destination.Error
	if !errors.As(err, &de) && health.ErrorCode(err) == health.EINVALID {
		return string(destination.ClassInvalid)
	}
	return string(destination.ClassOf(err))
}

// retryable reports whether an attempt that failed with class may succeed
// another time: everything but a document the destination refused.
func retryable(class string) bool { return destination.Class(class).Retryable() }

// Destination is a destination as callers see it: its settings without
// secrets.
type Destination struct {
	ID             string          `json:"id"`
	ClientUUID     string          `json:"client_uuid"`
	Kind           string          `json:"kind"`
	Description    string          `json:"description"`
	Settings       json.RawMessage `json:"settings"`
	DataStructures []string        `json:"data_structures"`
	// Status is active, paused, failing or disabled.
	Status         string     `json:"status"`
	Paused         bool       `json:"paused"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Destination statuses.
const (
	DestinationActive   = "active"
	DestinationPaused   = "paused"
	DestinationFailing  = "failing"
	DestinationDisabled = "disabled"
)

func destView(e store.WebhookEndpoint) Destination {
	v := Destination{ID: e.ID, ClientUUID: e.ClientUUID, Kind: e.Destination, Description: e.URL, DataStructures: e.DataStructures,
		Paused: e.Paused, Enabled: e.Enabled, DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		Settings: json.RawMessage(`{}`)}
	if v.DataStructures == nil {
		v.DataStructures = []string{}
	}
	// Decoding is enough to redact: settings stored before a rule was
	// tightened are still shown.
	if set, err := destination.DecodeSettings(e.Destination, e.Settings); err == nil {
		if b, err := json.Marshal(set.Redacted()); err == nil {
			v.Settings = b
		}
	}
	if !e.FailingSince.IsZero() {
		t := e.FailingSince
		v.FailingSince = &t
	}
	switch {
	case !e.Enabled:
		v.Status = DestinationDisabled
	case e.Paused:
		v.Status = DestinationPaused
	case v.FailingSince != nil:
		v.Status = DestinationFailing
	default:
		v.Status = DestinationActive
	}
	return v
}

// describe is what listings show of a destination besides its settings:
// where documents go, without credentials.
func describe(set destination.Settings) string {
	switch s := set.(type) {
	case *destination.S3Settings:
		return "s3://" + s.Bucket + "/" + strings.Trim(s.Prefix, "/") + " at " + s.Endpoint
	case *destination.KafkaSettings:
		return "kafka topic " + s.Topic + " at " + strings.Join(s.Brokers, ",")
	case *destination.PostgresSettings:
		d := "postgres " + destination.RedactDSN(s.DSN)
		if s.Schema != "" {
			d += " schema " + s.Schema
		}
		return d
	}
	return set.Kind()
}

// DestinationInput describes a new destination.
type DestinationInput struct {
	ClientUUID string
	// Kind is destination.KindS3, KindKafka or KindPostgres.
	Kind string
	// Settings are the kind's settings as JSON, secrets in clear.
	Settings json.RawMessage
	// DataStructures limits it to these data_structure names; empty for
	// all.
	DataStructures []string
	// Paused creates it paused: documents wait until it is resumed.
	Paused bool
}

// AddDestination registers a destination. Its settings are checked but
// nothing is connected to: Test does that.
func (s *Service) AddDestination(ctx context.Context, in DestinationInput) (Destination, error) {
	if in.Kind == "" {
		return Destination{}, health.Errorf(health.EINVALID, "kind is required (one of %s)", strings.Join(destination.Kinds(), ", "))
	}
	if len(bytes.TrimSpace(in.Settings)) == 0 {
		return Destination{}, health.Errorf(health.EINVALID, "settings are required for a %s destination", in.Kind)
	}
	set, err := destination.ParseSettings(in.Kind, in.Settings)
	if err != nil {
		return Destination{}, err
	}
	if err := validDataStructures(in.DataStructures); err != nil {
		return Destination{}, err
	}
	raw, err := json.Marshal(set)
	if err != nil {
		return Destination{}, err
	}
	e, err := s.st.CreateEndpoint(ctx, store.WebhookEndpoint{ClientUUID: in.ClientUUID, Kind: store.EndpointData, Destination: in.Kind,
		URL: describe(set), Settings: raw, DataStructures: in.DataStructures, Enabled: true, Paused: in.Paused})
	if err != nil {
		return Destination{}, err
	}
	return destView(e), nil
}

// ListDestinations lists a client's destinations ("" for every client's).
func (s *Service) ListDestinations(ctx context.Context, clientUUID string) ([]Destination, error) {
	es, err := s.st.ListDestinations(ctx, clientUUID)
	if err != nil {
		return nil, err
	}
	out := make([]Destination, len(es))
	for i, e := range es {
		out[i] = destView(e)
	}
	return out, nil
}

// destination loads a destination the caller may act on.
func (s *Service) destination(ctx context.Context, clientUUID, id string) (store.WebhookEndpoint, error) {
	e, err := s.st.GetEndpoint(ctx, id)
	if health.ErrorCode(err) == health.ENOTFOUND || err == nil && (!e.IsDestination() || clientUUID != "" && e.ClientUUID != clientUUID) {
		return store.WebhookEndpoint{}, health.Errorf(health.ENOTFOUND, "destination %s not found", id)
	}
	return e, err
}

// GetDestination returns one destination.
func (s *Service) GetDestination(ctx context.Context, clientUUID, id string) (Destination, error) {
	e, err := s.destination(ctx, clientUUID, id)
	if err != nil {
		return Destination{}, err
	}
	return destView(e), nil
}

// SetPaused pauses or resumes a destination. Paused, its deliveries stay
// pending without attempts; resumed, they are queued again. Resuming a
// destination that was disabled (its attempts failed for too long)
// enables it again; what it missed meanwhile is in its dead letters.
func (s *Service) SetPaused(ctx context.Context, clientUUID, id string, paused bool) (Destination, error) {
	e, err := s.destination(ctx, clientUUID, id)
	if err != nil {
		return Destination{}, err
	}
	if !paused && !e.Enabled {
		if _, err := s.st.SetEndpointEnabled(ctx, id, true, "", s.now()); err != nil {
			return Destination{}, err
		}
	}
	e, err = s.st.SetEndpointPaused(ctx, id, paused)
	if err != nil {
		return Destination{}, err
	}
	if !paused {
		if err := s.enqueuePending(ctx); err != nil {
			s.log.Warn("queue a resumed destination's deliveries", "destination", id, "err", err)
		}
	}
	return destView(e), nil
}

// DestinationUpdate changes the fields that are set.
type DestinationUpdate struct {
	// Settings replace the destination's settings whole, of the same
	// kind; secrets left out are kept, so fixing a bucket name or a user
	// name need not repeat the password.
	Settings json.RawMessage
	// DataStructures is the new filter; empty for all.
	DataStructures *[]string
}

// UpdateDestination changes a destination's settings or filter. Its
// deliveries stay: after new credentials, replay its dead letters.
func (s *Service) UpdateDestination(ctx context.Context, clientUUID, id string, u DestinationUpdate) (Destination, error) {
	e, err := s.destination(ctx, clientUUID, id)
	if err != nil {
		return Destination{}, err
	}
	var su store.EndpointUpdate
	if len(bytes.TrimSpace(u.Settings)) > 0 {
		// The previous settings only lend their secrets; the merged ones
		// are validated, so a destination stored before a rule was
		// tightened can be fixed.
		prev, err := destination.DecodeSettings(e.Destination, e.Settings)
		if err != nil {
			return Destination{}, err
		}
		set, err := s.mergeSettings(e.Destination, u.Settings, prev)
		if err != nil {
			return Destination{}, err
		}
		raw, err := json.Marshal(set)
		if err != nil {
			return Destination{}, err
		}
		desc := describe(set)
		su.Settings, su.URL = &raw, &desc
	}
	if u.DataStructures != nil {
		if err := validDataStructures(*u.DataStructures); err != nil {
			return Destination{}, err
		}
		su.DataStructures = u.DataStructures
	}
	if su.Settings == nil && su.DataStructures == nil {
		return Destination{}, health.Errorf(health.EINVALID, "nothing to change: give settings or data_structures")
	}
	e, err = s.st.UpdateEndpoint(ctx, id, su)
	if err != nil {
		return Destination{}, err
	}
	return destView(e), nil
}

// mergeSettings decodes raw as settings of kind, fills the secrets it
// leaves out from prev, and validates the result.
func (s *Service) mergeSettings(kind string, raw json.RawMessage, prev destination.Settings) (destination.Settings, error) {
	set, err := destination.DecodeSettings(kind, raw)
	if err != nil {
		return nil, err
	}
	set.KeepSecrets(prev)
	if err := set.Validate(); err != nil {
		return nil, err
	}
	return set, nil
}

// DeleteDestination removes a destination with its deliveries.
func (s *Service) DeleteDestination(ctx context.Context, clientUUID, id string) error {
	if _, err := s.destination(ctx, clientUUID, id); err != nil {
		return err
	}
	if err := s.st.DeleteEndpoint(ctx, id); err != nil {
		return err
	}
	s.forget(id)
	return nil
}

// DestinationTest is what testing a destination gave.
type DestinationTest struct {
	Succeeded  bool   `json:"succeeded"`
	DurationMS int64  `json:"duration_ms"`
	ErrorClass string `json:"error_class,omitempty"`
	// Error is the destination system's own message, without secrets.
	Error string `json:"error,omitempty"`
}

// TestDestination checks, now and paused or not, that the destination
// can be reached with its credentials and that its bucket, topic or
// database is there and writable, without writing a document. A failure
// is a result, not an error: the error is the caller's (not found) or the
// store's.
func (s *Service) TestDestination(ctx context.Context, clientUUID, id string) (DestinationTest, error) {
	e, err := s.destination(ctx, clientUUID, id)
	if err != nil {
		return DestinationTest{}, err
	}
	start := time.Now()
	w, err := s.newWriter(e)
	if err == nil {
		tctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		err = w.Test(tctx)
		cancel()
		_ = w.Close()
	}
	r := DestinationTest{Succeeded: err == nil, DurationMS: time.Since(start).Milliseconds()}
	if err != nil {
		if ctx.Err() != nil {
			return DestinationTest{}, ctx.Err()
		}
		r.ErrorClass, r.Error = destClass(err), err.Error()
	}
	return r, nil
}

// errNotWebhook is the error of a webhook route given a destination id.
func errNotWebhook(id string) error {
	return health.Errorf(health.ENOTFOUND, "webhook endpoint %s not found (it is a destination: see /api/v1/client/destinations)", id)
}
