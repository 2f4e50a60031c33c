package httpapi

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/erase"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

// env is one wearlink API server on a real SQLite store, linked to a
// simulated Oura: the sync engine runs its River jobs, linking goes through
// the simulator's OAuth.
type env struct {
	t      *testing.T
	ctx    context.Context
	st     *sqlite.Store
	sim    *ourasim.Server
	simURL string
	eng    *ingest.Engine
	link   *link.Service
	api    *API
	srv    *httptest.Server
	url    string
	clock  *testutil.OffsetClock
	events *linkEvents
	oura   *oura.Client
	// dsvc is the delivery service of envOptions.webhooks.
	dsvc *delivery.Service
	// erase erases users; tests run its jobs with erase.Run.
	erase      *erase.Service
	eraseTrace *eraseTrace
}

type envOptions struct {
	// workers runs the sync jobs (needed to backfill).
	workers      bool
	backfillDays int
	rateLimit    RateLimit
	maxBody      int64
	resender     Resender
	resyncer     Resyncer
	// webhooks serves the webhook and delivery routes with a delivery
	// service on the env's store that may post to private addresses.
	webhooks bool
	noLinker bool
	// authCacheTTL 0 reads the store on every request.
	authCacheTTL time.Duration
}

func quietLogger() *slog.Logger {
	if os.Getenv("WEARLINK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := quietLogger()
	clock := &testutil.OffsetClock{}

	sim, err := ourasim.New(ourasim.Config{Seed: 11, Users: 2, RevealInterval: -1, WebhookRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	simHTTP := httptest.NewServer(sim)
	t.Cleanup(func() { simHTTP.Close(); sim.Close() })

	st := harness.SQLite(t, harness.StoreOptions{Logger: logger})

	// The API's own server: its URL must be known before linking is built.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()

	oc, err := oura.New(oura.Config{BaseURL: simHTTP.URL, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		MaxRetryAfter: 200 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	// The engine and the OAuth flow run on the simulator's clock: the
	// flow computes the token expiries the engine compares with it.
	simNow := sim.Clock().Now
	oauth, err := oura.NewOAuth(oura.OAuthConfig{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		RedirectURL: base + link.CallbackPath("oura"),
		AuthURL:     simHTTP.URL + "/oauth/authorize", TokenURL: simHTTP.URL + "/oauth/token", RevokeURL: simHTTP.URL + "/oauth/revoke", Now: simNow})
	if err != nil {
		t.Fatal(err)
	}
	if o.backfillDays == 0 {
		o.backfillDays = 5
	}
	built, err := all.Registry(all.Config{Oura: &all.OuraConfig{Client: oc, OAuth: oauth, ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		Now: simNow}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := ingest.New(ingest.Config{Store: st, Providers: built.Registry, Refreshers: built.Refreshers,
		Logger: logger, Now: simNow, BackfillDays: o.backfillDays})
	if err != nil {
		t.Fatal(err)
	}
	harness.Jobs(t, st, jobs.Config{Services: []jobs.Registrar{eng.Jobs(ingest.JobOptions{})},
		Work: o.workers, FetchPollInterval: 100 * time.Millisecond},
		func(c *river.Client[*sql.Tx]) { eng.Attach(c) })

	ev := &linkEvents{}
	ls, err := link.New(link.Config{DataSource: "oura", Name: "Oura", RequiredScopes: []string{"daily"}, Store: st, OAuth: oauth, Sync: eng, Events: ev, PublicURL: base, Logger: logger, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	linkers := map[string]Linker{"oura": ls}
	if o.noLinker {
		linkers = nil
	}
	cfg := Config{Store: st, Sources: SourcesOf(eng.Providers(), linkers), Logger: logger, Now: clock.Now, RateLimit: o.rateLimit, MaxBody: o.maxBody,
		Resender: o.resender, Resyncer: o.resyncer, Events: ev, AuthCacheTTL: -1}
	if o.authCacheTTL > 0 {
		cfg.AuthCacheTTL = o.authCacheTTL
	}
	var dsvc *delivery.Service
	if o.webhooks {
		if dsvc, err = delivery.New(delivery.Config{Store: st, Logger: logger, Now: clock.Now, AllowPrivate: true, Jitter: -1,
			Timeout: 2 * time.Second}); err != nil {
			t.Fatal(err)
		}
		cfg.Webhooks, cfg.Destinations = dsvc, dsvc
	}
	trace := &eraseTrace{}
	esvc, err := erase.New(erase.Config{Store: st, Events: trace, BatchSize: 2, Logger: logger, Now: clock.Now,
		Revokers: map[string]erase.Revoker{"oura": trace.revoke}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Eraser = esvc
	api, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = api
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{t: t, ctx: ctx, st: st, sim: sim, simURL: simHTTP.URL, eng: eng, link: ls, api: api, srv: srv, url: base,
		clock: clock, events: ev, oura: oc, dsvc: dsvc, erase: esvc, eraseTrace: trace}
}

// linkEvents records the lifecycle events of linking.
type linkEvents struct {
	mu     gosync.Mutex
	events []string
}

func (l *linkEvents) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, s)
}

func (l *linkEvents) UserCreated(_ context.Context, clientUUID, userID string) error {
	l.add("user:" + clientUUID + "/" + userID)
	return nil
}

func (l *linkEvents) DataSourceLinked(_ context.Context, c store.Connection) error {
	l.add("linked:" + c.ClientUUID + "/" + c.UserID)
	return nil
}

func (l *linkEvents) LinkFailed(_ context.Context, clientUUID, userID, _, reason, _ string) error {
	l.add("failed:" + clientUUID + "/" + userID + ":" + reason)
	return nil
}

func (l *linkEvents) DataSourceUnlinked(_ context.Context, c store.Connection, by string) error {
	l.add("unlinked:" + c.ClientUUID + "/" + c.UserID + ":" + by)
	return nil
}

func (l *linkEvents) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// creds are a client's Basic credentials.
type creds struct{ uuid, secret string }

// newClient creates an API client in the store.
func (e *env) newClient(name string) creds {
	e.t.Helper()
	sec, err := secret.NewAPISecret()
	if err != nil {
		e.t.Fatal(err)
	}
	uuid := fmt.Sprintf("%08x-0000-4000-8000-%012x", len(name), time.Now().UnixNano()&0xffffffffffff)
	if err := e.st.CreateClient(e.ctx, store.Client{UUID: uuid, Name: name, SecretHash: secret.HashAPISecret(sec)}); err != nil {
		e.t.Fatal(err)
	}
	return creds{uuid, sec}
}

// resp is a response read whole.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return m
}

// do sends a request to the API with optional credentials.
func (e *env) do(c *creds, method, target, body string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.url+target, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c != nil {
		req.SetBasicAuth(c.uuid, c.secret)
	}
	r := e.send(req)
	checkResponse(e.t, method, target, r)
	return r
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

// browser is a cookie-keeping client that does not follow redirects, so a
// test can see each hop of the OAuth flow.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// hop is one browser request.
func hop(t *testing.T, b *http.Client, target string, header http.Header) resp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, body}
}

// authorizationURL asks the authorizer route for the URL that starts
// linking.
func (e *env) authorizationURL(c creds, userID, redirect string) string {
	e.t.Helper()
	target := "/api/v1/user_id/" + userID + "/data_source/Oura/authorizer"
	if redirect != "" {
		target += "?redirect_url=" + url.QueryEscape(redirect)
	}
	r := e.do(&c, "GET", target, "")
	if r.status != 200 {
		e.t.Fatalf("authorizer: %d %s", r.status, r.body)
	}
	m := r.json(e.t)
	u, _ := m["authorization_url"].(string)
	if u == "" {
		e.t.Fatalf("authorizer gave no authorization_url: %s", r.body)
	}
	return u
}

// linkAs runs the browser's side of linking: the authorization URL, the
// simulator's consent as simulated user simUser, and the callback. It
// returns the callback's response and URL.
func (e *env) linkAs(b *http.Client, authURL string, simUser int, extra url.Values) (resp, string) {
	e.t.Helper()
	r := hop(e.t, b, authURL, nil)
	if r.status != http.StatusFound {
		e.t.Fatalf("connect: %d %s", r.status, r.body)
	}
	toOura := r.header.Get("Location")
	if !strings.HasPrefix(toOura, e.simURL+"/oauth/authorize?") {
		e.t.Fatalf("connect redirects to %s, not the simulator's authorize page", toOura)
	}
	if extra != nil {
		u, _ := url.Parse(toOura)
		q := u.Query()
		for k, v := range extra {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		toOura = u.String()
	}
	r = hop(e.t, b, toOura, http.Header{ourasim.HeaderAuthorizeUser: {fmt.Sprint(simUser)}})
	if r.status != http.StatusFound {
		e.t.Fatalf("simulator authorize: %d %s", r.status, r.body)
	}
	back := r.header.Get("Location")
	if !strings.HasPrefix(back, e.url+link.CallbackPath("oura")+"?") {
		e.t.Fatalf("simulator sends the browser to %s, not the callback", back)
	}
	return hop(e.t, b, back, nil), back
}

// waitBackfill waits until the connection's backfill has finished.
func (e *env) waitBackfill(clientUUID, userID string, timeout time.Duration) store.Connection {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := e.st.FindConnection(e.ctx, clientUUID, userID, "oura")
		if err != nil {
			e.t.Fatal(err)
		}
		if c.Cursors["backfill_done"] != "" {
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("backfill of %s not done after %v; cursors %v", userID, timeout, c.Cursors)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// snapshot is what a request may change in the store, to check that a
// rejected request changed nothing.
func (e *env) snapshot(clientUUIDs ...string) string {
	e.t.Helper()
	var b bytes.Buffer
	for _, c := range clientUUIDs {
		users, err := e.st.ListUsers(e.ctx, c, 0, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, u := range users {
			fmt.Fprintf(&b, "user %s/%s tz=%q info=%s updated=%v\n", u.ClientUUID, u.UserID, u.TimeZone, u.Info, u.UpdatedAt.UnixMicro())
			conn, err := e.st.FindConnection(e.ctx, c, u.UserID, "oura")
			if err == nil {
				fmt.Fprintf(&b, "  conn %d %s %q access=%t updated=%v\n", conn.ID, conn.Status, conn.LastError, conn.Tokens.AccessToken != "", conn.UpdatedAt.UnixMicro())
			}
		}
		docs, err := e.st.CountHealthDocuments(e.ctx, c)
		if err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "docs %s %v\n", c, docs)
	}
	var states int
	if err := e.st.Reader().QueryRowContext(e.ctx, `SELECT count(*) FROM link_states`).Scan(&states); err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(&b, "link states %d\n", states)
	return b.String()
}
