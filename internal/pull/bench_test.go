package pull_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/pull"
)

// fetchClock notes when the fetching ends.
type fetchClock struct{ fetched time.Time }

func (*fetchClock) Planned(int)                     {}
func (*fetchClock) Fetched(pull.Window, int, error) {}
func (c *fetchClock) Writing()                      { c.fetched = time.Now() }

// ouraRingDir is the Python oura-ring client kept beside the repository
// (see ../shared/peers/README.md); WEARLINK_OURA_RING_DIR overrides it.
func ouraRingDir(t *testing.T) string {
	if d := os.Getenv("WEARLINK_OURA_RING_DIR"); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "peers", "oura-ring"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pythonRead is what the Python client's run reported.
type pythonRead struct {
	Documents int     `json:"documents"`
	Seconds   float64 `json:"seconds"`
}

// TestBenchPull (WEARLINK_BENCH=1) compares `wearlink pull` of the last 365
// days of one simulated user with the published Python oura-ring client
// reading the same days, both against the simulator with its rate limits
// at their defaults, once with it answering at once (loopback) and once
// with WEARLINK_BENCH_LATENCY added to every response (default 150ms, about
// what api.ouraring.com takes). The Python client runs unchanged, one
// request after another, with only its API address pointed at the
// simulator (testdata/oura_ring_year.py); its time is that of its reads
// alone, without the interpreter's start. The pull runs with the settings
// it ships with (the client's default pacing, 8 workers) over the
// collections the Python client reads, and its time includes writing
// every file.
func TestBenchPull(t *testing.T) {
	if os.Getenv("WEARLINK_BENCH") != "1" {
		t.Skip("set WEARLINK_BENCH=1 to run the pull measurement")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the baseline is the Python oura-ring client")
	}
	if out, err := exec.Command(python, "-c", "import requests").CombinedOutput(); err != nil {
		t.Skipf("python3 has no requests module (Debian: apt-get install python3-requests): %v: %s", err, bytes.TrimSpace(out))
	}
	clientDir := ouraRingDir(t)
	if _, err := os.Stat(filepath.Join(clientDir, "oura_ring", "client.py")); err != nil {
		t.Skipf("the Python oura-ring client is not at %s (set WEARLINK_OURA_RING_DIR): %v", clientDir, err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "oura_ring_year.py"))
	if err != nil {
		t.Fatal(err)
	}
	latency := 150 * time.Millisecond
	if v := os.Getenv("WEARLINK_BENCH_LATENCY"); v != "" {
		if latency, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}

	var report strings.Builder
	fmt.Fprintf(&report, "\n| latency | method | time | of which fetching | requests | documents |\n| --- | --- | ---: | ---: | ---: | ---: |\n")
	for _, lat := range []time.Duration{0, latency} {
		e := newSimEnv(t, ourasim.Config{Seed: 3, Faults: ourasim.Faults{Latency: lat}})
		since, until := e.lastDays(365)
		tok, _ := e.auth().AccessToken(context.Background())

		e.sim.ResetRequestCounts()
		start := time.Now()
		cmd := exec.Command(python, script, clientDir, e.url, tok, since, until)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		pyWall := time.Since(start)
		if err != nil {
			t.Fatalf("the Python client: %v\n%s", err, stderr.String())
		}
		var py pythonRead
		if err := json.Unmarshal(out, &py); err != nil {
			t.Fatalf("the Python client printed %q: %v", out, err)
		}
		pyReq := e.requests()
		fmt.Fprintf(&report, "| %v | Python oura-ring, one request after another | %.2f s (%.2f s with the interpreter's start) | same | %d | %d |\n",
			lat, py.Seconds, pyWall.Seconds(), pyReq, py.Documents)

		// The client as `wearlink pull` builds it: default pacing, timeout
		// and retries.
		client, err := oura.New(oura.Config{BaseURL: e.url})
		if err != nil {
			t.Fatal(err)
		}
		// Every collection the Python client has a method for: it has none
		// for interbeat_interval, which came back to the API in 2026.
		prov := ouraProvider(t, client)
		var colls []string
		for _, c := range prov.Collections() {
			if c.Name != oura.CollInterbeatInterval {
				colls = append(colls, c.Name)
			}
		}
		e.sim.ResetRequestCounts()
		clock := &fetchClock{}
		start = time.Now()
		sum, err := pull.Run(context.Background(), pull.Options{Provider: prov, Auth: e.auth(), Out: t.TempDir(), Since: since, Until: until, Collections: colls, Progress: clock})
		if err != nil {
			t.Fatal(err)
		}
		wall, req := time.Since(start), e.requests()
		stored := 0
		for _, n := range sum.Stored {
			stored += n
		}
		fmt.Fprintf(&report, "| %v | wearlink pull, %d windows, %d files | %.2f s | %.2f s | %d | %d |\n",
			lat, sum.Windows, len(sum.Files), wall.Seconds(), clock.fetched.Sub(start).Seconds(), req, stored)
		fmt.Fprintf(&report, "| %v | **Python / pull** | **%.2fx** | | | |\n", lat, py.Seconds/wall.Seconds())
		// At the ends of the range the Python client's date parameters and
		// the pull's day windows select a few documents differently
		// (daily_activity, sleep, enhanced_tag): a handful more, never fewer.
		if stored < py.Documents || stored > py.Documents+py.Documents/1000 {
			t.Errorf("latency %v: the pull stored %d documents, the Python client read %d", lat, stored, py.Documents)
		}
	}
	t.Log(report.String())
}
