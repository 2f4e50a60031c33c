package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// hookReceiver records the requests it gets and answers status.
type hookReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	status  int
	headers []http.Header
	bodies  [][]byte
}

func newHookReceiver(t *testing.T, status int) *hookReceiver {
	r := &hookReceiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.headers = append(r.headers, req.Header.Clone())
		r.bodies = append(r.bodies, b)
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.headers)
}

func (r *hookReceiver) request(i int) (http.Header, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.headers[i], r.bodies[i]
}

// webhooksEnv is a migrated data directory with one client and user, and
// the store open on it as a running server would hold it.
type webhooksEnv struct {
	dir string
	o   *app.OpenedStore
}

const cliClient, cliUser = "client-cli", "user-cli"

func newWebhooksEnv(t *testing.T) *webhooksEnv {
	t.Helper()
	t.Setenv(envData, "")
	t.Setenv(envDatabaseURL, "")
	t.Setenv(secret.EnvKey, "")
	t.Setenv(delivery.EnvAllowPrivate, "")
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCLI(t, "migrate", "--data", dir); err != nil {
		t.Fatal(err)
	}
	o, err := app.OpenStore(t.Context(), app.StoreConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if err := o.Store.CreateClient(t.Context(), store.Client{UUID: cliClient, Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Store.UpsertUser(t.Context(), store.User{ClientUUID: cliClient, UserID: cliUser}); err != nil {
		t.Fatal(err)
	}
	return &webhooksEnv{dir: dir, o: o}
}

func (e *webhooksEnv) run(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, append(args, "--data", e.dir)...)
	if err != nil {
		t.Fatalf("wearlink %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

var (
	idRe     = regexp.MustCompile(`(?m)^id:\s+(ep_\w+)$`)
	secretRe = regexp.MustCompile(`(?m)^secret:\s+(whsec_\S+)$`)
)

func parseAdded(t *testing.T, out string) (id, sec string) {
	t.Helper()
	m, s := idRe.FindStringSubmatch(out), secretRe.FindStringSubmatch(out)
	if m == nil || s == nil {
		t.Fatalf("no id and secret in:\n%s", out)
	}
	return m[1], s[1]
}

func TestWebhooksCommands(t *testing.T) {
	e := newWebhooksEnv(t)
	rcv := newHookReceiver(t, 200)

	// Loopback is refused unless allowed.
	_, _, err := runCLI(t, "webhooks", "add", "--data", e.dir, "--client-uuid", cliClient, "--url", rcv.URL)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("loopback URL accepted: %v", err)
	}
	_, _, err = runCLI(t, "webhooks", "add", "--data", e.dir, "--client-uuid", "nobody", "--url", rcv.URL, "--allow-private-webhooks")
	if health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("unknown client: %v", err)
	}
	t.Setenv(delivery.EnvAllowPrivate, "true")
	id, sec := parseAdded(t, e.run(t, "webhooks", "add", "--client-uuid", cliClient, "--url", rcv.URL+"/hook",
		"--data-structure", "sleep_summary,physical_summary"))
	nid, _ := parseAdded(t, e.run(t, "webhooks", "add", "--client-uuid", cliClient, "--url", rcv.URL+"/notify", "--notification"))

	list := e.run(t, "webhooks", "list")
	for _, want := range []string{id, nid, rcv.URL + "/hook", "physical_summary,sleep_summary", "notification"} {
		if !strings.Contains(list, want) {
			t.Fatalf("list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, sec) || strings.Contains(list, "whsec_") {
		t.Fatalf("list shows a secret:\n%s", list)
	}

	// rotate-secret: a new secret, and both sign during the grace period.
	_, sec2 := parseAdded(t, e.run(t, "webhooks", "rotate-secret", id))
	if sec2 == sec {
		t.Fatal("rotation kept the secret")
	}
	if out := e.run(t, "webhooks", "test", id); !strings.Contains(out, "status:     200") {
		t.Fatalf("test output:\n%s", out)
	}
	h, body := rcv.request(0)
	for _, s := range []string{sec, sec2} {
		wh, _ := standardwebhooks.NewWebhook(s)
		if err := wh.Verify(body, h); err != nil {
			t.Fatalf("test event with %s: %v", s[:10], err)
		}
	}
	if !strings.Contains(string(body), `"type":"webhook.test"`) {
		t.Fatalf("test body %s", body)
	}

	if out := e.run(t, "webhooks", "disable", id); !strings.Contains(out, id+" disabled") {
		t.Fatalf("disable: %s", out)
	}
	if list := e.run(t, "webhooks", "list", "--client-uuid", cliClient); !strings.Contains(list, "false") || !strings.Contains(list, "disabled by request") {
		t.Fatalf("after disable:\n%s", list)
	}
	e.run(t, "webhooks", "enable", id)

	// A failing test exits with an error.
	rcv.mu.Lock()
	rcv.status = 500
	rcv.mu.Unlock()
	if _, _, err := runCLI(t, "webhooks", "test", id, "--data", e.dir); err == nil {
		t.Fatal("a 500 passed the test")
	}

	e.run(t, "webhooks", "remove", nid)
	if list := e.run(t, "webhooks", "list"); strings.Contains(list, nid) {
		t.Fatalf("removed endpoint listed:\n%s", list)
	}
}

// webhooks add works while a server runs on the same database, and the
// server delivers to the new endpoint.
func TestWebhooksAddWhileServing(t *testing.T) {
	e := newWebhooksEnv(t)
	rcv := newHookReceiver(t, 200)

	ds := e.o.Store
	svc, err := delivery.New(delivery.Config{Store: ds, AllowPrivate: true, FanoutInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w := river.NewWorkers()
	setup := svc.Register(w)
	rc, err := river.NewClient(riversqlite.New(e.o.SQLite), &river.Config{Workers: w, Queues: setup.Queues,
		PeriodicJobs: setup.PeriodicJobs, Logger: slog.New(slog.DiscardHandler), TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	svc.Attach(rc)
	if err := rc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rc.Stop(ctx)
	}()

	_, sec := parseAdded(t, e.run(t, "webhooks", "add", "--client-uuid", cliClient, "--url", rcv.URL, "--allow-private-webhooks"))
	doc := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: cliClient, UserID: cliUser, Day: "2024-05-01"}}
	if _, err := e.o.Store.ApplyHealthDocuments(t.Context(), []store.HealthInput{{Key: "n", Doc: doc}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for rcv.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server delivered nothing to the endpoint added meanwhile")
		}
		time.Sleep(20 * time.Millisecond)
	}
	h, body := rcv.request(0)
	wh, _ := standardwebhooks.NewWebhook(sec)
	if err := wh.Verify(body, h); err != nil {
		t.Fatal(err)
	}
}
