package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/withings"
	withingssim "github.com/wearlink/wearlink/internal/provider/withings/sim"
	"github.com/wearlink/wearlink/internal/testutil"
)

// recorder saves every data answer that passes through it into dir, one
// file per answer under a name that says nothing of what it holds.
type recorder struct {
	next http.Handler
	dir  string
	t    *testing.T
	mu   sync.Mutex
	n    int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	rc.next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	_ = r.ParseForm()
	if r.URL.Path == "/notify" || r.URL.Path == "/v2/oauth2" {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.n++
	if err := os.WriteFile(filepath.Join(rc.dir, fmt.Sprintf("answer-%03d.json", rc.n)), rec.Body.Bytes(), 0o644); err != nil {
		rc.t.Error(err)
	}
}

// wearlink normalize on Withings' own answers, saved as the API sent them
// (envelopes, several pages per action) under names that say nothing,
// gives exactly what the provider's normalizer gives for the documents the
// provider fetched through the same answers.
func TestNormalizeWithingsSavedAnswers(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := testutil.NewClock(now)
	s, err := withingssim.New(withingssim.Config{Seed: 3, Users: 1, Days: 20, Now: clock.Now, RateLimit: -1, PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	dir := t.TempDir()
	srv := httptest.NewServer(&recorder{next: s, dir: dir, t: t})
	t.Cleanup(srv.Close)
	info := s.Info()
	tz := info.Users[0].Timezone
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	p, err := registeredProvider(withings.DataSource, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The window holds the whole history, as the saved answers do.
	w := provider.Window{From: now.AddDate(0, 0, -30).Format(time.DateOnly), To: now.Format(time.DateOnly), Loc: loc}
	docs := whoopFetch(t, p, s.Tokens()[0].AccessToken, w)
	want, err := p.(provider.Normalizer).Normalize(docs, provider.NormalizeOptions{ClientUUID: "local", UserID: "me", Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) < 10 {
		t.Fatalf("only %d answers saved: want several pages per action", len(files))
	}
	args := append([]string{"--data-source", "withings", "--time-zone", tz}, files...)
	code, stdout, stderr := runNormalizeCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var wantOut bytes.Buffer
	for _, r := range want {
		b, err := json.Marshal(r.Doc)
		if err != nil {
			t.Fatal(err)
		}
		wantOut.Write(b)
		wantOut.WriteByte('\n')
	}
	if stdout != wantOut.String() {
		got, exp := strings.Split(stdout, "\n"), strings.Split(wantOut.String(), "\n")
		for i := 0; i < len(got) && i < len(exp); i++ {
			if got[i] != exp[i] {
				t.Errorf("line %d differs:\n got %.400s\nwant %.400s", i+1, got[i], exp[i])
				break
			}
		}
		t.Fatalf("normalize of the saved answers differs from the provider's: got %d lines, want %d", len(got)-1, len(exp)-1)
	}
	structures := structuresOf(ndjson(t, stdout))
	for _, st := range []string{"sleep_summary", "physical_summary", "activity_event", "body_summary", "blood_pressure_event"} {
		if structures[st] == 0 {
			t.Errorf("no %s in %v", st, structures)
		}
	}
	// An answer that reports a failure is an error, not an empty file.
	bad := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(bad, []byte(`{"status":401,"error":"XRequestID: Not provided invalid_token"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNormalizeCmd(t, "--data-source", "withings", bad); code == 0 || !strings.Contains(stderr, "401") {
		t.Errorf("a failed answer: exit %d: %s", code, stderr)
	}
}

// wearlink pull --data-source withings writes the raw documents, the ROOK
// documents and the tables of a month, the sleep analyzer's series among
// them as one cell per segment rather than a column per sample.
func TestPullWithings(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := testutil.NewClock(now)
	s, err := withingssim.New(withingssim.Config{Seed: 4, Users: 1, Days: 40, Now: clock.Now, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "withings")
	t.Setenv("WITHINGS_TOKEN", "")
	since, until := now.AddDate(0, 0, -29).Format(time.DateOnly), now.Format(time.DateOnly)
	stdout, stderr, err := runCLI(t, "pull", "--data-source", "withings", "--token", s.Tokens()[0].AccessToken, "--base-url", s.URL(),
		"--since", since, "--until", until, "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "files under "+out) {
		t.Errorf("stdout: %q", stdout)
	}
	for _, name := range []string{"withings-measure.json", "withings-sleep.json", "withings-sleep_summary.json", "withings-activity.json",
		"rook/body_summary.json", "rook/sleep_summary.json", "rook/physical_summary.json", "csv/withings-sleep.csv", "parquet/withings-sleep.parquet"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	header, err := os.ReadFile(filepath.Join(out, "csv", "withings-sleep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if cols := strings.Count(strings.SplitN(string(header), "\n", 2)[0], ",") + 1; cols > 50 {
		t.Errorf("withings-sleep.csv has %d columns: a column per sample", cols)
	}
}
