package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
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
	var stdout, stderr lockedBuffer
	root := NewRoot(&stdout, &stderr)
	root.SetArgs([]string{"pull", "--base-url", url, "--since", since, "--until", until, "--out", out,
		"--client-id", sim.ClientID(), "--client-secret", sim.ClientSecret(), "--redirect-url", "http://127.0.0.1:0/callback",
		"--collections", "daily_activity,personal_info"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(context.Background()) }()

	addr := regexp.MustCompile(`http://\S+/oauth/authorize\?\S+`)
	var authorize string
	for deadline := time.Now().Add(10 * time.Second); authorize == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		authorize = addr.FindString(stderr.String())
	}
	if authorize == "" {
		t.Fatalf("no authorize address printed:\n%s", stderr.String())
	}
	req, _ := http.NewRequest(http.MethodGet, authorize, nil)
	req.Header.Set(ourasim.HeaderAuthorizeUser, strconv.Itoa(1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), "http://127.0.0.1:") {
		t.Fatalf("the redirect ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pull did not finish")
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

func TestPullUnknownDataSource(t *testing.T) {
	_, _, err := runCLI(t, "pull", "--data-source", "fitbitz", "--since", "2024-01-01", "--out", t.TempDir(), "--token", "x")
	if err == nil || !strings.Contains(err.Error(), "fitbitz") || !strings.Contains(err.Error(), "oura") {
		t.Fatalf("got %v, want the supported data sources named", err)
	}
}
