package app_test

import (
	"context"
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
	"github.com/wearlink/wearlink/internal/provider/withings"
	withingsnorm "github.com/wearlink/wearlink/internal/provider/withings/normalize"
	withingssim "github.com/wearlink/wearlink/internal/provider/withings/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/childenv"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

// TestKillMidBackfillWithings is TestKillMidBackfillWhoop for Withings:
// the real binary backfills two Withings accounts linked with `wearlink
// link --data-source withings` (an access token, its refresh token and the
// application's credentials: the refresh answer names the user), is
// killed with SIGKILL once part of the backfill windows are stored, and is
// started again. The backfill must then finish with the raw records
// exactly those the simulator serves for the plan's days, and the health
// documents exactly what the Withings normalizer makes offline of the
// stored records.
func TestKillMidBackfillWithings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := binary(t)
	const seed, users, days = 29, 2, 45
	// Frozen simulated time: the records cannot change while the test
	// runs, and a second simulator frozen at the same instant serves the
	// same ones. The server's client paces itself on real time.
	frozen := time.Now().UTC().Truncate(time.Second)
	simCfg := func() withingssim.Config {
		return withingssim.Config{Seed: seed, Users: users, Days: days, RateLimit: -1,
			Now: func() time.Time { return frozen }}
	}
	s, err := withingssim.New(simCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()

	dir := t.TempDir()
	ctx := context.Background()
	var (
		st    *app.OpenedStore
		conns []store.Connection
		byDay []string
	)
	// The gate holds the data reads until both accounts are linked, then
	// serves them until the store holds a finished window, and holds every
	// read that comes after that until release: the server is then in the
	// middle of the backfill whatever its pace.
	gate := newReadGate(s, func() bool {
		_, windows, _, err := withingsProgress(ctx, st, conns, byDay)
		return err == nil && windows > 0
	})
	front := httptest.NewServer(gate)
	defer front.Close()
	defer gate.release()
	info := s.Info()
	apiURL, authURL := front.URL, front.URL+withingssim.PathAuthorize
	// 32 days make two windows of each collection (30 days and 2), and
	// fewer reads than the client's budget of a minute: more would only
	// make the restarted server wait for the next minute.
	env := []string{"WEARLINK_DATA=" + dir, "WEARLINK_BACKFILL_DAYS=32", "WEARLINK_OURA_MANAGE_WEBHOOKS=false",
		"WEARLINK_WITHINGS_API_URL=" + apiURL, "WEARLINK_WITHINGS_AUTH_URL=" + authURL,
		"WEARLINK_WITHINGS_CLIENT_ID=" + info.ClientID, "WEARLINK_WITHINGS_CLIENT_SECRET=" + info.ClientSecret}

	start := time.Now()
	first := startServe(t, bin, env)
	defer func() { _ = first.cmd.Process.Kill(); _ = first.cmd.Wait() }()
	defer first.logIfFailed(t, "first")
	testutil.WaitFor(t, 30*time.Second, "the server to make its database", func() bool {
		fi, err := os.Stat(filepath.Join(dir, sqlite.FileName))
		return err == nil && fi.Size() > 0
	})
	for i := 0; i < users; i++ {
		// The URLs come from the environment, as for the server; the
		// application's credentials are given as the command's flags.
		cmd := exec.Command(bin, "link", "--data", dir, "--data-source", withings.DataSource, "--create-client",
			"--client-uuid", "client-1", "--user-id", fmt.Sprintf("user-%d", i),
			"--token", info.Users[i].AccessToken, "--refresh-token", info.Users[i].RefreshToken,
			"--withings-client-id", info.ClientID, "--withings-client-secret", info.ClientSecret)
		cmd.Env = childenv.Env(env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("link: %v\n%s", err, out)
		}
		if want := fmt.Sprintf("%s user %d,", withings.Name, info.Users[i].UserID); !strings.Contains(string(out), want) {
			t.Fatalf("link output does not name %q:\n%s", want, out)
		}
	}

	st, err = app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	conns = make([]store.Connection, users)
	for i := range conns {
		if conns[i], err = st.Store.FindConnection(ctx, "client-1", fmt.Sprintf("user-%d", i), withings.DataSource); err != nil {
			t.Fatal(err)
		}
	}
	p := withingsProvider(t, apiURL, authURL)
	byDay = readByDay(p)
	progress := func() (done, windows, total int) {
		done, windows, total, err := withingsProgress(ctx, st, conns, byDay)
		if err != nil {
			t.Fatal(err)
		}
		return done, windows, total
	}
	if _, _, total := progress(); total == 0 {
		t.Fatal("linking stored no backfill plan")
	}
	gate.open()
	testutil.WaitFor(t, 3*time.Minute, "a read held once a window is stored", gate.held)
	done, windows, total := progress()
	if done > 0 || windows == 0 || windows >= total {
		t.Fatalf("the kill does not come mid-backfill (%d of %d windows, %d done)", windows, total, done)
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
	testutil.WaitFor(t, 4*time.Minute, "the backfill to finish after the restart", func() bool {
		done, _, _ := progress()
		return done == users && harness.PendingIngestJobs(t, st.SQLite) == 0
	})
	t.Logf("restarted server finished the backfill in %s (%d of %d windows were stored before the kill)",
		time.Since(restart).Round(time.Millisecond), before, total)
	if !strings.Contains(second.log(), "jobs of a stopped process taken back") {
		t.Logf("second server log:\n%s", second.log())
		t.Error("the restarted server did not take back the killed server's running jobs")
	}
	// Nothing writes once the server is stopped: what follows is final.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = second.cmd.Wait()
	for _, f := range harness.FailedIngestJobs(t, st.SQLite) {
		if strings.Contains(f, " discarded ") {
			t.Errorf("a job gave up: %s", f)
		} else {
			t.Logf("a job recorded an error and ran again: %.300s", f)
		}
	}

	// Nothing missing, nothing duplicated: the raw records are exactly what
	// a clean simulator of the same seed, frozen at the same instant,
	// serves through the provider for the plan's days, read in the user's
	// zone as the engine reads them.
	clean, err := withingssim.New(simCfg())
	if err != nil {
		t.Fatal(err)
	}
	if err := clean.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = clean.Close() }()
	ci := clean.Info()
	cp := withingsProvider(t, ci.BaseURL, ci.AuthorizeURL)
	for i := range conns {
		c, err := st.Store.GetConnection(ctx, conns[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		u, err := st.Store.GetUser(ctx, c.ClientUUID, c.UserID)
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Split(c.Cursors["backfill"], "/")
		w := provider.Window{From: plan[0], To: plan[1]}
		if u.TimeZone != "" {
			if w.Loc, err = time.LoadLocation(u.TimeZone); err != nil {
				t.Fatal(err)
			}
		}
		var clean []provider.Document
		for _, coll := range cp.Collections() {
			docs, err := cp.Fetch(ctx, provider.StaticToken(ci.Users[i].AccessToken), coll.Name, w)
			if err != nil {
				t.Fatalf("clean fetch of %s: %v", coll.Name, err)
			}
			clean = append(clean, docs...)
		}
		counts, stored := checkBackfill(t, ctx, st.Store, p, c, clean, byDay)
		t.Logf("user %d: plan %s..%s (zone %q), %d raw records %v, %d health documents",
			i, w.From, w.To, u.TimeZone, len(clean), counts, stored)
	}
}

// withingsProgress reads, through the store, how many of conns finished
// their backfill and how many (collection, window) pairs of the
// collections byDay are stored, out of how many. It may run on the
// simulator's goroutines: it reports errors instead of failing the test.
func withingsProgress(ctx context.Context, st *app.OpenedStore, conns []store.Connection, byDay []string) (done, windows, total int, err error) {
	for _, c := range conns {
		c, err := st.Store.GetConnection(ctx, c.ID)
		if err != nil {
			return 0, 0, 0, err
		}
		cur := ingest.CursorsOf(c)
		if cur.Backfilled() {
			done++
		}
		if plan := strings.Split(c.Cursors["backfill"], "/"); len(plan) == 3 {
			from, err1 := time.Parse(time.DateOnly, plan[0])
			to, err2 := time.Parse(time.DateOnly, plan[1])
			var span int
			_, err3 := fmt.Sscan(plan[2], &span)
			if err1 != nil || err2 != nil || err3 != nil || span < 1 {
				return 0, 0, 0, fmt.Errorf("backfill plan %v", plan)
			}
			n := int(to.Sub(from).Hours()/24) + 1
			total += len(byDay) * ((n + span - 1) / span)
		}
		for _, coll := range byDay {
			for _, w := range cur.Coll(coll).Windows {
				if w.Done {
					windows++
				}
			}
		}
	}
	return done, windows, total, nil
}

// readGate serves the Withings simulator and holds its data reads (the
// actions of the collections read by day): all of them until open, then
// those that arrive once stop says so, until release. The token
// endpoint, the devices and the notification calls go through.
type readGate struct {
	next http.Handler
	stop func() bool

	mu       sync.Mutex
	opened   bool
	released bool
	waited   bool
	changed  chan struct{} // closed and replaced on every change
}

func newReadGate(next http.Handler, stop func() bool) *readGate {
	return &readGate{next: next, stop: stop, changed: make(chan struct{})}
}

// isRead is a read of a collection by day.
func isRead(r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return false
	}
	a := r.Form.Get("action")
	switch r.URL.Path {
	case withingssim.PathMeasure:
		return a == "getmeas"
	case withingssim.PathMeasureV2:
		return a == "getactivity" || a == "getworkouts" || a == "getintradayactivity"
	case withingssim.PathSleepV2:
		return a == "get" || a == "getsummary"
	}
	return false
}

func (g *readGate) set(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f()
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *readGate) open()    { g.set(func() { g.opened = true }) }
func (g *readGate) release() { g.set(func() { g.released = true }) }

// held says whether a read was held once the gate was open.
func (g *readGate) held() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waited
}

func (g *readGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isRead(r) {
		g.next.ServeHTTP(w, r)
		return
	}
	for {
		g.mu.Lock()
		opened, released, ch := g.opened, g.released, g.changed
		g.mu.Unlock()
		if released {
			break
		}
		// stop turns true once and stays so: a read it lets through
		// came before the first stored window.
		if opened {
			if !g.stop() {
				break
			}
			g.mu.Lock()
			g.waited = true
			g.mu.Unlock()
		}
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// withingsProvider is Withings' provider on a simulator, with the
// normalizer the server uses and a request budget no test reaches.
func withingsProvider(t *testing.T, apiURL, authURL string) *withings.Provider {
	t.Helper()
	wc, err := withings.New(withings.ClientConfig{BaseURL: apiURL, PerMinute: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	p, err := withings.NewProvider(withings.Config{Client: wc, AuthURL: authURL, Normalizer: withingsnorm.Normalizer{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
