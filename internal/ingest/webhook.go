package ingest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// maxNotificationBytes bounds a notification body (they are ~200 bytes).
const maxNotificationBytes = 64 << 10

// WebhookHandler serves /oura/webhook.
//
// GET is Oura's verification of a new subscription: it answers
// {"challenge": ...} when verification_token matches, 401 otherwise.
//
// POST is a notification. It is accepted only with a valid x-oura-signature
// (HMAC of the timestamp and the exact body under the app's client
// secret); anything else gets 401 and enqueues nothing. An accepted
// notification is recorded on every connection of the Oura user and
// becomes a fetch job (see fetch.go); the answer is 200 once the job is
// stored, so a failure to enqueue (500) makes Oura retry.
func (e *Engine) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			e.verifyCallback(w, r)
		case http.MethodPost:
			e.notification(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "method not allowed"})
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (e *Engine) verifyCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	want := e.cfg.VerificationToken
	got := q.Get("verification_token")
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		e.log.WarnContext(r.Context(), "oura webhook verification with a wrong token", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "invalid verification token"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"challenge": q.Get("challenge")})
}

func (e *Engine) notification(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	if err != nil || len(body) > maxNotificationBytes {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "unreadable body"})
		return
	}
	// Oura stamps x-oura-timestamp with the real time, so freshness is
	// checked against the real clock, not the engine's (which tests and the
	// demo may run fast).
	v := oura.Verifier{ClientSecret: e.cfg.ClientSecret}
	if e.cfg.ClientSecret == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "signature cannot be verified"})
		return
	}
	if err := v.VerifyRequest(r, body); err != nil {
		e.log.WarnContext(ctx, "oura notification rejected", "remote", r.RemoteAddr, "err", err)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "invalid signature"})
		return
	}
	var n oura.Notification
	if err := json.Unmarshal(body, &n); err != nil || n.UserID == "" || n.DataType == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "not an Oura notification"})
		return
	}
	// A verified notification is recorded even if Oura hangs up while the
	// database is busy: its retry then finds the job already there.
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	accepted, err := e.Notify(nctx, n)
	if err != nil {
		e.log.ErrorContext(ctx, "oura notification not enqueued", "user", n.UserID, "data_type", n.DataType, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "not enqueued, retry"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"connections": accepted})
}

// notifyTimeout bounds recording one notification.
const notifyTimeout = 30 * time.Second

// Notify records a verified notification on every active connection of the
// Oura user and enqueues the fetch that reads it. It returns the number of
// connections notified; notifications for unknown users or data types
// without a collection are accepted and ignored.
func (e *Engine) Notify(ctx context.Context, n oura.Notification) (int, error) {
	jobs, err := e.inserter()
	if err != nil {
		return 0, err
	}
	c, ok := oura.LookupCollection(string(n.DataType))
	if !ok {
		e.log.InfoContext(ctx, "oura notification for a data type without a collection ignored", "data_type", n.DataType)
		return 0, nil
	}
	conns, err := e.st.ConnectionsByExternalUser(ctx, store.DataSourceOura, n.UserID)
	if err != nil {
		return 0, fmt.Errorf("connections of oura user %s: %w", n.UserID, err)
	}
	if len(conns) == 0 {
		e.log.InfoContext(ctx, "oura notification for a user with no active connection", "external_user_id", n.UserID)
		return 0, nil
	}
	now := fmtTime(e.now())
	for _, conn := range conns {
		patch := map[string]string{curWebhookAt: now, curNotified(c.Name): now}
		if n.EventType == oura.WebhookUpdate && n.ObjectID != "" && c.Single {
			patch[curUpdate(c.Name, n.ObjectID)] = now
		}
		// The time goes in first: a fetch that starts after it covers
		// this notification, one already running sees it and reads again.
		if err := e.st.SetCursors(ctx, conn.ID, patch, time.Time{}); err != nil {
			return 0, err
		}
		if _, err := jobs.Insert(ctx, FetchArgs{ConnectionID: conn.ID, Collection: c.Name}, nil); err != nil {
			return 0, fmt.Errorf("enqueue fetch: %w", err)
		}
		e.log.DebugContext(ctx, "oura notification", "connection", conn.ID, "event", n.EventType, "collection", c.Name, "id", n.ObjectID)
	}
	return len(conns), nil
}
