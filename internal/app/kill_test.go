package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/cli"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil/childenv"
	"github.com/wearlink/wearlink/internal/testutil/loopback"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary built for the tests.
func TestMain(m *testing.M) {
	loopback.Guard()
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// binary builds cmd/wearlink once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wearlink-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "wearlink")
		cmd := exec.Command("go", "build", "-o", binPath, "../../cmd/wearlink")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// serveProc is a `wearlink serve` child process. Its environment is
// childenv.Env's: the in-process resolver guard does not hold in a child,
// so every provider URL the test does not set is a closed loopback port.
type serveProc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	mu   *sync.Mutex
}

func startServe(t *testing.T, bin string, env []string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--log-level", "info")
	cmd.Env = childenv.Env(env...)
	p := &serveProc{cmd: cmd, logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	return p
}

// logIfFailed logs what the process wrote once the test has failed:
// deferred, it shows the server's side of a wait that timed out.
func (p *serveProc) logIfFailed(t *testing.T, name string) {
	if t.Failed() {
		t.Logf("%s server log:\n%s", name, p.log())
	}
}

func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// TestKillMidBackfill runs the real binary, kills it with SIGKILL in the
// middle of a backfill, starts it again, and checks that the backfill
// finishes with nothing missing and nothing duplicated.
func TestKillMidBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := binary(t)
	const seed, users = 21, 2
	// Latency stretches the backfill to a few seconds, so there is a middle
	// to kill it in.
	sim, err := ourasim.New(ourasim.Config{Seed: seed, Users: users, RevealInterval: -1, Faults: ourasim.Faults{Latency: 15 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	defer func() { hs.Close(); sim.Close() }()
	dir := t.TempDir()
	env := []string{"WEARLINK_DATA=" + dir, "WEARLINK_OURA_API_URL=" + hs.URL, "WEARLINK_BACKFILL_DAYS=60", "WEARLINK_OURA_MANAGE_WEBHOOKS=false"}

	first := startServe(t, bin, env)
	defer func() { _ = first.cmd.Process.Kill(); _ = first.cmd.Wait() }()
	// Link once the server has made the database: a second process
	// starting in the instant between the first one's key file and its
	// database's first page sees a key beside an empty database, which the
	// start check takes for lost data.
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if fi, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil && fi.Size() > 0 {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the server made no database\n%s", first.log())
		}
	}
	for i := 0; i < users; i++ {
		tok := sim.Tokens()[i]
		cmd := exec.Command(bin, "link", "--data", dir, "--oura-api-url", hs.URL, "--backfill-days", "60", "--create-client",
			"--client-uuid", "client-1", "--user-id", fmt.Sprintf("user-%d", i), "--token", tok.AccessToken, "--time-zone", tok.TimeZone)
		cmd.Env = childenv.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("link: %v\n%s", err, out)
		}
	}

	ctx := context.Background()
	st, err := app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	progress := func() (done, windows int) {
		for id := int64(1); id <= users; id++ {
			c, err := st.Store.GetConnection(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Cursors["backfill_done"] != "" {
				done++
			}
			for k, v := range c.Cursors {
				if strings.HasPrefix(k, "bf:") && v == "done" {
					windows++
				}
			}
		}
		return done, windows
	}
	// 2 users x the collections read by day x 2 windows: kill once about
	// 20 windows, a third or less, are stored.
	total := users * len(ouraByDay(t)) * 2
	deadline := time.Now().Add(2 * time.Minute)
	for {
		done, windows := progress()
		if done > 0 {
			t.Fatalf("a backfill finished before the kill (%d windows); slow the simulator down", windows)
		}
		if windows >= 20 {
			t.Logf("killing the server with %d of %d windows stored", windows, total)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill did not progress: %d windows\n%s", windows, first.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	_, before := progress()

	second := startServe(t, bin, env)
	defer func() {
		_ = second.cmd.Process.Signal(syscall.SIGTERM)
		_ = second.cmd.Wait()
	}()
	deadline = time.Now().Add(5 * time.Minute)
	for {
		if done, _ := progress(); done == users {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill did not finish after the restart\n%s", second.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("restarted server finished the backfill (%d windows were stored before the kill)", before)
	if !strings.Contains(second.log(), "jobs of a stopped process taken back") {
		t.Logf("second server log:\n%s", second.log())
		t.Error("the restarted server did not take back the killed server's running jobs")
	}

	// Nothing missing, nothing duplicated: the raw documents are exactly the
	// simulator's, and the health documents exactly what `wearlink
	// normalize` makes of them.
	clean, err := ourasim.New(ourasim.Config{Seed: seed, Users: users, RevealInterval: -1, Clock: ourasim.NewClock(sim.Clock().Now(), 0, nil)})
	if err != nil {
		t.Fatal(err)
	}
	chs := httptest.NewServer(clean)
	defer func() { chs.Close(); clean.Close() }()
	oc, _ := oura.New(oura.Config{BaseURL: chs.URL})
	for i := 0; i < users; i++ {
		c, _ := st.Store.GetConnection(ctx, int64(i+1))
		plan := strings.Split(c.Cursors["backfill"], "/")
		tok := clean.Tokens()[i]
		loc, _ := time.LoadLocation(tok.TimeZone)
		u := oc.User(oura.StaticToken(tok.AccessToken))
		want := map[string][32]byte{}
		for _, coll := range oura.Collections() {
			docs, err := u.Days(ctx, coll.Name, oura.Date(plan[0]), oura.Date(plan[1]), loc)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				want[coll.Name+"/"+d.ID] = sha256.Sum256(d.Raw)
			}
		}
		raws, err := st.Store.RawDocuments(ctx, c.ID, nil, "", "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][32]byte{}
		for _, r := range raws {
			k := r.Collection + "/" + r.ExternalID
			if _, dup := got[k]; dup {
				t.Errorf("user %d: %s stored twice", i, k)
			}
			got[k] = sha256.Sum256(r.Body)
		}
		bad := 0
		for k, h := range want {
			if got[k] != h {
				bad++
			}
		}
		if bad > 0 || len(got) != len(want) {
			t.Errorf("user %d: %d raw documents expected, %d stored, %d missing or different", i, len(want), len(got), bad)
		}
		off := offlineNormalize(t, ctx, st.Store, c, tok.TimeZone)
		hd, err := st.Store.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: c.ClientUUID, UserID: c.UserID})
		if err != nil {
			t.Fatal(err)
		}
		var stored []string
		for _, d := range hd {
			stored = append(stored, canonical(t, d.Body))
		}
		sort.Strings(stored)
		if strings.Join(off, "\n") != strings.Join(stored, "\n") {
			t.Errorf("user %d: %d health documents stored, %d from offline normalization\n%s", i, len(stored), len(off), docDiff(stored, off))
		}
		t.Logf("user %d: %d raw documents, %d health documents", i, len(got), len(stored))
	}
}

// offlineNormalize runs `wearlink normalize` over a connection's raw
// documents with the engine's rule for the as-of day.
func offlineNormalize(t *testing.T, ctx context.Context, st store.Store, c store.Connection, tz string) []string {
	t.Helper()
	raws, err := st.RawDocuments(ctx, c.ID, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation(tz)
	var newest time.Time
	by := map[string][]json.RawMessage{}
	for _, r := range raws {
		by[r.Collection] = append(by[r.Collection], r.Body)
		if r.Day == "" && r.UpdatedAt.After(newest) {
			newest = r.UpdatedAt
		}
	}
	dir := t.TempDir()
	for coll, docs := range by {
		b, _ := json.Marshal(docs)
		if err := os.WriteFile(filepath.Join(dir, coll+".json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	args := []string{"normalize", "--client-uuid", c.ClientUUID, "--user-id", c.UserID, "--time-zone", tz, "--as-of", newest.In(loc).Format(time.DateOnly), dir}
	if code := cli.Main(ctx, args, &out, &errb); code != 0 {
		t.Fatalf("normalize: %s", errb.String())
	}
	var docs []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		docs = append(docs, canonical(t, []byte(line)))
	}
	sort.Strings(docs)
	return docs
}

// docDiff lists, shortened, the documents only one of two sorted lists has.
func docDiff(stored, offline []string) string {
	in := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, d := range list {
			m[d] = true
		}
		return m
	}
	inStored, inOffline := in(stored), in(offline)
	var b strings.Builder
	show := func(label string, list []string, other map[string]bool) {
		n := 0
		for _, d := range list {
			if other[d] {
				continue
			}
			if n++; n <= 5 {
				if len(d) > 400 {
					d = d[:400] + "..."
				}
				fmt.Fprintf(&b, "%s: %s\n", label, d)
			}
		}
		if n > 5 {
			fmt.Fprintf(&b, "%s: %d more\n", label, n-5)
		}
	}
	show("only stored", stored, inOffline)
	show("only offline", offline, inStored)
	return b.String()
}

// canonical drops document_version (it counts writes) and sorts keys.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	delete(v, "document_version")
	for _, x := range v {
		if m, ok := x.(map[string]any); ok {
			delete(m, "document_version")
		}
	}
	out, _ := json.Marshal(v)
	return string(out)
}
