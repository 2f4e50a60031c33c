package simkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Listener serves a simulator's handler on a TCP address in the background:
// the Start, URL and Close behind each simulator's own. Safe for concurrent
// use.
type Listener struct {
	name         string
	loopbackOnly bool
	log          *slog.Logger

	mu   sync.Mutex
	hs   *http.Server
	url  string
	done sync.WaitGroup
}

// NewListener returns a listener whose errors and logs start with name
// ("ourasim"). With loopbackOnly it refuses any other address, since a
// simulator's control routes take no credentials.
func NewListener(name string, loopbackOnly bool, log *slog.Logger) *Listener {
	return &Listener{name: name, loopbackOnly: loopbackOnly, log: log}
}

// Start serves h on addr (e.g. "127.0.0.1:0") and returns once the listener
// is open. URL then gives the base URL.
func (l *Listener) Start(addr string, h http.Handler) error {
	if l.loopbackOnly {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%s listen %s: %w", l.name, addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%s listen %s: only loopback addresses are served", l.name, addr)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listen %s: %w", l.name, addr, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(l.log.Handler(), slog.LevelDebug)}
	l.mu.Lock()
	l.hs, l.url = hs, "http://"+ln.Addr().String()
	l.mu.Unlock()
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.log.Error(l.name+" serve", "err", err)
		}
	}()
	return nil
}

// URL is the base URL after Start ("" before).
func (l *Listener) URL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.url
}

// Close stops serving, giving requests in flight 5 s to finish, and returns
// once the server has stopped. It does nothing before Start.
func (l *Listener) Close() error {
	l.mu.Lock()
	hs := l.hs
	l.mu.Unlock()
	var err error
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = hs.Shutdown(ctx)
		cancel()
	}
	l.done.Wait()
	return err
}

// Every calls fn every interval of real time until ctx is done: a
// simulator's background check of its clock. The interval runs from the
// end of one call to the start of the next.
func Every(ctx context.Context, every time.Duration, fn func()) {
	for Sleep(ctx, every) {
		fn()
	}
}

// Sleep waits d and reports whether it did, false when ctx ended first:
// a latency fault's wait, a retry's backoff.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
