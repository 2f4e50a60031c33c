package desttest

import (
	"context"
	"encoding/binary"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Hold lets a server take a set number of writes and then hold every
// further one until Release: a test that must stop a writer in the middle
// of its writes (kill its process) waits for Held, stops it, and releases.
// However fast the writer, it cannot have written everything by then.
type Hold struct {
	mu      sync.Mutex
	left    int
	held    atomic.Bool
	release chan struct{}
	once    sync.Once
}

func newHold(after int) *Hold {
	return &Hold{left: after, release: make(chan struct{})}
}

// admit takes n writes: true when they fit in what is left, false (the
// writes are to be held) otherwise.
func (h *Hold) admit(n int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n <= h.left {
		h.left -= n
		return true
	}
	h.held.Store(true)
	return false
}

// Held says whether a write is being held (or was).
func (h *Hold) Held() bool { return h.held.Load() }

// Release lets the held writes go on, and every later one through.
func (h *Hold) Release() {
	h.once.Do(func() {
		h.mu.Lock()
		h.left = int(^uint(0) >> 1)
		h.mu.Unlock()
		close(h.release)
	})
}

// HoldWrites makes the server take after object writes (PUT or POST) and
// hold the later ones until the hold is released; a held request whose
// client went away meanwhile is answered 503 and writes nothing. Released
// when the test ends at the latest.
func (s *S3) HoldWrites(t interface{ Cleanup(func()) }, after int) *Hold {
	h := newHold(after)
	s.sig.mu.Lock()
	s.sig.hold = h
	s.sig.mu.Unlock()
	t.Cleanup(h.Release)
	return h
}

// wait holds a write if the hold says so.
func (h *Hold) wait(ctx context.Context) bool {
	if h.admit(1) {
		return true
	}
	select {
	case <-h.release:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

func (a *sigV4) held(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return false
	}
	a.mu.Lock()
	h := a.hold
	a.mu.Unlock()
	if h == nil || h.wait(r.Context()) {
		return false
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	return true
}

// HoldWrites makes the broker take after records and hold the produce
// requests that would go past them until the hold is released; then they
// are handled as usual. A restarted broker (Start) holds nothing.
// Released when the test ends at the latest.
func (k *Kafka) HoldWrites(t interface{ Cleanup(func()) }, after int) *Hold {
	h := newHold(after)
	c := k.c
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !h.admit(producedRecords(req.(*kmsg.ProduceRequest))) {
			c.SleepControl(func() { <-h.release })
		}
		return nil, nil, false // handled as usual
	})
	t.Cleanup(h.Release)
	return h
}

// producedRecords counts the records of a produce request's batches
// (magic 2: the record count is the int32 at byte 57 of a batch, whose
// length is the int32 at byte 8, counting from byte 12).
func producedRecords(req *kmsg.ProduceRequest) int {
	n := 0
	for _, tp := range req.Topics {
		for _, p := range tp.Partitions {
			for b := p.Records; len(b) >= 61; {
				n += int(int32(binary.BigEndian.Uint32(b[57:61])))
				size := 12 + int(int32(binary.BigEndian.Uint32(b[8:12])))
				if size <= 12 || size > len(b) {
					break
				}
				b = b[size:]
			}
		}
	}
	return n
}
