package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkInstrument is what the metrics middleware adds to a request:
// two route lookups, a counter and a histogram.
func BenchmarkInstrument(b *testing.B) {
	outer := http.NewServeMux()
	nop := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	outer.Handle("/", nop)
	outer.Handle("GET /healthz", nop)
	api := []string{"GET /v2/processed_data/sleep_health/summary", "GET /api/v1/user_id/{user_id}/time_zone", "GET /connect/oura/logo.svg"}
	m := newMetrics()
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", outer}, {"instrumented", m.instrument(outer, routeNamer(outer, api))}} {
		b.Run(tc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/v2/processed_data/sleep_health/summary?user_id=u&date=2026-11-01", nil)
			w := httptest.NewRecorder()
			for b.Loop() {
				tc.h.ServeHTTP(w, r)
			}
		})
	}
}
