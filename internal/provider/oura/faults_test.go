package oura_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
)

// TestUpstreamFaultsWarn: retried upstream faults are logged at WARN, at
// most FaultLogBurst lines per kind and collection per interval, the next
// line after a held-back stretch saying how many were held back; every
// fault reaches OnFault. The faults are forced, not drawn, and the clock
// and the sleeps are the test's.
func TestUpstreamFaultsWarn(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var faults []oura.Fault
	e := newSimEnv(t, ourasim.Config{Faults: ourasim.Faults{Force429: 2, Force5xx: 3, ForceTruncate: 2}}, oura.Config{
		MaxAttempts:      10,
		Sleep:            func(context.Context, time.Duration) error { return nil },
		Logger:           slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Now:              func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		OnFault:          func(f oura.Fault) { mu.Lock(); defer mu.Unlock(); faults = append(faults, f) },
		FaultLogBurst:    2,
		FaultLogInterval: time.Minute,
	})
	d1, d2 := e.lastDays(0, 7)
	if _, err := e.user(0).Sleep(t.Context(), d1, d2); err != nil {
		t.Fatalf("the faults were not retried away: %v", err)
	}
	type line struct {
		Level, Msg, Provider, Collection, Kind string
		Suppressed                             int
	}
	read := func() []line {
		var out []line
		dec := json.NewDecoder(&logs)
		for dec.More() {
			var l line
			if err := dec.Decode(&l); err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		return out
	}
	if tok := e.sim.Tokens()[0].AccessToken; bytes.Contains(logs.Bytes(), []byte(tok)) {
		t.Fatal("a WARN line carries the access token")
	}
	count := map[string]int{}
	for _, l := range read() {
		if l.Level != "WARN" || l.Msg != "oura: upstream fault, retrying" || l.Provider != "oura" || l.Collection != "sleep" || l.Suppressed != 0 {
			t.Errorf("line %+v", l)
		}
		count[l.Kind]++
	}
	if count["rate_limited"] != 2 || count["server"] != 2 || count["network"] != 2 {
		t.Fatalf("WARN lines by kind %v, want 2 each (3 server faults, one held back)", count)
	}
	byKind := map[string]int{}
	for _, f := range faults {
		if !f.Retried || f.Collection != "sleep" {
			t.Errorf("fault %+v", f)
		}
		byKind[f.Kind.String()]++
	}
	if byKind["rate_limited"] != 2 || byKind["server"] != 3 || byKind["network"] != 2 {
		t.Fatalf("faults observed %v", byKind)
	}

	// A minute later the next server fault is logged and says one line
	// was held back.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if err := e.sim.SetFaults(ourasim.Faults{Force5xx: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.user(0).Sleep(t.Context(), d1, d2); err != nil {
		t.Fatal(err)
	}
	if ls := read(); len(ls) != 1 || ls[0].Kind != "server" || ls[0].Suppressed != 1 {
		t.Fatalf("after the interval: %+v", ls)
	}
}

// TestCollectionOf: paths map to bounded collection names, never to
// values taken from ids.
func TestCollectionOf(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/usercollection/daily_sleep":                "daily_sleep",
		"/v2/usercollection/sleep/abc-123":              "sleep",
		"/v2/sandbox/usercollection/heartrate":          "heartrate",
		"/v2/usercollection/personal_info":              "personal_info",
		"/v2/webhook/subscription/renew/x":              "webhook_subscription",
		"/v2/usercollection/Some-Thing":                 "other",
		"/oauth/token":                                  "other",
		"/v2/usercollection/" + strings.Repeat("a", 50): "other",
	} {
		if got := oura.CollectionOf(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
