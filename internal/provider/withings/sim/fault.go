package sim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults are the failures injected into service calls (not the token
// endpoint, the authorize page nor the control routes). The zero value injects nothing. Draws come,
// in request order, from one generator seeded by Config.Seed, so the same
// requests in the same order fail the same way.
type Faults struct {
	// Latency is added before every answer, plus up to LatencyJitter.
	Latency       time.Duration `json:"latency,omitempty"`
	LatencyJitter time.Duration `json:"latency_jitter,omitempty"`
	// ErrorRate is the fraction of calls answered HTTP 500, 502 or 503.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// TruncateRate is the fraction of answers that declare their full
	// Content-Length but send half the body before the connection closes.
	TruncateRate float64 `json:"truncate_rate,omitempty"`
	// BurstRate is the chance that a call starts a burst of status 601
	// answers lasting BurstLength calls (default 5), whatever the budget.
	BurstRate   float64 `json:"burst_rate,omitempty"`
	BurstLength int     `json:"burst_length,omitempty"`
	// Force601, Force5xx (HTTP 500) and ForceTruncate fail the next calls in
	// that order, so a test can count on a fault instead of a draw.
	Force601      int `json:"force_601,omitempty"`
	Force5xx      int `json:"force_5xx,omitempty"`
	ForceTruncate int `json:"force_truncate,omitempty"`
}

func (f Faults) validate() error {
	for name, v := range map[string]float64{"error rate": f.ErrorRate, "truncate rate": f.TruncateRate, "burst rate": f.BurstRate} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s %v outside [0,1]", name, v)
		}
	}
	if f.Latency < 0 || f.LatencyJitter < 0 || f.BurstLength < 0 || f.Force601 < 0 || f.Force5xx < 0 || f.ForceTruncate < 0 {
		return fmt.Errorf("faults: negative value in %+v", f)
	}
	return nil
}

// FaultCounts are the faults injected so far.
type FaultCounts struct {
	RateLimited int `json:"rate_limited"`
	ServerError int `json:"server_error"`
	Truncated   int `json:"truncated"`
}

type faultKind int

const (
	faultNone faultKind = iota
	fault601
	fault5xx
	faultTruncate
)

type faultDecision struct {
	kind    faultKind
	status  int
	latency time.Duration
}

type faultInjector struct {
	mu     sync.Mutex
	f      Faults
	rng    *rand.Rand
	burst  int
	counts FaultCounts
}

func newFaultInjector(seed int64, f Faults) *faultInjector {
	return &faultInjector{f: f, rng: rand.New(rand.NewPCG(uint64(seed), 0x7769746869))}
}

var statuses5xx = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// decide draws one call's fault. Every draw is made whatever the outcome,
// so one call's fault never shifts the next one's draws.
func (fi *faultInjector) decide() faultDecision {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := &fi.f
	d := faultDecision{latency: f.Latency}
	jitter, burst, errDraw, status, trunc := fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64(), fi.rng.IntN(len(statuses5xx)), fi.rng.Float64()
	if f.LatencyJitter > 0 {
		d.latency += time.Duration(jitter * float64(f.LatencyJitter))
	}
	switch {
	case f.Force601 > 0:
		f.Force601--
		d.kind = fault601
	case fi.burst > 0:
		fi.burst--
		d.kind = fault601
	case f.BurstRate > 0 && burst < f.BurstRate:
		n := f.BurstLength
		if n <= 0 {
			n = 5
		}
		fi.burst = n - 1
		d.kind = fault601
	case f.Force5xx > 0:
		f.Force5xx--
		d.kind, d.status = fault5xx, http.StatusInternalServerError
	case errDraw < f.ErrorRate:
		d.kind, d.status = fault5xx, statuses5xx[status]
	case f.ForceTruncate > 0:
		f.ForceTruncate--
		d.kind = faultTruncate
	case trunc < f.TruncateRate:
		d.kind = faultTruncate
	}
	switch d.kind {
	case fault601:
		fi.counts.RateLimited++
	case fault5xx:
		fi.counts.ServerError++
	case faultTruncate:
		fi.counts.Truncated++
	}
	return d
}

// Faults returns the faults in force (forced counts as they stand now).
func (s *Server) Faults() Faults {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.f
}

// SetFaults replaces the injected faults; an ongoing 601 burst ends.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	s.faults.f, s.faults.burst = f, 0
	s.faults.mu.Unlock()
	return nil
}

// FaultsInjected counts the faults injected so far.
func (s *Server) FaultsInjected() FaultCounts {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.counts
}
