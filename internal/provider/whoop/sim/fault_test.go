package sim

import (
	"io"
	"net/http"
	"testing"
)

// outcomes replays n requests and records how each ended: a status, or
// "cut" for a truncated body.
func outcomes(t *testing.T, seed int64, f Faults, n int) ([]string, FaultCounts) {
	t.Helper()
	srv, ts, _ := newTestServer(t, Config{Seed: seed, Faults: f, DisableRateLimit: true})
	tok := srv.Tokens()[0].AccessToken
	var out []string
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest("GET", ts.URL+"/v2/activity/workout?limit=25", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			out = append(out, "cut")
			continue
		}
		out = append(out, http.StatusText(resp.StatusCode))
	}
	return out, srv.FaultsInjected()
}

func TestFaultsDeterministicPerSeed(t *testing.T) {
	f := Faults{ErrorRate: 0.2, TruncateRate: 0.2, BurstRate: 0.05, BurstLength: 3}
	a, ca := outcomes(t, 5, f, 80)
	b, cb := outcomes(t, 5, f, 80)
	c, _ := outcomes(t, 6, f, 80)
	if !equal(a, b) || ca != cb {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if equal(a, c) {
		t.Fatal("another seed, same faults")
	}
	if ca.ServerError == 0 || ca.Truncated == 0 || ca.RateLimited < 3 {
		t.Fatalf("too few faults: %+v", ca)
	}
	// 429s come in bursts of at least BurstLength (bursts may touch).
	for i := 0; i < len(a); {
		if a[i] != "Too Many Requests" {
			i++
			continue
		}
		j := i
		for j < len(a) && a[j] == "Too Many Requests" {
			j++
		}
		if j-i < 3 && j < len(a) {
			t.Errorf("burst of %d at %d: %v", j-i, i, a)
		}
		i = j
	}
	if none, cn := outcomes(t, 5, Faults{}, 20); cn.RateLimited+cn.ServerError+cn.Truncated != 0 || none[0] != "OK" {
		t.Errorf("faults off by default: %+v", cn)
	}
}

func TestForcedFaults(t *testing.T) {
	got, _ := outcomes(t, 1, Faults{Force429: 2, Force5xx: 1, ForceTruncate: 1}, 5)
	want := []string{"Too Many Requests", "Too Many Requests", "Internal Server Error", "cut", "OK"}
	if !equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
