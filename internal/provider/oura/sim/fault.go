package sim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Faults are the failures injected into /v2/ responses. The zero value
// injects nothing. Fractions are in [0,1] and are drawn, in this order, from
// one generator seeded by Config.Seed, so a run with the same requests in the
// same order fails the same way.
type Faults struct {
	// Latency is added before every response, plus up to LatencyJitter more.
	Latency       time.Duration
	LatencyJitter time.Duration
	// ErrorRate is the fraction of requests answered 500, 502 or 503.
	ErrorRate float64
	// ResetRate is the fraction of requests whose connection is closed with
	// a TCP reset and no response at all.
	ResetRate float64
	// TruncateRate is the fraction of responses that declare their full
	// Content-Length but send only half the body before the connection is
	// closed.
	TruncateRate float64
	// Force429 makes the next Force429 requests fail with 429, whatever
	// the real rate-limit budget.
	Force429 int
	// Force429RetryAfter is the Retry-After those 429s carry (default 1s).
	Force429RetryAfter time.Duration
	// Force429Tier is the X-RateLimit-Tier they name: TierToken (the
	// default) or TierApplication.
	Force429Tier string
	// Force5xx and ForceTruncate make the next requests (after any forced
	// 429s) fail with a 503 or a truncated body, so a test can count on a
	// fault instead of hoping a random draw produces one.
	Force5xx      int
	ForceTruncate int
}

// FaultCounts are the faults a simulator has injected so far, by kind.
type FaultCounts struct {
	RateLimited, ServerError, Reset, Truncated int
}

// Total is the number of faulted requests.
func (c FaultCounts) Total() int { return c.RateLimited + c.ServerError + c.Reset + c.Truncated }

type faultsJSON struct {
	Latency            string  `json:"latency,omitempty"`
	LatencyJitter      string  `json:"latency_jitter,omitempty"`
	ErrorRate          float64 `json:"error_rate"`
	ResetRate          float64 `json:"reset_rate"`
	TruncateRate       float64 `json:"truncate_rate"`
	Force429           int     `json:"force_429"`
	Force429RetryAfter string  `json:"force_429_retry_after,omitempty"`
	Force429Tier       string  `json:"force_429_tier,omitempty"`
	Force5xx           int     `json:"force_5xx,omitempty"`
	ForceTruncate      int     `json:"force_truncate,omitempty"`
}

// MarshalJSON writes durations as Go duration strings ("250ms").
func (f Faults) MarshalJSON() ([]byte, error) {
	d := func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	return json.Marshal(faultsJSON{d(f.Latency), d(f.LatencyJitter), f.ErrorRate, f.ResetRate, f.TruncateRate, f.Force429, d(f.Force429RetryAfter), f.Force429Tier, f.Force5xx, f.ForceTruncate})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var out Faults
	for _, p := range []struct {
		s   string
		dst *time.Duration
	}{{j.Latency, &out.Latency}, {j.LatencyJitter, &out.LatencyJitter}, {j.Force429RetryAfter, &out.Force429RetryAfter}} {
		if p.s == "" {
			continue
		}
		v, err := time.ParseDuration(p.s)
		if err != nil {
			return fmt.Errorf("faults: %w", err)
		}
		*p.dst = v
	}
	out.ErrorRate, out.ResetRate, out.TruncateRate, out.Force429 = j.ErrorRate, j.ResetRate, j.TruncateRate, j.Force429
	out.Force5xx, out.ForceTruncate, out.Force429Tier = j.Force5xx, j.ForceTruncate, j.Force429Tier
	*f = out
	return out.validate()
}

func (f Faults) validate() error {
	for _, r := range []float64{f.ErrorRate, f.ResetRate, f.TruncateRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("faults: fraction %v outside [0,1]", r)
		}
	}
	if f.Latency < 0 || f.LatencyJitter < 0 || f.Force429 < 0 || f.Force429RetryAfter < 0 || f.Force5xx < 0 || f.ForceTruncate < 0 {
		return fmt.Errorf("faults: negative value")
	}
	if f.Force429Tier != "" && f.Force429Tier != TierToken && f.Force429Tier != TierApplication {
		return fmt.Errorf("faults: force_429_tier %q is neither %q nor %q", f.Force429Tier, TierToken, TierApplication)
	}
	return nil
}

type faultKind int

const (
	faultNone faultKind = iota
	fault429
	fault5xx
	faultReset
	faultTruncate
)

type faultDecision struct {
	kind    faultKind
	status  int
	latency time.Duration
	retry   time.Duration
	tier    string
}

type faultInjector struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
	n   FaultCounts
}

func (fi *faultInjector) counts() FaultCounts {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.n
}

func newFaultInjector(seed int64, f Faults) *faultInjector {
	return &faultInjector{f: f, rng: rand.New(rand.NewPCG(uint64(seed), 0xfa017))}
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.f
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	fi.f = f
	fi.mu.Unlock()
}

// decide draws the fate of one request.
func (fi *faultInjector) decide() faultDecision {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := &fi.f
	var d faultDecision
	d.latency = f.Latency
	if f.LatencyJitter > 0 {
		d.latency += time.Duration(fi.rng.Int64N(int64(f.LatencyJitter) + 1))
	}
	switch {
	case f.Force429 > 0:
		f.Force429--
		d.kind, d.retry, d.tier = fault429, f.Force429RetryAfter, f.Force429Tier
		if d.tier == "" {
			d.tier = TierToken
		}
		if d.retry <= 0 {
			d.retry = time.Second
		}
	case f.Force5xx > 0:
		f.Force5xx--
		d.kind, d.status = fault5xx, 503
	case f.ForceTruncate > 0:
		f.ForceTruncate--
		d.kind = faultTruncate
	case f.ErrorRate > 0 && fi.rng.Float64() < f.ErrorRate:
		d.kind, d.status = fault5xx, []int{500, 502, 503}[fi.rng.IntN(3)]
	case f.ResetRate > 0 && fi.rng.Float64() < f.ResetRate:
		d.kind = faultReset
	case f.TruncateRate > 0 && fi.rng.Float64() < f.TruncateRate:
		d.kind = faultTruncate
	}
	switch d.kind {
	case fault429:
		fi.n.RateLimited++
	case fault5xx:
		fi.n.ServerError++
	case faultReset:
		fi.n.Reset++
	case faultTruncate:
		fi.n.Truncated++
	}
	return d
}

// resetConnection drops the client's connection without a response: a TCP
// RST where the connection can be taken over, otherwise an aborted handler.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

var fault5xxDetail = map[int]string{
	500: "Internal Server Error",
	502: "Bad Gateway",
	503: "Service Unavailable",
}
