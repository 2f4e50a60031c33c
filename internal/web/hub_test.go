package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// hub is a wearlink process on loopback: SQLite, the built-in Oura
// simulator, and a clock the test can move forward.
type hub struct {
	t   *testing.T
	ctx context.Context
	a   *app.App
	url string
	st  store.Full
	off atomic.Int64
	// frozen, once set (UnixNano), stands in for the wall clock.
	frozen atomic.Int64
}

func (h *hub) now() time.Time {
	base := time.Now()
	if f := h.frozen.Load(); f != 0 {
		base = time.Unix(0, f)
	}
	return base.Add(time.Duration(h.off.Load()))
}
func (h *hub) advance(d time.Duration) { h.off.Add(int64(d)) }

// freeze stops the hub's clock: from now on only advance moves it, so a
// test of rates does not depend on how fast the machine runs it.
func (h *hub) freeze() { h.frozen.Store(time.Now().UnixNano()) }

func testLogger() *slog.Logger {
	if os.Getenv("WEARLINK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startHub(t *testing.T) *hub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ln.Addr().String()
	cfg.Sync.BackfillDays = 7
	cfg.AllowPrivateWebhooks = true // the tests' receivers listen on loopback
	h := &hub{t: t, ctx: ctx}
	a, err := app.New(ctx, cfg, app.Options{Logger: testLogger(), Migrate: true, Listener: ln, TestOnly: true, Now: h.now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	// config.Default() leaves every provider URL at the live provider's;
	// with no application configured the app runs both built-in
	// simulators and points every one of them there. Without them a
	// request would go out to a provider.
	if a.SimulatorURL() == "" || a.WhoopSimulatorURL() == "" {
		cancel()
		t.Fatalf("the built-in simulators do not run (Oura %q, WHOOP %q): the provider URLs are the live ones", a.SimulatorURL(), a.WhoopSimulatorURL())
	}
	if err := a.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		timer := time.NewTimer(15 * time.Second)
		defer timer.Stop()
		select {
		case <-timer.C:
			t.Error("the hub did not stop within 15 s")
		case err := <-done:
			if err != nil {
				t.Errorf("the hub stopped with %v", err)
			}
		}
	})
	h.a, h.url, h.st = a, a.URL(), a.Store().Store
	return h
}

type creds struct{ uuid, secret string }

// client registers an app with API credentials.
func (h *hub) client(name string) creds {
	h.t.Helper()
	sec, err := secret.NewAPISecret()
	if err != nil {
		h.t.Fatal(err)
	}
	c := creds{uuid: "client-" + strings.ToLower(name), secret: sec}
	if err := h.st.CreateClient(h.ctx, store.Client{UUID: c.uuid, Name: "App " + name, SecretHash: secret.HashAPISecret(sec)}); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// pageURL asks the API for a connections page link.
func (h *hub) pageURL(c creds, userID, redirect string) string {
	h.t.Helper()
	target := h.url + "/api/v1/user_id/" + userID + "/connections_page"
	if redirect != "" {
		target += "?redirect_url=" + url.QueryEscape(redirect)
	}
	req, _ := http.NewRequest("GET", target, nil)
	req.SetBasicAuth(c.uuid, c.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		h.t.Fatalf("connections_page: %d %v", resp.StatusCode, err)
	}
	if d := body.ExpiresAt.Sub(h.now()); d < 50*time.Minute || d > 61*time.Minute {
		h.t.Fatalf("expires_at %s is not about an hour away", body.ExpiresAt)
	}
	return body.URL
}

// browserClient keeps cookies and does not follow redirects.
func browserClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	body   string
	header http.Header
}

func get(t *testing.T, c *http.Client, target string) page {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func post(t *testing.T, c *http.Client, target string, form url.Values) page {
	t.Helper()
	resp, err := c.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// deadLetter stores a notification to a new, disabled endpoint of the
// client at target, which makes it a dead letter; the endpoint is enabled
// afterwards, so a replay delivers it.
func (h *hub) deadLetter(c creds, target string) int64 {
	h.t.Helper()
	ds := h.st
	ep, err := ds.CreateEndpoint(h.ctx, store.WebhookEndpoint{ClientUUID: c.uuid, Kind: store.EndpointNotification, URL: target, Secret: "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="})
	if err != nil {
		h.t.Fatal(err)
	}
	ids, err := ds.AddMessage(h.ctx, store.WebhookMessage{ClientUUID: c.uuid, UserID: "user-1", Kind: store.MessageLifecycle,
		EventType: "user.created", Body: []byte(`{"type":"user.created"}`)}, []string{ep.ID}, h.now())
	if err != nil || len(ids) != 1 {
		h.t.Fatalf("add message: %v %v", ids, err)
	}
	// A delivery to a disabled endpoint may be dead already.
	if _, err := ds.KillDelivery(h.ctx, ids[0], "the receiver kept failing", h.now()); err != nil {
		h.t.Fatal(err)
	}
	if d, err := ds.GetDelivery(h.ctx, ids[0]); err != nil || d.Status != store.DeliveryDead {
		h.t.Fatalf("delivery %d: %q %v", ids[0], d.Status, err)
	}
	if _, err := ds.SetEndpointEnabled(h.ctx, ep.ID, true, "", h.now()); err != nil {
		h.t.Fatal(err)
	}
	return ids[0]
}
