package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/delivery/destination"
	"github.com/wearlink/wearlink/internal/store"
)

// outcome is what one POST gave.
type outcome struct {
	status     int
	duration   time.Duration
	class      string // "" on success
	err        string
	response   []byte
	retryAfter time.Duration
	// aborted: the caller's context ended (shutdown), so the attempt says
	// nothing about the endpoint and is not recorded.
	aborted bool
}

func (o outcome) ok() bool { return o.class == "" }

// post sends one delivery's body to ep, signed at now.
func (s *Service) post(ctx context.Context, ep store.WebhookEndpoint, d store.Delivery, now time.Time) outcome {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, ep.URL, bytes.NewReader(d.Body))
	if err != nil {
		return outcome{class: store.ErrorConnect, err: "bad request: " + err.Error()}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	// The Standard Webhooks names as the spec writes them; header names
	// are case-insensitive to every receiver.
	req.Header["webhook-id"] = []string{d.WebhookID}
	req.Header["webhook-timestamp"] = []string{ts}
	req.Header["webhook-signature"] = []string{signatures(ep, d.WebhookID, now, d.Body)}
	req.Header["X-ROOK-HASH"] = []string{RookHash(ep.Secret, d.ClientUUID, d.UserID, ts)}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.cfg.UserAgent)

	start := time.Now()
	resp, err := s.http.Do(req)
	if err != nil {
		o := outcome{duration: time.Since(start), err: err.Error()}
		if ctx.Err() != nil {
			o.aborted = true
			return o
		}
		o.class = classify(err)
		return o
	}
	// A body cut short still leaves the status, which decides.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, store.MaxResponseKept))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	o := outcome{status: resp.StatusCode, duration: time.Since(start), response: body}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		o.class, o.err = store.ErrorHTTP, fmt.Sprintf("HTTP %d", resp.StatusCode)
		o.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		return o
	}
	return o
}

// classify names the kind of a transport error: the guard's refusal,
// then the transport classes every destination shares (their names are
// the store's error classes).
func classify(err error) string {
	var be *BlockedError
	if errors.As(err, &be) {
		return store.ErrorBlocked
	}
	if c, ok := destination.NetClass(err); ok {
		return string(c)
	}
	return store.ErrorConnect
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(365*24*3600))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
