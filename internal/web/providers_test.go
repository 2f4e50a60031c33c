package web_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/web"
)

// fakeLinker is one provider's linking: its authorization URLs name it,
// and it records whom it was asked to revoke.
type fakeLinker struct {
	host    string
	mu      sync.Mutex
	revoked []string
}

func (f *fakeLinker) AuthorizationURL(_ context.Context, _, userID, _ string) (string, error) {
	return "https://" + f.host + "/authorize?user_id=" + url.QueryEscape(userID), nil
}

func (f *fakeLinker) Revoke(_ context.Context, _, userID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, userID)
	return true, nil
}

func (f *fakeLinker) revokedUsers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.revoked...)
}

// pagesOnly is the web handler alone on loopback over a migrated SQLite
// store: no sync engine, so the connections the test makes stay as made,
// whatever their data source.
type pagesOnly struct {
	ctx context.Context
	st  store.Full
	h   *web.Handler
	url string
	a   creds
}

func startPages(t *testing.T, providers []web.ProviderInfo) *pagesOnly {
	t.Helper()
	ctx := t.Context()
	opened, err := app.OpenStore(ctx, app.StoreConfig{DataDir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = opened.Close() })
	if _, err := opened.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pagesOnly{ctx: ctx, st: opened.Store, url: "http://" + ln.Addr().String()}
	p.h, err = web.New(web.Config{Store: opened.Store, Providers: providers, PublicURL: p.url, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(p.h)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	sec, err := secret.NewAPISecret()
	if err != nil {
		t.Fatal(err)
	}
	p.a = creds{uuid: "client-a", secret: sec}
	if err := p.st.CreateClient(ctx, store.Client{UUID: p.a.uuid, Name: "App A", SecretHash: secret.HashAPISecret(sec)}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pagesOnly) login(t *testing.T) *http.Client {
	t.Helper()
	b := browserClient(t)
	form := get(t, b, p.url+"/dashboard")
	if r := post(t, b, p.url+"/dashboard/login", url.Values{"csrf_token": {csrfOf(t, form)}, "client_uuid": {p.a.uuid}, "secret": {p.a.secret}}); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	return b
}

// TestPagesListEveryProvider: the connections page offers each configured
// provider in order, each with its own Connect (from its own linker) or
// Disconnect (revoking at its own linker only); the dashboard shows each
// one's connection.
func TestPagesListEveryProvider(t *testing.T) {
	ring, strap := &fakeLinker{host: "ring.example"}, &fakeLinker{host: "strap.example"}
	p := startPages(t, []web.ProviderInfo{
		{DataSource: "ring", Name: "Ring", Linker: ring},
		{DataSource: "strap", Name: "Strap", Description: "A strap on the wrist.", Linker: strap},
		{DataSource: "band", Name: "Band"},
	})
	if _, err := p.st.CreateConnection(p.ctx, store.Connection{ClientUUID: p.a.uuid, UserID: "user-1", DataSource: "strap",
		Status: store.StatusActive, Tokens: store.Tokens{AccessToken: "a", RefreshToken: "r"}, LastError: "strap was slow"}); err != nil {
		t.Fatal(err)
	}
	link, _, err := p.h.ConnectionsPageURL(p.ctx, p.a.uuid, "user-1", "")
	if err != nil {
		t.Fatal(err)
	}
	b := browserClient(t)
	pg := get(t, b, link)
	if pg.status != 200 {
		t.Fatalf("page: %d %s", pg.status, pg.body)
	}
	checkLabels(t, "connections", pg)
	for _, want := range []string{
		`id="connect-ring" href="https://ring.example/authorize?user_id=user-1"`,
		`id="disconnect-strap"`, `A strap on the wrist.`,
		`Connecting Band is not available`,
	} {
		if !strings.Contains(pg.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for _, unwanted := range []string{`id="connect-strap"`, `id="disconnect-ring"`, `id="connect-band"`, `id="disconnect-band"`, `role="alert"`} {
		if strings.Contains(pg.body, unwanted) {
			t.Errorf("the page has %s", unwanted)
		}
	}
	if r, s, bd := strings.Index(pg.body, `id="src-ring"`), strings.Index(pg.body, `id="src-strap"`), strings.Index(pg.body, `id="src-band"`); r < 0 || r > s || s > bd {
		t.Errorf("sources out of order: ring %d, strap %d, band %d", r, s, bd)
	}

	u, _ := url.Parse(link)
	action := p.url + u.Path + "/disconnect?" + u.RawQuery
	tok := csrfOf(t, pg)
	for ds, status := range map[string]int{"": 400, "nope": 400, "band": 503} {
		if r := post(t, b, action, url.Values{"csrf_token": {tok}, "data_source": {ds}}); r.status != status {
			t.Errorf("disconnect %q: %d, want %d", ds, r.status, status)
		}
	}
	if r := post(t, b, action, url.Values{"csrf_token": {tok}, "data_source": {"strap"}}); r.status != http.StatusSeeOther {
		t.Fatalf("disconnect strap: %d %s", r.status, r.body)
	}
	if got, other := strap.revokedUsers(), ring.revokedUsers(); len(got) != 1 || got[0] != "user-1" || len(other) != 0 {
		t.Fatalf("revoked at strap %v, at ring %v", got, other)
	}

	d := p.login(t)
	home := get(t, d, p.url+"/dashboard")
	if !strings.Contains(home.body, `<th scope="col">User</th><th scope="col">Ring</th><th scope="col">Strap</th><th scope="col">Band</th><th scope="col">Last sync</th>`) ||
		!strings.Contains(home.body, "<td>not connected</td><td>connected</td><td>not connected</td>") ||
		!strings.Contains(home.body, "Strap: strap was slow") {
		t.Fatalf("users: %s", home.body)
	}
	up := get(t, d, p.url+"/dashboard/users/user-1")
	if !strings.Contains(up.body, "<dt>Ring</dt><dd>not connected</dd>") || !strings.Contains(up.body, "<dt>Strap</dt><dd>connected</dd>") ||
		!strings.Contains(up.body, "<dt>Band</dt><dd>not connected</dd>") {
		t.Fatalf("user page: %s", up.body)
	}
}

// TestPagesRefuseBadProviders: a provider list with an empty or a repeated
// data source is a configuration error, not a page with two Connects.
func TestPagesRefuseBadProviders(t *testing.T) {
	for name, ps := range map[string][]web.ProviderInfo{
		"empty":    {{Name: "Ring"}},
		"repeated": {{DataSource: "ring"}, {DataSource: "ring", Name: "Ring again"}},
	} {
		if _, err := web.New(web.Config{Store: fakeStore{}, Providers: ps, PublicURL: "http://127.0.0.1:1"}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := web.New(web.Config{Store: fakeStore{}, Providers: []web.ProviderInfo{{DataSource: "ring"}}, PublicURL: "http://127.0.0.1:1"}); err != nil {
		t.Errorf("one provider without a name: %v", err)
	}
}

// fakeStore is a web.Store for building handlers that serve nothing.
type fakeStore struct{ web.Store }

// attached is an item of non_structured_data_array as normalization
// writes a provider's document.
func attached(source, collection, role string, doc string) json.RawMessage {
	m := map[string]any{"source": source, "collection": collection, "document": json.RawMessage(doc)}
	if role != "" {
		m["role"] = role
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// TestDashboardScores: the scores chart draws what the stored ROOK
// documents carry: the score of each provider document attached to a
// sleep_summary or a physical_summary, named after its collection, and
// nothing from copies attached with a role (a superseded document).
func TestDashboardScores(t *testing.T) {
	p := startPages(t, []web.ProviderInfo{{DataSource: "ring", Name: "Ring"}, {DataSource: "strap", Name: "Strap"}})
	const day = "2026-01-10"
	header := health.Header{ClientUUID: p.a.uuid, UserID: "user-1", Day: day}
	sleep := &health.SleepSummaryDocument{Header: header}
	sleep.Summary.Metadata.Datetime = ptr(day + "T07:00:00Z")
	sleep.Summary.NonStructuredData = health.NonStructuredData{
		attached("ring", "daily_sleep", "", `{"day":"`+day+`","score":81}`),
		attached("ring", "daily_readiness", "", `{"day":"`+day+`","score":77}`),
		attached("ring", "daily_sleep", "superseded", `{"day":"`+day+`","score":12}`),
		attached("ring", "sleep_time", "", `{"day":"`+day+`","status":"optimal"}`),
	}
	act := &health.PhysicalSummaryDocument{Header: header}
	act.Summary.Metadata.Datetime = ptr(day + "T23:00:00Z")
	act.Summary.NonStructuredData = health.NonStructuredData{attached("ring", "daily_activity", "", `{"day":"`+day+`","score":66}`)}
	apply := func(docs ...health.Doc) {
		t.Helper()
		var in []store.HealthInput
		for _, d := range docs {
			in = append(in, store.HealthInput{Key: day, Doc: d})
		}
		if _, err := p.st.ApplyHealthDocuments(p.ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.st.UpsertUser(p.ctx, store.User{ClientUUID: p.a.uuid, UserID: "user-1"}); err != nil {
		t.Fatal(err)
	}
	apply(sleep, act)
	d := p.login(t)
	scores := func() string {
		t.Helper()
		pg := get(t, d, p.url+"/dashboard/users/user-1?day="+day+"&period=7")
		// The scores chart is the page's last.
		i := strings.Index(pg.body, `id="scores"`)
		if pg.status != 200 || i < 0 {
			t.Fatalf("user page: %d %s", pg.status, pg.body)
		}
		return pg.body[i:]
	}
	sc := scores()
	for _, want := range []string{day + " Sleep: 81", day + " Readiness: 77", day + " Activity: 66"} {
		if !strings.Contains(sc, want) {
			t.Errorf("scores lack %q:\n%s", want, sc)
		}
	}
	if strings.Contains(sc, ": 12</title>") || strings.Contains(sc, "Sleep time") {
		t.Errorf("scores draw a superseded or a scoreless document:\n%s", sc)
	}

	// A second source's score: every series says whose it is.
	sleep.Summary.NonStructuredData = append(sleep.Summary.NonStructuredData, attached("strap", "recovery", "", `{"score":55}`))
	apply(sleep)
	sc = scores()
	for _, want := range []string{day + " Ring sleep: 81", day + " Ring readiness: 77", day + " Ring activity: 66", day + " Strap recovery: 55"} {
		if !strings.Contains(sc, want) {
			t.Errorf("scores lack %q:\n%s", want, sc)
		}
	}
}

func ptr[T any](v T) *T { return &v }
