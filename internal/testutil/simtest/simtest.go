// Package simtest starts the providers' simulators for tests. It is apart
// from testutil (and testutil/harness) because the providers' own tests
// use testutil, and a simulator may import its provider.
package simtest

import (
	"net/http/httptest"
	"testing"

	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
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

// Whoop starts a WHOOP simulator on loopback for the test. A zero Seed
// becomes 7. It stops when the test ends.
func Whoop(t testing.TB, cfg whoopsim.Config) *whoopsim.Server {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	sim, err := whoopsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		_ = sim.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}
