package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/provider"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// lastDays returns the first and last of the last n days of a simulated
// user.
func lastDays(sim *ourasim.Server, user, n int) (string, string) {
	last := sim.Users()[user].LastDay
	lt, _ := last.Time()
	return lt.AddDate(0, 0, -(n - 1)).Format(time.DateOnly), string(last)
}

func TestPullWithToken(t *testing.T) {
	sim, url := simtest.Simulator(t, ourasim.Config{Users: 1})
	since, until := lastDays(sim, 0, 10)
	out := filepath.Join(t.TempDir(), "oura")
	t.Setenv("OURA_TOKEN", sim.Tokens()[0].AccessToken)
	stdout, stderr, err := runCLI(t, "pull", "--base-url", url, "--since", since, "--until", until, "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "files under "+out) {
		t.Errorf("stdout: %q", stdout)
	}
	// Not a terminal: one plain line per window.
	if !strings.Contains(stderr, "pull: sleep "+since+".."+until+": ") {
		t.Errorf("no progress line for sleep in:\n%s", stderr)
	}
	if n := len(testutil.ReadJSONArray(t, filepath.Join(out, "oura-v2-daily_activity.json"))); n != 10 {
		t.Errorf("%d daily_activity documents for 10 days", n)
	}
	for _, f := range []string{"rook/sleep_summary.json", "csv/oura-v2-sleep.csv", "parquet/activity_met.parquet", ".wearlink-pull.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestPullRefusedTokenSaysSo(t *testing.T) {
	_, url := simtest.Simulator(t, ourasim.Config{Users: 1})
	t.Setenv("OURA_TOKEN", "")
	_, _, err := runCLI(t, "pull", "--base-url", url, "--since", "2024-01-01", "--until", "2024-01-05", "--out", t.TempDir(), "--token", "wrong")
	if err == nil || !strings.Contains(err.Error(), "refused the access token") || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("got %v", err)
	}
	_, _, err = runCLI(t, "pull", "--base-url", url, "--since", "2024-01-01", "--out", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "OURA_TOKEN") {
		t.Fatalf("without credentials: %v", err)
	}
}

// lockedBuffer lets the test read what the command has written so far.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPullBrowserLogin plays the browser: it opens the printed address,
// approves as the simulator's user (the consent page's button does the same
// request), and follows the redirect to the command's listener.
func TestPullBrowserLogin(t *testing.T) {
	sim, url := simtest.Simulator(t, ourasim.Config{Users: 2})
	since, until := lastDays(sim, 1, 3)
	out := t.TempDir()
	t.Setenv("OURA_TOKEN", "")
	run := startPull(t, time.Now, "--base-url", url, "--since", since, "--until", until, "--out", out,
		"--client-id", sim.ClientID(), "--client-secret", sim.ClientSecret(), "--redirect-url", "http://127.0.0.1:0/callback",
		"--collections", "daily_activity,personal_info")
	run.approve(t, ourasim.HeaderAuthorizeUser, 1)
	if err := run.wait(t); err != nil {
		t.Fatalf("%v\n%s", err, run.stderr.String())
	}
	// The data is user 1's, the one who logged in.
	b, err := os.ReadFile(filepath.Join(out, "oura-v2-personal_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := sim.Users()[1].OuraID; !strings.Contains(string(b), want) {
		t.Errorf("personal_info is not user 1's (%s): %s", want, b)
	}
	if n := len(testutil.ReadJSONArray(t, filepath.Join(out, "oura-v2-daily_activity.json"))); n != 3 {
		t.Errorf("%d daily_activity documents for 3 days", n)
	}
}

// pullRun is a wearlink pull running in the background, whose browser
// login the test may play.
type pullRun struct {
	stdout, stderr lockedBuffer
	done           chan error
}

// startPull runs the pull command with args on the clock now.
func startPull(t *testing.T, now func() time.Time, args ...string) *pullRun {
	t.Helper()
	r := &pullRun{done: make(chan error, 1)}
	cmd := newPullCmd(now)
	cmd.SetArgs(args)
	cmd.SetOut(&r.stdout)
	cmd.SetErr(&r.stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	go func() { r.done <- cmd.ExecuteContext(t.Context()) }()
	return r
}

// approve waits for the printed authorize address, opens it as the
// simulator's user (userHeader is the simulator's header naming them) and
// follows the redirect to the command's listener.
func (r *pullRun) approve(t *testing.T, userHeader string, user int) {
	t.Helper()
	addr := regexp.MustCompile(`allow access:\s+(http://\S+)`)
	var authorize string
	for deadline := time.Now().Add(10 * time.Second); authorize == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addr.FindStringSubmatch(r.stderr.String()); m != nil {
			authorize = m[1]
		}
	}
	if authorize == "" {
		t.Fatalf("no authorize address printed:\n%s", r.stderr.String())
	}
	req, _ := http.NewRequest(http.MethodGet, authorize, nil)
	req.Header.Set(userHeader, strconv.Itoa(user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), "http://127.0.0.1:") {
		t.Fatalf("the redirect ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
}

// wait returns the command's error once it has finished.
func (r *pullRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("the pull did not finish:\n%s", r.stderr.String())
		return nil
	}
}

func TestPullUnknownDataSource(t *testing.T) {
	_, _, err := runCLI(t, "pull", "--data-source", "fitbitz", "--since", "2024-01-01", "--out", t.TempDir(), "--token", "x")
	if err == nil || !strings.Contains(err.Error(), "fitbitz") || !strings.Contains(err.Error(), "oura") {
		t.Fatalf("got %v, want the supported data sources named", err)
	}
}

// whoopSimNow is the frozen "now" of the WHOOP simulator in these tests.
var whoopSimNow = time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC)

// whoopSimulator serves a WHOOP simulator on loopback whose history starts
// on historyStart, with its clock frozen at whoopSimNow and no rate limit,
// and returns its description (API base URL, ready tokens).
func whoopSimulator(t *testing.T, users int, historyStart time.Time) whoopsim.Info {
	t.Helper()
	real := whoopsim.NewManualTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := whoopsim.New(whoopsim.Config{Seed: 5, Users: users, HistoryStart: historyStart,
		Clock: whoopsim.NewClock(whoopSimNow, 0, real.Now), ScanInterval: -1, DisableRateLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.Info()
}

// whoopFetch reads every collection of the window through the provider,
// as the service does (the singletons with Fetch).
func whoopFetch(t *testing.T, p provider.Provider, token string, w provider.Window) []provider.Document {
	t.Helper()
	var docs []provider.Document
	for _, c := range p.Collections() {
		got, err := p.Fetch(context.Background(), provider.StaticToken(token), c.Name, w)
		if err != nil {
			t.Fatalf("fetch %s: %v", c.Name, err)
		}
		if len(got) == 0 {
			t.Fatalf("no %s documents in %v", c.Name, w)
		}
		docs = append(docs, got...)
	}
	return docs
}

// rookFiles renders normalized documents as wearlink pull writes them:
// one JSON array per structure file name.
func rookFiles(t *testing.T, results []provider.Normalized) map[string][]byte {
	t.Helper()
	docs := map[string][][]byte{}
	for _, r := range results {
		b, err := json.Marshal(r.Doc)
		if err != nil {
			t.Fatal(err)
		}
		name := export.StructureFileName(r.Doc.Pillar(), r.Doc.DataStructure()) + ".json"
		docs[name] = append(docs[name], b)
	}
	out := map[string][]byte{}
	for name, d := range docs {
		out[name] = export.JSONArray(d)
	}
	return out
}

// wearlink pull --data-source whoop keeps 30 days of raw records, the ROOK
// documents the provider's normalizer makes of them, and their tables; a
// second run fetches only the last two days and, with nothing new, leaves
// every file as it was.
func TestPullWhoop(t *testing.T) {
	info := whoopSimulator(t, 2, whoopSimNow.AddDate(0, 0, -60))
	u := info.Users[1]
	until := whoopSimNow.Format(time.DateOnly)
	since := whoopSimNow.AddDate(0, 0, -29).Format(time.DateOnly)
	out := filepath.Join(t.TempDir(), "whoop")
	t.Setenv("WHOOP_TOKEN", "")

	stdout, stderr, err := runCLI(t, "pull", "--data-source", "whoop", "--token", u.AccessToken, "--base-url", info.APIBaseURL,
		"--since", since, "--until", until, "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "files under "+out) {
		t.Errorf("stdout: %q", stdout)
	}
	if !strings.Contains(stderr, "pull: sleep "+since+".."+until+": ") {
		t.Errorf("no progress line for the sleeps in:\n%s", stderr)
	}
	if strings.Contains(stderr, "level=WARN") {
		t.Errorf("warnings:\n%s", stderr)
	}

	// The raw files hold what the provider fetches for the window.
	p, err := registeredProvider(whoop.DataSource, info.APIBaseURL)
	if err != nil {
		t.Fatal(err)
	}
	docs := whoopFetch(t, p, u.AccessToken, provider.Window{From: since, To: until})
	byColl := map[string][]string{}
	for _, d := range docs {
		byColl[d.Collection] = append(byColl[d.Collection], string(d.Raw))
	}
	for coll, want := range byColl {
		var got []string
		for _, raw := range testutil.ReadJSONArray(t, filepath.Join(out, "whoop-"+coll+".json")) {
			got = append(got, string(raw))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("whoop-%s.json holds %d documents, the provider fetched %d (or they differ)", coll, len(got), len(want))
		}
	}
	// The ROOK documents are the provider's normalization of those records.
	want, err := p.(provider.Normalizer).Normalize(docs, provider.NormalizeOptions{ClientUUID: "local", UserID: "me"})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range rookFiles(t, want) {
		got, err := os.ReadFile(filepath.Join(out, "rook", name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("rook/%s differs from the provider's normalization (%v)", name, err)
		}
	}
	for _, f := range []string{"csv/whoop-sleep.csv", "parquet/whoop-cycle.parquet", "csv/rook-sleep_summary.csv",
		"parquet/rook-activity_event.parquet", "csv/workout_heart_rate_zones.csv", "parquet/workout_heart_rate_zones.parquet",
		"whoop-profile.json", "whoop-body_measurement.json", ".wearlink-pull.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	// Again, without --since: only the last two days of each dated
	// collection are asked for, and nothing changes on disk.
	before := testutil.Snapshot(t, out)
	_, stderr, err = runCLI(t, "pull", "--data-source", "whoop", "--token", u.AccessToken, "--base-url", info.APIBaseURL,
		"--until", until, "--out", out)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr)
	}
	resume := whoopSimNow.AddDate(0, 0, -1).Format(time.DateOnly)
	for _, c := range []string{"cycle", "sleep", "recovery", "workout"} {
		if !strings.Contains(stderr, "pull: "+c+" "+resume+".."+until+": ") {
			t.Errorf("second run: %s not resumed at %s:\n%s", c, resume, stderr)
		}
	}
	if strings.Contains(stderr, since+"..") {
		t.Errorf("second run fetched from %s again:\n%s", since, stderr)
	}
	after := testutil.Snapshot(t, out)
	if len(after) != len(before) {
		t.Errorf("%d files after the second run, %d before", len(after), len(before))
	}
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed although nothing new was fetched", name)
		}
	}
}

// registeredProvider has no default address: the live one is the command's
// default, so that code which forgets it fails instead of reaching a
// provider.
func TestRegisteredProviderNeedsAnAddress(t *testing.T) {
	for _, ds := range []string{"oura", "whoop"} {
		if _, err := registeredProvider(ds, ""); err == nil {
			t.Errorf("%s without an address: no error", ds)
		}
	}
}
