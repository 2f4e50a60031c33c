package oura

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhooks manages an application's webhook subscriptions. Oura
// authenticates these routes with the app's client id and secret in
// headers, not with a user's token, and a subscription covers every user.
type Webhooks struct {
	c            *Client
	clientID     string
	clientSecret string
}

// Webhooks returns the subscription API for the application's credentials.
func (c *Client) Webhooks(clientID, clientSecret string) *Webhooks {
	return &Webhooks{c: c, clientID: clientID, clientSecret: clientSecret}
}

func (w *Webhooks) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
	}
	h := http.Header{}
	h.Set("x-client-id", w.clientID)
	h.Set("x-client-secret", w.clientSecret)
	req := request{method: method, path: path, body: body, header: h, limitBy: "app:" + w.clientID}
	if out != nil {
		req.decode = func(b []byte) error { return json.Unmarshal(b, out) }
	}
	_, err := w.c.do(ctx, req)
	return err
}

const subscriptionPath = "/v2/webhook/subscription"

// List returns every subscription of the application.
func (w *Webhooks) List(ctx context.Context) ([]WebhookSubscription, error) {
	var out []WebhookSubscription
	err := w.call(ctx, http.MethodGet, subscriptionPath, nil, &out)
	return out, err
}

// Create subscribes callbackURL to one (event type, data type) pair. Oura
// first calls the URL with the verification token and a challenge it must
// echo, so the receiver has to be up before this call.
func (w *Webhooks) Create(ctx context.Context, in CreateWebhookSubscription) (WebhookSubscription, error) {
	var out WebhookSubscription
	err := w.call(ctx, http.MethodPost, subscriptionPath, in, &out)
	return out, err
}

// Get returns one subscription. Oura answers 403 for an unknown id.
func (w *Webhooks) Get(ctx context.Context, id string) (WebhookSubscription, error) {
	var out WebhookSubscription
	err := w.call(ctx, http.MethodGet, subscriptionPath+"/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Update changes a subscription.
func (w *Webhooks) Update(ctx context.Context, id string, in UpdateWebhookSubscription) (WebhookSubscription, error) {
	var out WebhookSubscription
	err := w.call(ctx, http.MethodPut, subscriptionPath+"/"+url.PathEscape(id), in, &out)
	return out, err
}

// Delete removes a subscription.
func (w *Webhooks) Delete(ctx context.Context, id string) error {
	return w.call(ctx, http.MethodDelete, subscriptionPath+"/"+url.PathEscape(id), nil, nil)
}

// Renew pushes a subscription's expiration_time forward.
func (w *Webhooks) Renew(ctx context.Context, id string) (WebhookSubscription, error) {
	var out WebhookSubscription
	err := w.call(ctx, http.MethodPut, subscriptionPath+"/renew/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Signature errors.
var (
	ErrSignatureMissing = errors.New("oura webhook: missing x-oura-signature or x-oura-timestamp")
	ErrSignatureInvalid = errors.New("oura webhook: signature does not match")
	ErrSignatureStale   = errors.New("oura webhook: timestamp outside the allowed window")
)

// Sign computes x-oura-signature: upper-case hex HMAC-SHA256 keyed with the
// client secret over the timestamp header followed by the raw body.
func Sign(clientSecret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte(timestamp))
	m.Write(body)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// Verifier checks incoming Oura notifications.
type Verifier struct {
	ClientSecret string
	// Tolerance is how far x-oura-timestamp may be from now (default 5
	// minutes); it limits replays of a captured notification.
	Tolerance time.Duration
	Now       func() time.Time
}

// Verify checks signature and timestamp against the exact body bytes.
// The comparison is constant-time and ignores hex case.
func (v Verifier) Verify(signature, timestamp string, body []byte) error {
	if signature == "" || timestamp == "" {
		return ErrSignatureMissing
	}
	want := Sign(v.ClientSecret, timestamp, body)
	got := strings.ToUpper(strings.TrimSpace(signature))
	if !hmac.Equal([]byte(want), []byte(got)) {
		return ErrSignatureInvalid
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not unix seconds", ErrSignatureStale, timestamp)
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = 5 * time.Minute
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(time.Unix(sec, 0)); d > tol || d < -tol {
		return ErrSignatureStale
	}
	return nil
}

// VerifyRequest reads the headers of r; body must be r's raw body.
func (v Verifier) VerifyRequest(r *http.Request, body []byte) error {
	return v.Verify(r.Header.Get("x-oura-signature"), r.Header.Get("x-oura-timestamp"), body)
}
