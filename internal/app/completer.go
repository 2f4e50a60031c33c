package app

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// completerWatch passes River's log records on at warn and above, and
// remembers when River's job completer last failed. River reports a
// completer that cannot write (a full disk: "Completer error (will retry
// after sleep)", then "Too many errors; giving up") only in its log: the
// jobs it worked stay running in the database, so readiness must show it.
type completerWatch struct {
	next slog.Handler
	now  func() time.Time
	st   *completerState
}

type completerState struct {
	mu   sync.Mutex
	last time.Time
	msg  string
}

func newCompleterWatch(next slog.Handler, now func() time.Time) completerWatch {
	return completerWatch{next: next, now: now, st: &completerState{}}
}

// Enabled takes every error, whatever the process log keeps, so that a
// completer failure is seen even when the log is off.
func (h completerWatch) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || (l >= slog.LevelWarn && h.next.Enabled(ctx, l))
}

func (h completerWatch) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && strings.Contains(r.Message, "Completer") {
		h.st.mu.Lock()
		h.st.last, h.st.msg = h.now(), r.Message
		h.st.mu.Unlock()
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h completerWatch) WithAttrs(as []slog.Attr) slog.Handler {
	return completerWatch{next: h.next.WithAttrs(as), now: h.now, st: h.st}
}

func (h completerWatch) WithGroup(name string) slog.Handler {
	return completerWatch{next: h.next.WithGroup(name), now: h.now, st: h.st}
}

// completerFailWindow is how long a completer failure keeps the process
// not ready: River retries for about 7 s before giving up, and readiness
// probes come every few seconds.
const completerFailWindow = time.Minute

// failing reports River's last completer failure within the window.
func (h completerWatch) failing() (string, bool) {
	if h.st == nil {
		return "", false
	}
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	if h.st.last.IsZero() {
		return "", false
	}
	if d := h.now().Sub(h.st.last); d < 0 || d >= completerFailWindow {
		return "", false
	}
	return h.st.msg, true
}
