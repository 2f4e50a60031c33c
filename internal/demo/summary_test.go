package demo

import (
	"reflect"
	"testing"
	"time"
)

// TestSummaryLimits: a --once run fails on a p99 over its bound and on
// more deliveries per distinct document than allowed, and a zero bound
// checks nothing.
func TestSummaryLimits(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*10*time.Millisecond) // p99 990 ms, p100 1 s
	}
	slow := append(append([]time.Duration(nil), lat...), 1500*time.Millisecond, 1600*time.Millisecond)
	for _, tc := range []struct {
		name      string
		s         Summary
		maxP99    time.Duration
		maxPerDoc float64
		want      []string
	}{
		{"within", Summary{Latencies: lat, Delivered: DocumentCount{Deliveries: 110, Documents: 100}}, time.Second, 1.1, nil},
		{"slow", Summary{Latencies: slow, Delivered: DocumentCount{Deliveries: 100, Documents: 100}}, time.Second, 1.1,
			[]string{"sync to delivery p99 1.5s, over 1s"}},
		{"redelivered", Summary{Latencies: lat, Delivered: DocumentCount{Deliveries: 111, Documents: 100}}, time.Second, 1.1,
			[]string{"1.11 deliveries per document, over 1.10"}},
		{"unchecked", Summary{Latencies: slow, Delivered: DocumentCount{Deliveries: 300, Documents: 100}}, 0, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.limits(tc.maxP99, tc.maxPerDoc); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
