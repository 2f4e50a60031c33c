package sim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// subscription is one webhook subscription of the application.
type subscription struct {
	ID                string
	CallbackURL       string
	VerificationToken string
	EventType         oura.WebhookOperation
	DataType          oura.DataType
	Expiration        time.Time // simulated time
}

func (sub *subscription) model() oura.WebhookSubscription {
	return oura.WebhookSubscription{
		ID:             sub.ID,
		CallbackURL:    sub.CallbackURL,
		EventType:      sub.EventType,
		DataType:       sub.DataType,
		ExpirationTime: formatUTC(sub.Expiration),
	}
}

// formatUTC writes a time the way the live API does: microseconds and an
// explicit +00:00.
func formatUTC(t time.Time) oura.DateTime {
	return oura.DateTime(t.UTC().Format("2006-01-02T15:04:05.000000") + "+00:00")
}

// WebhookStats counts notification outcomes since start.
type WebhookStats struct {
	// Announced notifications matched a live subscription; Dropped of them
	// were never sent on purpose (Config.NotificationDropRate).
	Announced int `json:"announced"`
	Dropped   int `json:"dropped"`
	// Attempts is every POST made, Delivered the notifications a receiver
	// accepted, Failed those given up after the retries.
	Attempts  int `json:"attempts"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	// Cancelled counts subscriptions removed because a receiver answered 410.
	Cancelled int `json:"cancelled"`
}

type webhooks struct {
	s       *Server
	mu      sync.Mutex
	subs    map[string]*subscription
	order   []string
	stats   WebhookStats
	pending int
	idle    *sync.Cond
}

func newWebhooks(s *Server) *webhooks {
	h := &webhooks{s: s, subs: map[string]*subscription{}}
	h.idle = sync.NewCond(&h.mu)
	return h
}

// hold and release bracket work that is about to queue deliveries.
func (h *webhooks) hold() {
	h.mu.Lock()
	h.pending++
	h.mu.Unlock()
}

func (h *webhooks) release() {
	h.mu.Lock()
	h.pending--
	if h.pending == 0 {
		h.idle.Broadcast()
	}
	h.mu.Unlock()
}

// wait blocks until no delivery is in flight.
func (h *webhooks) wait() {
	h.mu.Lock()
	for h.pending > 0 {
		h.idle.Wait()
	}
	h.mu.Unlock()
}

// WaitNotifications blocks until every notification announced so far has
// been delivered, dropped or given up.
func (s *Server) WaitNotifications() { s.hooks.wait() }

// WebhookStats returns the notification counters.
func (s *Server) WebhookStats() WebhookStats {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return s.hooks.stats
}

// Subscriptions lists the application's subscriptions, oldest first.
func (s *Server) Subscriptions() []oura.WebhookSubscription {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	out := make([]oura.WebhookSubscription, 0, len(s.hooks.order))
	for _, id := range s.hooks.order {
		out = append(out, s.hooks.subs[id].model())
	}
	return out
}

// authorize checks x-client-id and x-client-secret: missing headers get 403
// (what the framework behind the live API answers for a missing API-key
// header), wrong ones 401. Webhook calls count against the application
// limit.
func (h *webhooks) authorize(w http.ResponseWriter, r *http.Request) bool {
	id, secret := r.Header.Get("x-client-id"), r.Header.Get("x-client-secret")
	if id == "" || secret == "" {
		writeDetail(w, http.StatusForbidden, "Not authenticated")
		return false
	}
	if id != h.s.cfg.ClientID || !hmac.Equal([]byte(secret), []byte(h.s.cfg.ClientSecret)) {
		writeDetail(w, http.StatusUnauthorized, "Invalid client id or client secret.")
		return false
	}
	if d, ok := h.s.limiter.allow("client:"+id, h.s.cfg.ClientID, h.s.clock.Real()); !ok {
		writeTooManyRequests(w, d)
		return false
	}
	return true
}

func (h *webhooks) handleList(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, h.s.Subscriptions())
}

func (h *webhooks) lookup(w http.ResponseWriter, r *http.Request) (*subscription, bool) {
	h.mu.Lock()
	sub := h.subs[r.PathValue("id")]
	h.mu.Unlock()
	if sub == nil {
		writeDetail(w, http.StatusForbidden, "Webhook with specified id does not exist.")
		return nil, false
	}
	return sub, true
}

func (h *webhooks) handleGet(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r) {
		return
	}
	if sub, ok := h.lookup(w, r); ok {
		h.mu.Lock()
		m := sub.model()
		h.mu.Unlock()
		writeJSON(w, http.StatusOK, m)
	}
}

var (
	webhookOperations = []string{"create", "update", "delete"}
	webhookDataTypes  = func() []string {
		var out []string
		for _, d := range oura.WebhookDataTypes() {
			out = append(out, string(d))
		}
		return out
	}()
)

// bodyField checks one field of a JSON request body the way FastAPI does and
// returns its value; absent optional fields and nulls give "".
func bodyField(body map[string]any, name string, required bool, enum []string, errs *[]validationError) (string, bool) {
	v, present := body[name]
	if !present || v == nil {
		if required {
			*errs = append(*errs, validationError{Loc: []any{"body", name}, Msg: "Field required", Type: "missing", Input: body})
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		*errs = append(*errs, validationError{Loc: []any{"body", name}, Msg: "Input should be a valid string", Type: "string_type", Input: v})
		return "", false
	}
	if enum != nil && !slices.Contains(enum, s) {
		quoted := make([]string, len(enum))
		for i, e := range enum {
			quoted[i] = "'" + e + "'"
		}
		msg := "Input should be " + strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
		*errs = append(*errs, validationError{Loc: []any{"body", name}, Msg: msg, Type: "enum", Input: s})
		return "", false
	}
	return s, true
}

func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil || body == nil {
		writeValidation(w, []validationError{{Loc: []any{"body"}, Msg: "JSON decode error", Type: "json_invalid", Input: string(raw)}})
		return nil, false
	}
	return body, true
}

func (h *webhooks) handleCreate(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r) {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var errs []validationError
	cb, _ := bodyField(body, "callback_url", true, nil, &errs)
	vt, _ := bodyField(body, "verification_token", true, nil, &errs)
	et, _ := bodyField(body, "event_type", true, webhookOperations, &errs)
	dt, _ := bodyField(body, "data_type", true, webhookDataTypes, &errs)
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	h.mu.Lock()
	for _, sub := range h.subs {
		if sub.CallbackURL == cb && string(sub.EventType) == et && string(sub.DataType) == dt {
			h.mu.Unlock()
			writeDetail(w, http.StatusConflict, "Webhook subscription already exists.")
			return
		}
	}
	h.mu.Unlock()
	if err := h.verify(r.Context(), cb, vt); err != nil {
		writeVerificationFailed(w, cb, err)
		return
	}
	sub := &subscription{ID: newUUID4(), CallbackURL: cb, VerificationToken: vt, EventType: oura.WebhookOperation(et), DataType: oura.DataType(dt), Expiration: h.s.clock.Now().Add(h.s.cfg.SubscriptionTTL)}
	h.mu.Lock()
	h.subs[sub.ID] = sub
	h.order = append(h.order, sub.ID)
	m := sub.model()
	h.mu.Unlock()
	h.s.log.Info("webhook subscription created", "id", sub.ID, "event_type", et, "data_type", dt, "callback_url", cb)
	writeJSON(w, http.StatusCreated, m)
}

// writeVerificationFailed answers a create or update whose callback failed
// the challenge: 422 with a validation listEntry on callback_url, the one error
// status the published document declares for these routes.
func writeVerificationFailed(w http.ResponseWriter, cb string, err error) {
	writeValidation(w, []validationError{{Loc: []any{"body", "callback_url"}, Msg: "Webhook verification failed: " + err.Error(), Type: "value_error", Input: cb}})
}

// verify performs the subscription handshake: GET the callback with the
// verification token and a random challenge, and expect 200 with the
// challenge echoed as {"challenge": ...}.
func (h *webhooks) verify(ctx context.Context, callback, token string) error {
	u, err := url.Parse(callback)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("callback_url is not an http(s) URL")
	}
	challenge := simkit.RandomToken()
	q := u.Query()
	q.Set("verification_token", token)
	q.Set("challenge", challenge)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, h.s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := h.s.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("callback unreachable: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("callback answered %d", resp.StatusCode)
	}
	var got struct {
		Challenge string `json:"challenge"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&got); err != nil || got.Challenge != challenge {
		return fmt.Errorf("callback did not echo the challenge")
	}
	return nil
}

func (h *webhooks) handleUpdate(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r) {
		return
	}
	sub, ok := h.lookup(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var errs []validationError
	vt, _ := bodyField(body, "verification_token", true, nil, &errs)
	cb, hasCB := bodyField(body, "callback_url", false, nil, &errs)
	et, hasET := bodyField(body, "event_type", false, webhookOperations, &errs)
	dt, hasDT := bodyField(body, "data_type", false, webhookDataTypes, &errs)
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	h.mu.Lock()
	oldCB := sub.CallbackURL
	h.mu.Unlock()
	// A new callback has to pass the handshake like a new subscription.
	if hasCB && cb != oldCB {
		if err := h.verify(r.Context(), cb, vt); err != nil {
			writeVerificationFailed(w, cb, err)
			return
		}
	}
	h.mu.Lock()
	sub.VerificationToken = vt
	if hasCB {
		sub.CallbackURL = cb
	}
	if hasET {
		sub.EventType = oura.WebhookOperation(et)
	}
	if hasDT {
		sub.DataType = oura.DataType(dt)
	}
	m := sub.model()
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, m)
}

func (h *webhooks) handleDelete(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r) {
		return
	}
	sub, ok := h.lookup(w, r)
	if !ok {
		return
	}
	h.remove(sub.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (h *webhooks) remove(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[id]; !ok {
		return false
	}
	delete(h.subs, id)
	h.order = slices.DeleteFunc(h.order, func(s string) bool { return s == id })
	return true
}

func (h *webhooks) handleRenew(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r) {
		return
	}
	sub, ok := h.lookup(w, r)
	if !ok {
		return
	}
	h.mu.Lock()
	sub.Expiration = h.s.clock.Now().Add(h.s.cfg.SubscriptionTTL)
	m := sub.model()
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, m)
}

func newUUID4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// announceDay sends a create notification for every document of u's day d
// that Oura announces by webhook, and occasionally an update of the day
// before (Config.UpdateRate).
func (h *webhooks) announceDay(u *User, d oura.Date) {
	day := h.s.world.Day(u, d)
	for _, c := range oura.Collections() {
		if c.DataType == "" || c.Range == oura.RangeNone {
			continue
		}
		for _, e := range entriesOf(c.Name, day) {
			if e.id != "" {
				h.notify(u, oura.WebhookCreate, c.DataType, e.id)
			}
		}
	}
	if rate := h.s.cfg.UpdateRate; rate > 0 && h.fraction("update", u.OuraID, string(d)) < rate {
		prev := h.s.world.Day(u, shiftDate(d, -1))
		for _, name := range []string{oura.CollDailySleep, oura.CollDailyReadiness} {
			c := collectionsByName[name]
			for _, e := range entriesOf(name, prev) {
				if e.id != "" {
					h.notify(u, oura.WebhookUpdate, c.DataType, e.id)
				}
			}
		}
	}
}

// fraction maps its parts and the seed to [0,1): the deterministic coin of
// drops and updates.
func (h *webhooks) fraction(parts ...string) float64 {
	m := hmac.New(sha256.New, h.s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return float64(binary.BigEndian.Uint64(m.Sum(nil))>>11) / (1 << 53)
}

// notify queues one notification to every live subscription matching
// (event, data type).
func (h *webhooks) notify(u *User, event oura.WebhookOperation, dt oura.DataType, objectID string) {
	now := h.s.clock.Now()
	h.mu.Lock()
	var targets []subscription
	for _, id := range h.order {
		sub := h.subs[id]
		if sub.EventType == event && sub.DataType == dt && now.Before(sub.Expiration) {
			targets = append(targets, *sub)
		}
	}
	if len(targets) == 0 {
		h.mu.Unlock()
		return
	}
	h.stats.Announced++
	if rate := h.s.cfg.NotificationDropRate; rate > 0 && h.fraction("drop", u.OuraID, string(event), string(dt), objectID) < rate {
		h.stats.Dropped++
		h.mu.Unlock()
		return
	}
	h.pending += len(targets)
	h.mu.Unlock()

	body, _ := json.Marshal(oura.Notification{
		EventType: event,
		DataType:  dt,
		ObjectID:  objectID,
		EventTime: oura.DateTime(now.UTC().Format("2006-01-02T15:04:05") + "+00:00"),
		UserID:    u.OuraID,
	})
	for _, sub := range targets {
		go h.deliver(sub, body)
	}
}

// deliver POSTs one notification, retrying with doubling backoff. A 410
// cancels the subscription.
func (h *webhooks) deliver(sub subscription, body []byte) {
	defer h.release()
	backoff := h.s.cfg.WebhookBackoff
	for attempt := 0; ; attempt++ {
		status, err := h.post(sub.CallbackURL, body)
		h.mu.Lock()
		h.stats.Attempts++
		h.mu.Unlock()
		switch {
		case err == nil && status >= 200 && status < 400:
			h.mu.Lock()
			h.stats.Delivered++
			h.mu.Unlock()
			return
		case err == nil && status == http.StatusGone:
			if h.remove(sub.ID) {
				h.mu.Lock()
				h.stats.Cancelled++
				h.mu.Unlock()
			}
			h.s.log.Info("webhook subscription cancelled by 410", "id", sub.ID)
			return
		}
		if attempt >= h.s.cfg.WebhookRetries {
			h.mu.Lock()
			h.stats.Failed++
			h.mu.Unlock()
			h.s.log.Warn("webhook delivery failed", "id", sub.ID, "status", status, "err", err)
			return
		}
		if !simkit.Sleep(h.s.ctx, backoff) {
			return
		}
		backoff *= 2
	}
}

// post sends the exact bytes it signs. x-oura-timestamp is real time, so a
// receiver's replay dateWindow works even when simulated time runs fast.
func (h *webhooks) post(callback string, body []byte) (int, error) {
	ts := strconv.FormatInt(h.s.clock.Real().Unix(), 10)
	return simkit.PostJSON(h.s.ctx, h.s.cfg.HTTPClient, h.s.cfg.WebhookTimeout, callback, body, map[string]string{
		"x-oura-timestamp": ts,
		"x-oura-signature": signNotification(h.s.cfg.ClientSecret, ts, body),
	})
}

// signNotification is Oura's x-oura-signature: upper-case hex
// HMAC-SHA256(client secret, timestamp + body).
func signNotification(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write(body)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}
