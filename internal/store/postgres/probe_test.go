package postgres_test

import "testing"

// TestProbeWrite: the write probe commits, and again (an upsert).
func TestProbeWrite(t *testing.T) {
	st := newStore(t)
	for range 2 {
		if err := st.ProbeWrite(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}
