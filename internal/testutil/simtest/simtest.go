// Package simtest starts the Oura simulator for tests. It is apart from
// testutil because the oura package's own tests use testutil, and the
// simulator imports oura.
package simtest

import (
	"net/http/httptest"
	"testing"

	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
)

// Simulator starts an Oura simulator on loopback for the test and returns
// it with its base URL. Days appear only when the test asks (AddDay,
// AdvanceClock), so the data stays put while the test reads it. A zero
// Seed becomes 7. Everything stops when the test ends.
func Simulator(t testing.TB, cfg ourasim.Config) (*ourasim.Server, string) {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	cfg.RevealInterval = -1
	sim, err := ourasim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	t.Cleanup(func() { hs.Close(); sim.Close() })
	return sim, hs.URL
}
