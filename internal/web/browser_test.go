package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
)

// The browser tests drive a headless Chromium (the Debian package) through
// the pages. WEARLINK_CHROMIUM names the browser (default
// /usr/bin/chromium); without one they are skipped, unless
// WEARLINK_CHROMIUM was set. Screenshots go to WEARLINK_ARTIFACTS when set.

func chromiumPath(t *testing.T) string {
	p := os.Getenv("WEARLINK_CHROMIUM")
	if p != "" {
		// Named on purpose (CI does): a missing browser is a failure.
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("WEARLINK_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	p = "/usr/bin/chromium"
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no Chromium at %s (install the chromium package, or set WEARLINK_CHROMIUM): browser tests skipped", p)
	}
	return p
}

func artifactsDir(t *testing.T) string {
	if d := os.Getenv("WEARLINK_ARTIFACTS"); d != "" {
		d = filepath.Join(d, t.Name())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// newBrowser starts Chromium headless and returns a tab's context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	// The first call's context bounds the browser's life.
	ctx, cancelC := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

type shooter struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// shot saves a full-page screenshot (PNG: quality 100).
func (s shooter) shot(name string) {
	s.t.Helper()
	b, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(s.dir, name+".png")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot: %s", p)
}

// do runs the steps, failing with where the browser is and what it shows.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, body)
	}
}

func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const approve = `//button[starts-with(normalize-space(.), "Approve as user 0")]`

// TestBrowserConnectAndDashboard: a client gets a connections page link
// from the API; the person connects Oura through the simulator's consent
// page and comes back to "Connected"; the operator signs in to the
// dashboard and sees the night's hypnogram and heart rate drawn; the
// person disconnects; a changed link gives 403.
func TestBrowserConnectAndDashboard(t *testing.T) {
	ctx := newBrowser(t)
	h := startHub(t)
	a := h.client("A")
	link := h.pageURL(a, "user-1", "http://127.0.0.1:9/app/linked")
	s := shooter{t: t, ctx: ctx, dir: artifactsDir(t)}
	// Oura's row: the page lists every provider, and WHOOP's stays "not
	// connected" throughout, so a bare status would match before a
	// navigation ends.
	notConnected, connected := chromedp.CSS(`[data-source="oura"] [data-status="not-connected"]`), chromedp.CSS(`[data-source="oura"] [data-status="connected"]`)

	do(t, ctx, "open the connections page", chromedp.Navigate(link), chromedp.WaitVisible(notConnected))
	s.shot("01-connections-not-connected")

	// Keyboard only: the first Tab reaches the skip link, the second the
	// Connect button, each drawn with a visible focus outline; Enter
	// follows it.
	focused := func() map[string]string {
		return value(t, ctx, chromedp.Evaluate[map[string]string](`({id: document.activeElement.id, class: document.activeElement.className,
			outline: getComputedStyle(document.activeElement).outlineStyle})`))
	}
	do(t, ctx, "tab to the skip link", chromedp.KeyEvent("\t"))
	if f := focused(); f["class"] != "skip" || f["outline"] == "none" {
		t.Fatalf("first Tab: %v", f)
	}
	do(t, ctx, "tab to Connect", chromedp.KeyEvent("\t"))
	if f := focused(); f["id"] != "connect-oura" || f["outline"] == "none" {
		t.Fatalf("second Tab: %v", f)
	}
	s.shot("01b-connect-focused")
	do(t, ctx, "Enter on Connect", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.Search(approve)))
	s.shot("02-oura-consent")
	do(t, ctx, "approve at the simulator", chromedp.Click(chromedp.Search(approve)), chromedp.WaitVisible(connected))
	loc := value(t, ctx, chromedp.Location())
	if u, _ := url.Parse(link); !strings.HasPrefix(loc, h.url+u.Path+"?") {
		t.Fatalf("back at %s, want the connections page", loc)
	}
	s.shot("03-connections-connected")

	testutil.WaitFor(t, 5*time.Minute, "the backfilled nights", func() bool {
		c, err := h.st.FindConnection(h.ctx, a.uuid, "user-1", "oura")
		if err != nil || c.Cursors["backfill_done"] == "" {
			return false
		}
		docs, err := h.st.GetHealthDocuments(h.ctx, store.HealthQuery{ClientUUID: a.uuid, UserID: "user-1", DataStructure: health.SleepSummary})
		return err == nil && len(docs) > 0
	})

	userLink := chromedp.CSS(`a[href="/dashboard/users/user-1"]`)
	do(t, ctx, "sign in to the dashboard", chromedp.Navigate(h.url+"/dashboard"),
		chromedp.WaitVisible(chromedp.ID("client_uuid")),
		chromedp.SendKeys(chromedp.ID("client_uuid"), a.uuid),
		chromedp.SendKeys(chromedp.ID("secret"), a.secret),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(userLink))
	s.shot("04-dashboard-users")
	do(t, ctx, "open the user", chromedp.Click(userLink), chromedp.WaitVisible(chromedp.CSS(`svg#hypnogram`)))
	counts := value(t, ctx, chromedp.Evaluate[map[string]any](`(() => {
		const points = sel => { const p = document.querySelector(sel); return p ? p.getAttribute('d').split('L').length - 1 : 0 };
		return {
			phases: document.querySelectorAll('svg#hypnogram rect.phase').length,
			hr: points('svg#heart-rate path.line'),
			hrv: points('svg#hrv path.line'),
			steps: document.querySelectorAll('svg#steps rect.bar').length,
			scores: document.querySelectorAll('svg#scores circle.dot').length,
			label: document.querySelector('svg#hypnogram').getAttribute('aria-label'),
			title: document.querySelector('svg#heart-rate title').textContent,
		};
	})()`))
	t.Logf("charts: %v", counts)
	for _, k := range []string{"phases", "hr", "hrv", "steps", "scores"} {
		if n, _ := counts[k].(float64); n == 0 {
			t.Errorf("chart %s has nothing drawn: %v", k, counts)
		}
	}
	if l, _ := counts["label"].(string); !strings.Contains(l, "deep") {
		t.Errorf("hypnogram label %q", l)
	}
	s.shot("05-dashboard-user-night")

	do(t, ctx, "30 days", chromedp.SetValue(chromedp.ID("period"), "30"), chromedp.Click(chromedp.CSS(`form.inline button[type=submit]`)),
		chromedp.WaitReady(chromedp.CSS(`#period option[value="30"][selected]`)), chromedp.WaitVisible(chromedp.CSS(`svg#steps`)))
	if loc := value(t, ctx, chromedp.Location()); !strings.Contains(loc, "period=30") {
		t.Fatalf("after choosing 30 days: %s", loc)
	}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer recv.Close()
	dead := h.deadLetter(a, recv.URL)
	dest, err := h.a.Delivery().AddDestination(h.ctx, delivery.DestinationInput{ClientUUID: a.uuid, Kind: "kafka", Paused: true,
		Settings: json.RawMessage(`{"brokers":["127.0.0.1:9"],"topic":"health-docs","sasl":{"mechanism":"SCRAM-SHA-256","username":"lake","password":"kafka-browser-secret"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	replay := chromedp.CSS(fmt.Sprintf(`button[aria-label="Replay delivery %d"]`, dead))
	do(t, ctx, "deliveries", chromedp.Click(chromedp.CSS(`a[href="/dashboard/deliveries"]`)), chromedp.WaitVisible(replay),
		chromedp.WaitVisible(chromedp.CSS(`table[aria-labelledby="targets"]`)))
	targets := value(t, ctx, chromedp.Text(chromedp.CSS(`table[aria-labelledby="targets"]`)))
	if !strings.Contains(targets, dest.ID) || !strings.Contains(targets, "kafka topic health-docs") || !strings.Contains(targets, "paused") ||
		strings.Contains(targets, "kafka-browser-secret") {
		t.Fatalf("endpoints and destinations as shown:\n%s", targets)
	}
	s.shot("06-dashboard-deliveries-dead-letter")
	do(t, ctx, "replay", chromedp.Click(replay), chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	s.shot("07-dashboard-deliveries-replayed")

	do(t, ctx, "phone-sized connections page", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(link), chromedp.WaitVisible(connected))
	if value(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)) {
		t.Fatal("the connections page is wider than a phone's screen")
	}
	s.shot("08-connections-phone")
	do(t, ctx, "desktop again", chromedp.EmulateViewport(1280, 900))

	do(t, ctx, "disconnect", chromedp.Click(chromedp.ID("disconnect-oura")), chromedp.WaitVisible(notConnected))
	s.shot("09-connections-disconnected")
	c, err := h.st.FindConnection(h.ctx, a.uuid, "user-1", "oura")
	if err != nil || c.Status != store.StatusRevoked {
		t.Fatalf("after Disconnect: %q %v", c.Status, err)
	}

	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(strings.Replace(link, "user-1", "user-2", 1)))
	if err != nil {
		t.Fatal(err)
	}
	body := value(t, ctx, chromedp.Text(chromedp.CSS("main")))
	if resp.Status != 403 || !strings.Contains(body, "This link is not valid") {
		t.Fatalf("tampered link: %d %s", resp.Status, body)
	}
	s.shot("10-tampered-link-403")
}
