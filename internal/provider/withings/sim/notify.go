package sim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/simkit"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// subscriptionExpiry is the "expires" Withings lists for a subscription:
// never (the largest 32-bit epoch), as in the recorded answer.
const subscriptionExpiry = 2147483647

// appliScopes are the notification categories and the scope each needs.
var appliScopes = map[int]string{
	withings.AppliWeight:      ScopeMetrics,
	withings.AppliTemperature: ScopeMetrics,
	withings.AppliPressure:    ScopeMetrics,
	withings.AppliActivity:    ScopeActivity,
	withings.AppliSleep:       ScopeActivity,
	withings.AppliUserAction:  ScopeInfo,
	withings.AppliBedIn:       ScopeSleepEvents,
	withings.AppliBedOut:      ScopeSleepEvents,
	withings.AppliECG:         ScopeMetrics,
	52:                        ScopeSleepEvents, // inflate done
	53:                        ScopeInfo,        // no account associated
	54:                        ScopeInfo,        // new device measure without account
	58:                        ScopeMetrics,     // glucose
	62:                        ScopeActivity,    // HRV
}

type subscription struct {
	user     int
	appli    int
	callback string
	comment  string
}

// Notification is one notification sent, or being sent, to a callback.
type Notification struct {
	UserID    int64     `json:"userid"`
	Appli     int       `json:"appli"`
	URL       string    `json:"callbackurl"`
	Form      string    `json:"form"` // the body, form-encoded
	Attempts  int       `json:"attempts"`
	Delivered bool      `json:"delivered"`
	Done      bool      `json:"done"` // delivered or given up
	Queued    time.Time `json:"queued"`
}

// notifier keeps the subscriptions and delivers notifications, each in
// its own goroutine: Withings promises no order between them.
type notifier struct {
	s    *Server
	mu   sync.Mutex
	subs []subscription
	log  []*Notification
	wg   sync.WaitGroup
	// closed stops new deliveries; set under mu so that no wg.Add follows
	// close's wg.Wait.
	closed bool
}

func newNotifier(s *Server) *notifier { return &notifier{s: s} }

func (n *notifier) wait() { n.wg.Wait() }

func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.wg.Wait()
}

func (n *notifier) subscribed(user int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.ContainsFunc(n.subs, func(x subscription) bool { return x.user == user })
}

func (n *notifier) dropUser(user int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.subs = slices.DeleteFunc(n.subs, func(x subscription) bool { return x.user == user })
}

// send queues the notification of appli for a user to every matching
// subscription and returns how many were queued.
func (n *notifier) send(u *User, appli int, form url.Values) int {
	form.Set("userid", strconv.FormatInt(u.UserID, 10))
	form.Set("appli", strconv.Itoa(appli))
	body := form.Encode()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return 0
	}
	sent := 0
	for _, sub := range n.subs {
		if sub.user != u.Index || sub.appli != appli {
			continue
		}
		nt := &Notification{UserID: u.UserID, Appli: appli, URL: sub.callback, Form: body, Queued: n.s.now()}
		n.log = append(n.log, nt)
		n.wg.Add(1)
		go n.deliver(nt)
		sent++
	}
	return sent
}

// deliver posts one notification until a 2xx answer arrives within the
// timeout, waiting the configured delays between attempts.
func (n *notifier) deliver(nt *Notification) {
	defer n.wg.Done()
	delays := n.s.cfg.NotifyRetryDelays
	for attempt := 0; ; attempt++ {
		status, err := n.post(nt.URL, nt.Form)
		good := err == nil && status >= 200 && status < 300
		n.mu.Lock()
		nt.Attempts++
		nt.Delivered = good
		nt.Done = good || attempt >= len(delays)
		n.mu.Unlock()
		if good {
			return
		}
		if attempt >= len(delays) {
			n.s.log.Warn("withingssim notification given up", "url", nt.URL, "appli", nt.Appli, "status", status, "err", err)
			return
		}
		if !simkit.Sleep(n.s.ctx, delays[attempt]) {
			n.mu.Lock()
			nt.Done = true
			n.mu.Unlock()
			return
		}
	}
}

func (n *notifier) post(target, body string) (int, error) {
	ctx, cancel := context.WithTimeout(n.s.ctx, n.s.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := n.s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// WaitNotifications blocks until every notification queued so far was
// delivered or given up.
func (s *Server) WaitNotifications() { s.notify.wait() }

// Notifications returns the notifications sent so far, oldest first.
func (s *Server) Notifications() []Notification {
	s.notify.mu.Lock()
	defer s.notify.mu.Unlock()
	out := make([]Notification, len(s.notify.log))
	for i, nt := range s.notify.log {
		out[i] = *nt
	}
	return out
}

// Subscription is one subscription as Withings lists it.
type Subscription struct {
	UserIndex int    `json:"user_index"`
	Appli     int    `json:"appli"`
	URL       string `json:"callbackurl"`
	Comment   string `json:"comment"`
}

// Subscriptions lists every subscription.
func (s *Server) Subscriptions() []Subscription {
	s.notify.mu.Lock()
	defer s.notify.mu.Unlock()
	var out []Subscription
	for _, x := range s.notify.subs {
		out = append(out, Subscription{x.user, x.appli, x.callback, x.comment})
	}
	return out
}

// Notify sends appli's notification for a user with the given form fields
// (startdate and enddate, or date, ...) to the user's subscriptions, and
// returns how many were queued: for categories no Add method covers.
func (s *Server) Notify(userIndex, appli int, fields url.Values) (int, error) {
	u := s.world.user(userIndex)
	if u == nil {
		return 0, fmt.Errorf("withingssim: no user %d", userIndex)
	}
	if fields == nil {
		fields = url.Values{}
	}
	return s.notify.send(u, appli, fields), nil
}

func window(start, end int64) url.Values {
	return url.Values{"startdate": {strconv.FormatInt(start, 10)}, "enddate": {strconv.FormatInt(end, 10)}}
}

// AddWeighIn records a weigh-in with body composition taken at at (zero:
// now) and notifies appli 1 with a window around it.
func (s *Server) AddWeighIn(userIndex int, at time.Time) (MeasureGroup, error) {
	u := s.world.user(userIndex)
	if u == nil {
		return MeasureGroup{}, fmt.Errorf("withingssim: no user %d", userIndex)
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	g := s.world.addWeighIn(u, at, now)
	s.notify.send(u, withings.AppliWeight, window(g.Date, g.Date+1))
	return g, nil
}

// AddBloodPressure records a blood pressure and pulse taken at at (zero:
// now) and notifies appli 4.
func (s *Server) AddBloodPressure(userIndex int, at time.Time) (MeasureGroup, error) {
	u := s.world.user(userIndex)
	if u == nil {
		return MeasureGroup{}, fmt.Errorf("withingssim: no user %d", userIndex)
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	g := s.world.addBloodPressure(u, at, now)
	s.notify.send(u, withings.AppliPressure, window(g.Date, g.Date+1))
	return g, nil
}

// AddNight records a night ending at end (zero: now; not in the future)
// and notifies appli 44 with the night's window. A night overlapping one
// the user has is refused.
func (s *Server) AddNight(userIndex int, end time.Time) (SleepSummary, error) {
	u := s.world.user(userIndex)
	if u == nil {
		return SleepSummary{}, fmt.Errorf("withingssim: no user %d", userIndex)
	}
	now := s.now()
	if end.IsZero() {
		end = now
	}
	if end.After(now) {
		return SleepSummary{}, fmt.Errorf("withingssim: a night cannot end in the future")
	}
	nt, err := s.world.addNight(u, end, now)
	if err != nil {
		return SleepSummary{}, err
	}
	s.notify.send(u, withings.AppliSleep, window(nt.start.Unix(), nt.end().Unix()))
	return nt.summary(nil, u.sleep), nil
}

// The notify service.

func (s *Server) notifyParams(w http.ResponseWriter, r *http.Request, g *grant, needURL bool) (callback string, appli int, good bool) {
	f := r.Form
	callback = f.Get("callbackurl")
	if needURL {
		u, err := url.Parse(callback)
		if callback == "" || err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") {
			invalid(w, "callbackurl")
			return "", 0, false
		}
	}
	appli = withings.AppliWeight // Withings' default when none is given
	if raw := f.Get("appli"); raw != "" {
		a, err := strconv.Atoi(raw)
		if _, known := appliScopes[a]; err != nil || !known {
			invalid(w, "appli")
			return "", 0, false
		}
		appli = a
	}
	if !g.has(appliScopes[appli]) {
		writeJSON(w, errorBody(StatusUnauthorized, "Unauthorized: appli "+strconv.Itoa(appli)+" needs the scope "+appliScopes[appli]))
		return "", 0, false
	}
	return callback, appli, true
}

func (s *Server) notifySubscribe(w http.ResponseWriter, r *http.Request, g *grant) {
	if r.Form.Get("appli") == "" {
		invalid(w, "appli is required")
		return
	}
	cb, appli, good := s.notifyParams(w, r, g, true)
	if !good {
		return
	}
	n := s.notify
	n.mu.Lock()
	i := slices.IndexFunc(n.subs, func(x subscription) bool { return x.user == g.user && x.appli == appli && x.callback == cb })
	if i < 0 {
		n.subs = append(n.subs, subscription{user: g.user, appli: appli, callback: cb, comment: r.Form.Get("comment")})
	} else {
		n.subs[i].comment = r.Form.Get("comment")
	}
	n.mu.Unlock()
	writeJSON(w, ok(map[string]any{}))
}

func (s *Server) notifyGet(w http.ResponseWriter, r *http.Request, g *grant) {
	cb, appli, good := s.notifyParams(w, r, g, true)
	if !good {
		return
	}
	n := s.notify
	n.mu.Lock()
	i := slices.IndexFunc(n.subs, func(x subscription) bool { return x.user == g.user && x.appli == appli && x.callback == cb })
	var sub subscription
	if i >= 0 {
		sub = n.subs[i]
	}
	n.mu.Unlock()
	if i < 0 {
		writeJSON(w, errorBody(StatusNoSubscription, "Invalid Params: no such subscription"))
		return
	}
	writeJSON(w, ok(map[string]any{"appli": sub.appli, "callbackurl": sub.callback, "comment": sub.comment}))
}

func (s *Server) notifyList(w http.ResponseWriter, r *http.Request, g *grant) {
	filter := 0
	if raw := r.Form.Get("appli"); raw != "" {
		a, err := strconv.Atoi(raw)
		if _, known := appliScopes[a]; err != nil || !known {
			invalid(w, "appli")
			return
		}
		filter = a
	}
	n := s.notify
	n.mu.Lock()
	profiles := []map[string]any{}
	for _, x := range n.subs {
		if x.user == g.user && (filter == 0 || x.appli == filter) {
			profiles = append(profiles, map[string]any{"appli": x.appli, "callbackurl": x.callback, "expires": subscriptionExpiry, "comment": x.comment})
		}
	}
	n.mu.Unlock()
	writeJSON(w, ok(map[string]any{"profiles": profiles}))
}

func (s *Server) notifyRevoke(w http.ResponseWriter, r *http.Request, g *grant) {
	cb, appli, good := s.notifyParams(w, r, g, true)
	if !good {
		return
	}
	n := s.notify
	n.mu.Lock()
	before := len(n.subs)
	n.subs = slices.DeleteFunc(n.subs, func(x subscription) bool { return x.user == g.user && x.appli == appli && x.callback == cb })
	gone := before - len(n.subs)
	n.mu.Unlock()
	if gone == 0 {
		writeJSON(w, errorBody(StatusNoSubscription, "Invalid Params: no such subscription"))
		return
	}
	writeJSON(w, ok(map[string]any{}))
}
