package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/whoop/normalize"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/childenv"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

// TestKillMidBackfillWhoop is TestKillMidBackfill for WHOOP: the real
// binary backfills two WHOOP accounts linked with `wearlink link
// --data-source whoop`, is killed with SIGKILL once part of the backfill
// windows are stored, and is started again. The backfill must then finish
// with the raw records exactly those the simulator serves for the plan's
// days, and the health documents exactly what the WHOOP normalizer makes
// offline of the stored records.
func TestKillMidBackfillWhoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := binary(t)
	const seed, users = 23, 2
	// Frozen simulated time: the records the server reads cannot change
	// while the test runs, and a second simulator frozen at the same
	// instant serves the same ones.
	frozen := time.Now().UTC().Truncate(time.Second)
	s, err := whoopsim.New(whoopsim.Config{Seed: seed, Users: users, Clock: whoopsim.NewClock(frozen, 0, nil),
		ScanInterval: -1, DisableRateLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	// The simulator is served behind a gate that makes the middle of the
	// backfill certain: it holds the windows' reads until the plan is
	// known, serves a quarter of the windows, and holds the rest until
	// the server is killed.
	gate := newWindowGate(s)
	front := httptest.NewServer(gate)
	defer front.Close()
	defer gate.release()
	info := s.Info()
	info.BaseURL, info.APIBaseURL = front.URL, front.URL+whoopsim.APIPrefix
	dir := t.TempDir()
	env := []string{"WEARLINK_DATA=" + dir, "WEARLINK_BACKFILL_DAYS=60", "WEARLINK_OURA_MANAGE_WEBHOOKS=false",
		"WEARLINK_WHOOP_API_URL=" + info.APIBaseURL, "WEARLINK_WHOOP_OAUTH_URL=" + info.BaseURL,
		"WEARLINK_WHOOP_CLIENT_ID=" + info.ClientID, "WEARLINK_WHOOP_CLIENT_SECRET=" + info.ClientSecret}

	start := time.Now()
	first := startServe(t, bin, env)
	defer func() { _ = first.cmd.Process.Kill(); _ = first.cmd.Wait() }()
	defer first.logIfFailed(t, "first")
	// Link once the server has made the database (see TestKillMidBackfill).
	testutil.WaitFor(t, 30*time.Second, "the server to make its database", func() bool {
		fi, err := os.Stat(filepath.Join(dir, sqlite.FileName))
		return err == nil && fi.Size() > 0
	})
	for i := 0; i < users; i++ {
		// The environment names the simulator, as for the server; the
		// flags are the command's own.
		cmd := exec.Command(bin, "link", "--data", dir, "--data-source", whoop.DataSource, "--create-client",
			"--client-uuid", "client-1", "--user-id", fmt.Sprintf("user-%d", i), "--token", info.Users[i].AccessToken)
		cmd.Env = childenv.Env(env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("link: %v\n%s", err, out)
		}
		if want := fmt.Sprintf("Whoop user %d,", info.Users[i].UserID); !strings.Contains(string(out), want) {
			t.Fatalf("link output does not name %q:\n%s", want, out)
		}
	}

	ctx := context.Background()
	st, err := app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	conns := make([]store.Connection, users)
	for i := range conns {
		if conns[i], err = st.Store.FindConnection(ctx, "client-1", fmt.Sprintf("user-%d", i), whoop.DataSource); err != nil {
			t.Fatal(err)
		}
	}
	// The collections read by day: each has a window state per plan window.
	p := whoopProvider(t, info.APIBaseURL, info.BaseURL)
	byDay := readByDay(p)
	// progress reads, through the store, how many connections finished
	// their backfill and how many (collection, window) pairs are stored,
	// out of how many.
	progress := func() (done, windows, total int) {
		for _, c := range conns {
			c, err := st.Store.GetConnection(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			cur := ingest.CursorsOf(c)
			if cur.Backfilled() {
				done++
			}
			plan := strings.Split(c.Cursors["backfill"], "/")
			if len(plan) == 3 {
				total += len(byDay) * planWindows(t, plan)
			}
			for _, coll := range byDay {
				for _, w := range cur.Coll(coll).Windows {
					if w.Done {
						windows++
					}
				}
			}
		}
		return done, windows, total
	}
	// Linking stored the plans: a quarter of their windows may be read,
	// and the kill comes once the server stored some and asks for more
	// than that quarter.
	_, _, total := progress()
	if total == 0 {
		t.Fatal("linking stored no backfill plan")
	}
	gate.open(total / 4)
	testutil.WaitFor(t, 2*time.Minute, "a read held after a quarter of the windows, with some stored", func() bool {
		_, windows, _ := progress()
		return gate.held() && windows > 0
	})
	// A window needs no read when it is empty before the account's
	// history, or is read along with another collection: the windows
	// stored may be more than those the gate counted, but not all.
	done, windows, _ := progress()
	if done > 0 || windows >= total {
		t.Fatalf("the backfill got past the gate before the kill (%d of %d windows, %d done)", windows, total, done)
	}
	t.Logf("killing the server with %d of %d windows stored, %s after its start", windows, total, time.Since(start).Round(time.Millisecond))
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	gate.release()
	_, before, _ := progress()

	restart := time.Now()
	second := startServe(t, bin, env)
	defer func() {
		_ = second.cmd.Process.Signal(syscall.SIGTERM)
		_ = second.cmd.Wait()
	}()
	defer second.logIfFailed(t, "second")
	testutil.WaitFor(t, 3*time.Minute, "the backfill to finish after the restart", func() bool {
		done, _, _ := progress()
		return done == users && harness.PendingIngestJobs(t, st.SQLite) == 0
	})
	t.Logf("restarted server finished the backfill in %s (%d of %d windows were stored before the kill)",
		time.Since(restart).Round(time.Millisecond), before, total)
	if !strings.Contains(second.log(), "jobs of a stopped process taken back") {
		t.Logf("second server log:\n%s", second.log())
		t.Error("the restarted server did not take back the killed server's running jobs")
	}
	// Nothing writes once the server is stopped: what is compared below
	// is final.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = second.cmd.Wait()
	// A job cut by the kill may record an error and run again; none may
	// give up.
	for _, f := range harness.FailedIngestJobs(t, st.SQLite) {
		if strings.Contains(f, " discarded ") {
			t.Errorf("a job gave up: %s", f)
		} else {
			t.Logf("a job recorded an error and ran again: %.300s", f)
		}
	}

	// Nothing missing, nothing duplicated: the raw records are exactly what
	// a clean simulator of the same seed, frozen at the same instant,
	// serves through the provider for the plan's days.
	clean, err := whoopsim.New(whoopsim.Config{Seed: seed, Users: users, Clock: whoopsim.NewClock(s.Clock().Now(), 0, nil),
		ScanInterval: -1, DisableRateLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := clean.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = clean.Close() }()
	ci := clean.Info()
	cp := whoopProvider(t, ci.APIBaseURL, ci.BaseURL)
	for i := range conns {
		c, err := st.Store.GetConnection(ctx, conns[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Split(c.Cursors["backfill"], "/")
		w := provider.Window{From: plan[0], To: plan[1]}
		var clean []provider.Document
		for _, coll := range cp.Collections() {
			docs, err := cp.Fetch(ctx, provider.StaticToken(ci.Users[i].AccessToken), coll.Name, w)
			if err != nil {
				t.Fatalf("clean fetch of %s: %v", coll.Name, err)
			}
			clean = append(clean, docs...)
		}
		counts, stored := checkBackfill(t, ctx, st.Store, p, c, clean, byDay)
		t.Logf("user %d: plan %s..%s, %d raw records %v, %d health documents", i, w.From, w.To, len(clean), counts, stored)
	}
}

// windowGate serves the WHOOP simulator and counts the backfill's
// windows: a read of a collection by day (a list request) whose page has
// no next_token ends a window. Until open it holds every such read; then
// it serves them while the windows served and the reads in flight stay
// below the limit, and holds the rest until release. Everything else (the
// profile, the body measurement, OAuth) goes through.
type windowGate struct {
	next http.Handler

	mu       sync.Mutex
	limit    int // -1 until open
	served   int
	inflight int
	waited   bool
	released bool
	changed  chan struct{} // closed and replaced on every change
}

func newWindowGate(next http.Handler) *windowGate {
	return &windowGate{next: next, limit: -1, changed: make(chan struct{})}
}

// isList is a list request of a collection read by day.
func isList(r *http.Request) bool {
	p := strings.TrimPrefix(r.URL.Path, whoopsim.APIPrefix)
	switch p {
	case "/v2/cycle", "/v2/recovery", "/v2/activity/sleep", "/v2/activity/workout":
		return r.Method == http.MethodGet
	}
	return false
}

func (g *windowGate) broadcast() {
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *windowGate) open(limit int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limit = limit
	g.broadcast()
}

func (g *windowGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.released {
		g.released = true
		g.broadcast()
	}
}

// held says whether a read waited once the gate was open.
func (g *windowGate) held() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waited
}

func (g *windowGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isList(r) {
		g.next.ServeHTTP(w, r)
		return
	}
	for {
		g.mu.Lock()
		if g.released {
			g.mu.Unlock()
			g.next.ServeHTTP(w, r)
			return
		}
		if g.limit >= 0 && g.served+g.inflight < g.limit {
			g.inflight++
			g.mu.Unlock()
			break
		}
		if g.limit >= 0 {
			g.waited = true
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
	}
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	var page struct {
		NextToken string `json:"next_token"`
	}
	last := rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &page) == nil && page.NextToken == ""
	g.mu.Lock()
	g.inflight--
	if last {
		g.served++
	}
	g.broadcast()
	g.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// planWindows is the number of windows of a backfill plan FROM/TO/DAYS.
func planWindows(t *testing.T, plan []string) int {
	t.Helper()
	from, err1 := time.Parse(time.DateOnly, plan[0])
	to, err2 := time.Parse(time.DateOnly, plan[1])
	var days int
	_, err3 := fmt.Sscan(plan[2], &days)
	if err1 != nil || err2 != nil || err3 != nil || days < 1 {
		t.Fatalf("backfill plan %v", plan)
	}
	span := int(to.Sub(from).Hours()/24) + 1
	return (span + days - 1) / days
}

// whoopProvider is WHOOP's provider on a simulator, with the normalizer
// the server uses and a request budget no test reaches.
func whoopProvider(t *testing.T, apiURL, oauthURL string) *whoop.Provider {
	t.Helper()
	wc, err := whoop.New(whoop.ClientConfig{BaseURL: apiURL, PerMinute: 1 << 20, PerDay: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	p, err := whoop.NewProvider(whoop.Config{Client: wc, OAuthBaseURL: oauthURL, Normalizer: normalize.Normalizer{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
