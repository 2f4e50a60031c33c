package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// Webhook event types (v2 model: ids are UUIDs, recovery's is its sleep's).
const (
	EventSleepUpdated    = "sleep.updated"
	EventSleepDeleted    = "sleep.deleted"
	EventWorkoutUpdated  = "workout.updated"
	EventWorkoutDeleted  = "workout.deleted"
	EventRecoveryUpdated = "recovery.updated"
	EventRecoveryDeleted = "recovery.deleted"
)

// Signature headers of a webhook delivery.
const (
	HeaderSignature          = "X-WHOOP-Signature"
	HeaderSignatureTimestamp = "X-WHOOP-Signature-Timestamp"
)

// WebhookStats counts webhook outcomes since start.
type WebhookStats struct {
	Queued    int `json:"queued"`
	Attempts  int `json:"attempts"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
}

// maxLog bounds the kept history of queued events.
const maxLog = 1000

type webhooks struct {
	s        *Server
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []Webhook
	inFlight bool
	closed   bool
	stats    WebhookStats
	log      []Webhook
	seq      uint64
	done     chan struct{}

	scanMu   sync.Mutex
	lastScan time.Time // simulated time up to which scores were announced
}

func newWebhooks(s *Server) *webhooks {
	h := &webhooks{s: s, lastScan: s.clock.Now(), done: make(chan struct{})}
	h.cond = sync.NewCond(&h.mu)
	go h.worker()
	return h
}

// Sign is WHOOP's X-WHOOP-Signature: base64(HMAC-SHA256(client secret,
// timestamp header + raw body)), with nothing between the two.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// enqueue queues events for the webhook URL, in order. Users who revoked
// access get none.
func (h *webhooks) enqueue(evs []Webhook) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range evs {
		if h.closed || h.s.cfg.WebhookURL == "" {
			return
		}
		u := h.s.world.UserByID(e.UserID)
		if u == nil || !h.s.auth.store.Authorized(u.Index) {
			continue
		}
		h.seq++
		e.TraceID = h.traceID(h.seq)
		h.queue = append(h.queue, e)
		h.log = append(h.log, e)
		if len(h.log) > maxLog {
			h.log = h.log[len(h.log)-maxLog:]
		}
		h.stats.Queued++
	}
	h.cond.Broadcast()
}

// traceID is a UUID derived from the seed and a counter, so runs repeat.
func (h *webhooks) traceID(seq uint64) string {
	m := hmac.New(sha256.New, h.s.key)
	fmt.Fprintf(m, "trace/%d", seq)
	b := m.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// worker delivers one event at a time, so a receiver sees them in order.
func (h *webhooks) worker() {
	defer close(h.done)
	for {
		h.mu.Lock()
		for len(h.queue) == 0 && !h.closed {
			h.cond.Wait()
		}
		if h.closed {
			h.queue = nil
			h.cond.Broadcast()
			h.mu.Unlock()
			return
		}
		e := h.queue[0]
		h.queue = h.queue[1:]
		h.inFlight = true
		h.mu.Unlock()

		ok := h.deliver(e)

		h.mu.Lock()
		h.inFlight = false
		if ok {
			h.stats.Delivered++
		} else {
			h.stats.Failed++
		}
		h.cond.Broadcast()
		h.mu.Unlock()
	}
}

// deliver POSTs one event, retrying with doubling backoff.
func (h *webhooks) deliver(e Webhook) bool {
	body, _ := json.Marshal(e)
	backoff := h.s.cfg.WebhookBackoff
	for attempt := 0; ; attempt++ {
		status, err := h.post(body)
		h.mu.Lock()
		h.stats.Attempts++
		h.mu.Unlock()
		if err == nil && status >= 200 && status < 300 {
			return true
		}
		if attempt >= h.s.cfg.WebhookRetries {
			h.s.log.Warn("whoopsim webhook failed", "type", e.Type, "id", e.ID, "status", status, "err", err)
			return false
		}
		if !simkit.Sleep(h.s.ctx, backoff) {
			return false
		}
		backoff *= 2
	}
}

// post signs with the real-time clock in epoch milliseconds, so that a
// receiver's replay window works even when simulated time runs fast.
func (h *webhooks) post(body []byte) (int, error) {
	ts := strconv.FormatInt(h.s.clock.Real().UnixMilli(), 10)
	return simkit.PostJSON(h.s.ctx, h.s.cfg.HTTPClient, h.s.cfg.WebhookTimeout, h.s.cfg.WebhookURL, body, map[string]string{
		HeaderSignatureTimestamp: ts,
		HeaderSignature:          Sign(h.s.cfg.ClientSecret, ts, body),
	})
}

func (h *webhooks) close() {
	h.mu.Lock()
	h.closed = true
	h.cond.Broadcast()
	h.mu.Unlock()
	<-h.done
}

// WaitWebhooks blocks until every queued webhook was delivered or given up.
func (s *Server) WaitWebhooks() {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	for (len(h.queue) > 0 || h.inFlight) && !h.closed {
		h.cond.Wait()
	}
}

// WebhookStats returns the webhook counters.
func (s *Server) WebhookStats() WebhookStats {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return s.hooks.stats
}

// WebhookLog returns the last queued events (at most 1000), oldest first.
func (s *Server) WebhookLog() []Webhook {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return slices.Clone(s.hooks.log)
}

// timedEvent orders events by when their score appeared.
type timedEvent struct {
	at time.Time
	ev Webhook
}

// scan announces every score that appeared since the last scan: a
// *.updated event per sleep, recovery and workout that left PENDING_SCORE.
func (s *Server) scan() []Webhook {
	h := s.hooks
	h.scanMu.Lock()
	defer h.scanMu.Unlock()
	now := s.clock.Now()
	from := h.lastScan
	if !now.After(from) {
		return nil
	}
	h.lastScan = now
	w := s.world
	var evs []timedEvent
	in := func(t time.Time) bool { return t.After(from) && !t.After(now) }
	for _, u := range w.Users() {
		lo := max(u.localDay(from.Add(-w.cfg.ScoreDelay-time.Hour))-2, w.firstN)
		for n := lo; n <= u.localDay(now); n++ {
			nt := w.night(u, n)
			sleeps := []*genSleep{&nt.main}
			if nt.nap != nil {
				sleeps = append(sleeps, nt.nap)
			}
			for _, sl := range sleeps {
				id := w.activityUUID(u, n, sl.slot)
				if at := w.scoreAt(sl.end, sl.created); in(at) && !w.isDeleted(id) {
					evs = append(evs, timedEvent{at, Webhook{UserID: u.UserID, ID: id, Type: EventSleepUpdated}})
					if sl.slot == slotMain {
						evs = append(evs, timedEvent{at, Webhook{UserID: u.UserID, ID: id, Type: EventRecoveryUpdated}})
					}
				}
			}
			for _, g := range nt.workouts {
				if at := w.scoreAt(g.end, g.created); in(at) {
					evs = append(evs, timedEvent{at, Webhook{UserID: u.UserID, ID: w.activityUUID(u, n, g.slot), Type: EventWorkoutUpdated}})
				}
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b timedEvent) int { return a.at.Compare(b.at) })
	out := make([]Webhook, len(evs))
	for i, e := range evs {
		out[i] = e.ev
	}
	h.enqueue(out)
	return out
}

// AdvanceClock moves simulated time forward by d and sends the webhooks of
// the scores that appeared meanwhile, which it returns (trace ids unset).
func (s *Server) AdvanceClock(d time.Duration) []Webhook {
	s.clock.Advance(d)
	return s.scan()
}

// NextNight advances the clock to when user's next main sleep (the first
// one not scored yet) gets its score, and sends the webhooks due by then.
// It returns the new night's cycle id.
func (s *Server) NextNight(userIndex int) (int64, []Webhook, error) {
	u := s.world.User(userIndex)
	if u == nil {
		return 0, nil, fmt.Errorf("whoopsim: no user %d", userIndex)
	}
	now := s.clock.Now()
	for n := max(u.localDay(now)-2, s.world.firstN); ; n++ {
		nt := s.world.night(u, n)
		if at := s.world.scoreAt(nt.main.end, nt.main.created); at.After(now) {
			return cycleID(u, n), s.AdvanceClock(at.Sub(now)), nil
		}
	}
}

// DeleteSleep deletes a visible sleep, as a member deleting it in the app:
// it disappears from every route and sleep.deleted is sent, followed by
// recovery.deleted for a main sleep.
func (s *Server) DeleteSleep(sleepID string) error {
	ui, _, slot, ok := s.world.decodeUUID(sleepID)
	if !ok || slot > slotNap {
		return fmt.Errorf("whoopsim: no sleep %s", sleepID)
	}
	u := s.world.User(ui)
	if _, ok := s.world.Sleep(u, sleepID, s.clock.Now()); !ok || !s.world.markDeleted(sleepID) {
		return fmt.Errorf("whoopsim: no visible sleep %s", sleepID)
	}
	evs := []Webhook{{UserID: u.UserID, ID: sleepID, Type: EventSleepDeleted}}
	if slot == slotMain {
		evs = append(evs, Webhook{UserID: u.UserID, ID: sleepID, Type: EventRecoveryDeleted})
	}
	s.hooks.enqueue(evs)
	return nil
}
