package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// The methods below are what the REST routes and the CLI call. Each takes
// the client the caller acts for: the API passes the authenticated
// client_uuid, and an endpoint or delivery of another client is then not
// found; the CLI (an operator) passes "" to act on every client.

// Endpoint is an endpoint as callers see it: never its secrets.
type Endpoint struct {
	ID             string   `json:"id"`
	ClientUUID     string   `json:"client_uuid"`
	Kind           string   `json:"kind"`
	URL            string   `json:"url"`
	DataStructures []string `json:"data_structures"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
	// FailingSince is set while every attempt since then has failed.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// PreviousSecretExpiresAt is set during a rotation's grace period.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

// EndpointWithSecret is an endpoint with its new secret, returned once
// when it is created or rotated.
type EndpointWithSecret struct {
	Endpoint
	Secret string `json:"secret"`
}

func view(e store.WebhookEndpoint, now time.Time) Endpoint {
	v := Endpoint{ID: e.ID, ClientUUID: e.ClientUUID, Kind: e.Kind, URL: redactURL(e.URL), DataStructures: e.DataStructures,
		Enabled: e.Enabled, DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if v.DataStructures == nil {
		v.DataStructures = []string{}
	}
	if !e.FailingSince.IsZero() {
		t := e.FailingSince
		v.FailingSince = &t
	}
	if e.PreviousSecret != "" && now.Before(e.PreviousExpiresAt) {
		t := e.PreviousExpiresAt
		v.PreviousSecretExpiresAt = &t
	}
	return v
}

// redactURL hides the password of a URL stored before registration
// refused credentials, so that listings do not show it.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// EndpointInput describes a new endpoint.
type EndpointInput struct {
	ClientUUID string
	URL        string
	// Kind is store.EndpointData (the default) or store.EndpointNotification.
	Kind string
	// DataStructures limits a data endpoint to these data_structure
	// names; empty for all.
	DataStructures []string
	// Disabled creates it disabled.
	Disabled bool
}

func validDataStructures(names []string) error {
	known := map[string]bool{}
	for _, st := range health.Structures() {
		known[st.Name] = true
	}
	for _, n := range names {
		if !known[n] {
			return health.Errorf(health.EINVALID, "unknown data_structure %q", n)
		}
	}
	return nil
}

// AddEndpoint creates an endpoint with a new whsec_ secret, which is
// returned here and never again.
func (s *Service) AddEndpoint(ctx context.Context, in EndpointInput) (EndpointWithSecret, error) {
	if in.Kind == "" {
		in.Kind = store.EndpointData
	}
	if !store.ValidEndpointKind(in.Kind) {
		return EndpointWithSecret{}, health.Errorf(health.EINVALID, "endpoint kind must be %s or %s", store.EndpointData, store.EndpointNotification)
	}
	if in.Kind == store.EndpointNotification && len(in.DataStructures) > 0 {
		return EndpointWithSecret{}, health.Errorf(health.EINVALID, "a notification endpoint takes no data_structure filter")
	}
	if err := validDataStructures(in.DataStructures); err != nil {
		return EndpointWithSecret{}, err
	}
	if err := s.CheckURL(ctx, in.URL); err != nil {
		return EndpointWithSecret{}, err
	}
	e, err := s.st.CreateEndpoint(ctx, store.WebhookEndpoint{ClientUUID: in.ClientUUID, Kind: in.Kind, URL: in.URL,
		Secret: NewSecret(), DataStructures: in.DataStructures, Enabled: !in.Disabled})
	if err != nil {
		return EndpointWithSecret{}, err
	}
	return EndpointWithSecret{Endpoint: view(e, s.now()), Secret: e.Secret}, nil
}

// ListEndpoints lists a client's endpoints ("" for every client's).
func (s *Service) ListEndpoints(ctx context.Context, clientUUID string) ([]Endpoint, error) {
	es, err := s.st.ListEndpoints(ctx, clientUUID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Endpoint, len(es))
	for i, e := range es {
		out[i] = view(e, now)
	}
	return out, nil
}

// endpoint loads an endpoint the caller may act on.
func (s *Service) endpoint(ctx context.Context, clientUUID, id string) (store.WebhookEndpoint, error) {
	e, err := s.st.GetEndpoint(ctx, id)
	if err == nil && clientUUID != "" && e.ClientUUID != clientUUID {
		return store.WebhookEndpoint{}, health.Errorf(health.ENOTFOUND, "webhook endpoint %s not found", id)
	}
	if err == nil && e.IsDestination() {
		return store.WebhookEndpoint{}, errNotWebhook(id)
	}
	return e, err
}

// GetEndpoint returns one endpoint.
func (s *Service) GetEndpoint(ctx context.Context, clientUUID, id string) (Endpoint, error) {
	e, err := s.endpoint(ctx, clientUUID, id)
	if err != nil {
		return Endpoint{}, err
	}
	return view(e, s.now()), nil
}

// EndpointUpdate changes the fields that are set.
type EndpointUpdate struct {
	URL            *string
	DataStructures *[]string
}

// UpdateEndpoint changes an endpoint's URL or filter.
func (s *Service) UpdateEndpoint(ctx context.Context, clientUUID, id string, u EndpointUpdate) (Endpoint, error) {
	e, err := s.endpoint(ctx, clientUUID, id)
	if err != nil {
		return Endpoint{}, err
	}
	if u.URL != nil {
		if err := s.CheckURL(ctx, *u.URL); err != nil {
			return Endpoint{}, err
		}
	}
	if u.DataStructures != nil {
		if e.Kind == store.EndpointNotification && len(*u.DataStructures) > 0 {
			return Endpoint{}, health.Errorf(health.EINVALID, "a notification endpoint takes no data_structure filter")
		}
		if err := validDataStructures(*u.DataStructures); err != nil {
			return Endpoint{}, err
		}
	}
	e, err = s.st.UpdateEndpoint(ctx, id, store.EndpointUpdate{URL: u.URL, DataStructures: u.DataStructures})
	if err != nil {
		return Endpoint{}, err
	}
	return view(e, s.now()), nil
}

// RotateSecret gives an endpoint a new secret, returned once. The old one
// keeps signing beside it for RotationGrace, so a receiver can switch
// without missing a document.
func (s *Service) RotateSecret(ctx context.Context, clientUUID, id string) (EndpointWithSecret, error) {
	if _, err := s.endpoint(ctx, clientUUID, id); err != nil {
		return EndpointWithSecret{}, err
	}
	now := s.now()
	e, err := s.st.RotateEndpointSecret(ctx, id, NewSecret(), now.Add(s.cfg.RotationGrace))
	if err != nil {
		return EndpointWithSecret{}, err
	}
	return EndpointWithSecret{Endpoint: view(e, now), Secret: e.Secret}, nil
}

// SetEnabled enables or disables an endpoint. Disabling turns its pending
// deliveries into dead letters; enabling resends nothing by itself (see
// Replay and Resend).
func (s *Service) SetEnabled(ctx context.Context, clientUUID, id string, enabled bool) (Endpoint, error) {
	if _, err := s.endpoint(ctx, clientUUID, id); err != nil {
		return Endpoint{}, err
	}
	now := s.now()
	e, err := s.st.SetEndpointEnabled(ctx, id, enabled, "disabled by request", now)
	if err != nil {
		return Endpoint{}, err
	}
	return view(e, now), nil
}

// DeleteEndpoint removes an endpoint with its deliveries.
func (s *Service) DeleteEndpoint(ctx context.Context, clientUUID, id string) error {
	if _, err := s.endpoint(ctx, clientUUID, id); err != nil {
		return err
	}
	return s.st.DeleteEndpoint(ctx, id)
}

// TestResult is what a test POST gave.
type TestResult struct {
	DeliveryID int64         `json:"delivery_id"`
	WebhookID  string        `json:"webhook_id"`
	Succeeded  bool          `json:"succeeded"`
	StatusCode int           `json:"status_code,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	ErrorClass string        `json:"error_class,omitempty"`
	Error      string        `json:"error,omitempty"`
	Response   string        `json:"response,omitempty"`
}

// testData is the data of webhook.test.
type testData struct {
	EndpointID string `json:"endpoint_id"`
	Kind       string `json:"kind"`
	URL        string `json:"url"`
}

// TestEndpoint posts a webhook.test event to an endpoint now, enabled or
// not, once, signed like every delivery, and records the attempt.
func (s *Service) TestEndpoint(ctx context.Context, clientUUID, id string) (TestResult, error) {
	ep, err := s.endpoint(ctx, clientUUID, id)
	if err != nil {
		return TestResult{}, err
	}
	now := s.now()
	body, err := json.Marshal(Event{Type: EventTest, Timestamp: now.UTC().Format(time.RFC3339Nano), ClientUUID: ep.ClientUUID,
		Action: "webhook_test", Level: "info", Message: "A test event, sent on request.",
		Data: testData{EndpointID: ep.ID, Kind: ep.Kind, URL: ep.URL}})
	if err != nil {
		return TestResult{}, err
	}
	ids, err := s.st.AddMessage(ctx, store.WebhookMessage{ClientUUID: ep.ClientUUID, Kind: store.MessageTest, EventType: EventTest, Body: body},
		[]string{ep.ID}, now)
	if err != nil {
		return TestResult{}, err
	}
	if len(ids) != 1 {
		return TestResult{}, fmt.Errorf("test endpoint %s: %d deliveries", id, len(ids))
	}
	d, err := s.st.GetDelivery(ctx, ids[0])
	if err != nil {
		return TestResult{}, err
	}
	rec, o, err := s.attempt(ctx, d, ep, now)
	if err != nil {
		return TestResult{}, err
	}
	return TestResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Succeeded: rec.Status == store.DeliverySucceeded,
		StatusCode: o.status, Duration: o.duration, ErrorClass: o.class, Error: o.err, Response: string(o.response)}, nil
}

// Replay makes deliveries pending again with a fresh schedule and the
// same webhook-id: the given IDs (succeeded or dead), or else the dead
// letters of q.ClientUUID created in the range. Deliveries to disabled
// endpoints are skipped. It returns how many it replayed; they are
// queued at once when a River client is attached, else by the running
// server's pump.
func (s *Service) Replay(ctx context.Context, clientUUID string, q store.ReplayQuery) (int, error) {
	if clientUUID != "" {
		q.ClientUUID = clientUUID
		ids := q.IDs[:0:0]
		for _, id := range q.IDs {
			d, err := s.st.GetDelivery(ctx, id)
			if err != nil {
				return 0, err
			}
			if d.ClientUUID != clientUUID {
				return 0, health.Errorf(health.ENOTFOUND, "delivery %d not found", id)
			}
			ids = append(ids, id)
		}
		q.IDs = ids
	}
	n, err := s.st.ReplayDeliveries(ctx, q, s.now())
	if err != nil {
		return 0, err
	}
	if err := s.enqueuePending(ctx); err != nil {
		s.log.Warn("queue replayed deliveries", "err", err)
	}
	return n, nil
}

// ResendRequest is the body of ROOK's POST /api/v1/client/webhooks/resend:
// dates (YYYY-MM-DD, UTC), both inclusive.
type ResendRequest struct {
	Start  string `json:"start"`
	Finish string `json:"finish"`
}

// ResendResponse is ROOK's answer to it.
type ResendResponse struct {
	Message           string `json:"message"`
	TotalDocsToResend int    `json:"total_docs_to_resend"`
}

// Resend replays the client's dead letters whose delivery was created on
// the days Start to Finish (UTC, inclusive): ROOK's "resend rejected
// information".
func (s *Service) Resend(ctx context.Context, clientUUID string, req ResendRequest) (ResendResponse, error) {
	if clientUUID == "" {
		return ResendResponse{}, health.Errorf(health.EINVALID, "resend: a client is required")
	}
	start, err := time.Parse(time.DateOnly, req.Start)
	if err != nil {
		return ResendResponse{}, health.Errorf(health.EINVALID, "start %q is not a YYYY-MM-DD date", req.Start)
	}
	finish, err := time.Parse(time.DateOnly, req.Finish)
	if err != nil {
		return ResendResponse{}, health.Errorf(health.EINVALID, "finish %q is not a YYYY-MM-DD date", req.Finish)
	}
	if finish.Before(start) {
		return ResendResponse{}, health.Errorf(health.EINVALID, "finish %s is before start %s", req.Finish, req.Start)
	}
	n, err := s.Replay(ctx, clientUUID, store.ReplayQuery{ClientUUID: clientUUID, CreatedFrom: start, CreatedTo: finish.AddDate(0, 0, 1)})
	if err != nil {
		return ResendResponse{}, err
	}
	return ResendResponse{Message: "Success", TotalDocsToResend: n}, nil
}

// ListDeliveries lists deliveries; a non-empty clientUUID restricts q to
// that client.
func (s *Service) ListDeliveries(ctx context.Context, clientUUID string, q store.DeliveryQuery) ([]store.Delivery, error) {
	if clientUUID != "" {
		q.ClientUUID = clientUUID
	}
	if q.Status != "" && !store.ValidDeliveryStatus(q.Status) {
		return nil, health.Errorf(health.EINVALID, "unknown delivery status %q", q.Status)
	}
	return s.st.ListDeliveries(ctx, q)
}

// Delivery returns one delivery (with its body) and its attempts.
func (s *Service) Delivery(ctx context.Context, clientUUID string, id int64) (store.Delivery, []store.DeliveryAttempt, error) {
	d, err := s.st.GetDelivery(ctx, id)
	if err != nil {
		return d, nil, err
	}
	if clientUUID != "" && d.ClientUUID != clientUUID {
		return store.Delivery{}, nil, health.Errorf(health.ENOTFOUND, "delivery %d not found", id)
	}
	atts, err := s.st.ListAttempts(ctx, id)
	return d, atts, err
}

// DeliveryView is a delivery as the REST routes and the CLI's --json show
// it: no body, times in RFC 3339 (UTC), absent values left out.
type DeliveryView struct {
	ID             int64         `json:"id"`
	WebhookID      string        `json:"webhook_id"`
	ClientUUID     string        `json:"client_uuid"`
	UserID         string        `json:"user_id,omitempty"`
	Kind           string        `json:"kind"`
	EventType      string        `json:"event_type"`
	Pillar         string        `json:"pillar,omitempty"`
	Day            string        `json:"day,omitempty"`
	Version        int           `json:"document_version,omitempty"`
	EndpointID     string        `json:"endpoint_id"`
	Status         string        `json:"status"`
	Attempts       int           `json:"attempts"`
	Replays        int           `json:"replays"`
	NextAttemptAt  string        `json:"next_attempt_at,omitempty"`
	LastStatusCode int           `json:"last_status_code,omitempty"`
	LastError      string        `json:"last_error,omitempty"`
	CreatedAt      string        `json:"created_at"`
	FinishedAt     string        `json:"finished_at,omitempty"`
	AttemptList    []AttemptView `json:"attempt_list,omitempty"`
}

// AttemptView is one attempt of a DeliveryView.
type AttemptView struct {
	Attempt    int    `json:"attempt"`
	At         string `json:"at"`
	StatusCode int    `json:"status_code,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	ErrorClass string `json:"error_class,omitempty"`
	Error      string `json:"error,omitempty"`
	Response   string `json:"response,omitempty"`
}

// ViewDelivery is d with its attempts (nil in lists) as callers see it.
func ViewDelivery(d store.Delivery, atts []store.DeliveryAttempt) DeliveryView {
	v := DeliveryView{ID: d.ID, WebhookID: d.WebhookID, ClientUUID: d.ClientUUID, UserID: d.UserID, Kind: d.Kind, EventType: d.EventType,
		Pillar: d.Pillar, Day: d.Day, Version: d.Version, EndpointID: d.EndpointID, Status: d.Status, Attempts: d.Attempts, Replays: d.Replays,
		NextAttemptAt: TimeText(d.NextAttemptAt), LastStatusCode: d.LastStatusCode, LastError: d.LastError,
		CreatedAt: TimeText(d.CreatedAt), FinishedAt: TimeText(d.FinishedAt)}
	for _, a := range atts {
		v.AttemptList = append(v.AttemptList, AttemptView{Attempt: a.Attempt, At: TimeText(a.AttemptedAt), StatusCode: a.StatusCode,
			DurationMS: a.Duration.Milliseconds(), ErrorClass: a.ErrorClass, Error: a.Error, Response: string(a.Response)})
	}
	return v
}

// TimeText is t in RFC 3339 (UTC), "" for the zero time.
func TimeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ParseTime reads a time bound of a delivery query: RFC 3339, or a
// YYYY-MM-DD date (UTC midnight). "" is the zero time (no bound).
func ParseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, health.Errorf(health.EINVALID, "%q is not a time: use RFC 3339 (2025-01-02T15:04:05Z) or a date (2025-01-02)", v)
}
