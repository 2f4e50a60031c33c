package providertest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/httpapi"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oauthkit"
	"github.com/wearlink/wearlink/internal/provider/providertest"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

// receiver is the app's webhook endpoint: it keeps every body it gets.
type receiver struct {
	mu     sync.Mutex
	bodies []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, string(b))
	r.mu.Unlock()
}

// has reports whether a sleep summary of the given length arrived.
func (r *receiver) has(seconds string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bodies {
		if strings.Contains(b, `"sleep_duration_seconds_int":`+seconds) && strings.Contains(b, "FakeBand") {
			return true
		}
	}
	return false
}

// TestFakeBandEndToEnd: a provider written only for tests, registered
// here and nowhere else, goes the whole way through the generic parts:
// linked through the real OAuth flow (the API's authorizer, the browser's
// redirects, the code exchange), backfilled, notified, normalized,
// delivered to the app's webhook and served by the REST API.
func TestFakeBandEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format(time.DateOnly) }

	cloud := providertest.NewServer()
	defer cloud.Close()
	cloud.AddNap(providertest.Nap{ID: "n1", Day: day(-2), Minutes: 30})
	cloud.AddNap(providertest.Nap{ID: "n2", Day: day(-1), Minutes: 45})

	st := harness.SQLite(t, harness.StoreOptions{})

	// The one line a provider adds to the registry.
	fb := providertest.NewProvider(cloud.URL(), cloud.ClientSecret)
	reg, err := provider.NewRegistry(fb)
	if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	flow, err := oauthkit.New(oauthkit.Config{OAuth: fb.Info().OAuth, ClientID: cloud.ClientID, ClientSecret: cloud.ClientSecret,
		RedirectURL: base + link.CallbackPath(providertest.DataSource)})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := ingest.New(ingest.Config{Store: st, Providers: reg, Refreshers: map[string]provider.Refresher{providertest.DataSource: flow},
		BackfillDays: 5, SingleWriter: true, FetchSettle: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dsvc, err := delivery.New(delivery.Config{Store: st, SourceName: reg.Name, AllowPrivate: true, Jitter: -1, FanoutInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	harness.Jobs(t, st, jobs.Config{Work: true, FetchPollInterval: 100 * time.Millisecond,
		Services: []jobs.Registrar{
			eng.Jobs(ingest.JobOptions{}),
			func(w *river.Workers) jobs.Setup {
				rs := dsvc.Register(w)
				return jobs.Setup{Queues: rs.Queues, PeriodicJobs: rs.PeriodicJobs}
			},
		}}, func(c *river.Client[*sql.Tx]) { eng.Attach(c); dsvc.Attach(c) })
	ls, err := link.New(link.Config{DataSource: providertest.DataSource, Name: fb.Info().Name, Store: st, OAuth: flow, Sync: eng,
		Events: dsvc, PublicURL: base, RequiredScopes: fb.Info().OAuth.RequiredScopes})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Store: st, Sources: httpapi.SourcesOf(reg, map[string]httpapi.Linker{providertest.DataSource: ls}),
		Notifications: eng, Webhooks: dsvc, PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = api
	srv.Start()
	defer srv.Close()

	const client, user = "fb-client", "sleeper-1"
	sec, err := secret.NewAPISecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClient(ctx, store.Client{UUID: client, Name: "app", SecretHash: secret.HashAPISecret(sec)}); err != nil {
		t.Fatal(err)
	}
	recv := &receiver{}
	app := httptest.NewServer(recv)
	defer app.Close()
	if _, err := dsvc.AddEndpoint(ctx, delivery.EndpointInput{ClientUUID: client, URL: app.URL}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		req.SetBasicAuth(client, sec)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Linking: the app asks for the URL; the person's browser follows it
	// to FakeBand's consent and back.
	code, body := get("/api/v1/user_id/" + user + "/data_source/FakeBand/authorizer")
	var az struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	if err := json.Unmarshal([]byte(body), &az); code != 200 || err != nil || !strings.HasPrefix(az.AuthorizationURL, base+"/connect/fakeband?") {
		t.Fatalf("authorizer: %d %s", code, body)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: time.Minute}
	resp, err := browser.Get(az.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Your FakeBand account is connected") {
		t.Fatalf("linking ended with %d: %s", resp.StatusCode, page)
	}
	conn, err := st.FindConnection(ctx, client, user, providertest.DataSource)
	if err != nil || conn.ExternalUserID != cloud.UserID || conn.Status != store.StatusActive {
		t.Fatalf("connection %+v %v", conn, err)
	}

	// Backfilled, normalized and delivered.
	testutil.WaitFor(t, 5*time.Minute, "the backfilled naps at the app", func() bool { return recv.has("1800") && recv.has("2700") })

	// Notified: a new nap reaches the app without any poll.
	cloud.AddNap(providertest.Nap{ID: "n3", Day: day(0), Minutes: 20})
	if code, err := cloud.Notify(ctx, base+"/webhooks/fakeband", "n3"); err != nil || code != 200 {
		t.Fatalf("notification: %d %v", code, err)
	}
	testutil.WaitFor(t, 5*time.Minute, "the notified nap at the app", func() bool { return recv.has("1200") })
	forged, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/fakeband", strings.NewReader(`{"user_id":"fb-user-1","type":"nap.updated","id":"n3"}`))
	forged.Header.Set("X-FakeBand-Signature", "00")
	if resp, err := http.DefaultClient.Do(forged); err != nil || resp.StatusCode != 401 {
		t.Fatalf("forged notification: %v %v", resp, err)
	}

	// Served by the REST API, processed and raw.
	if code, body := get("/v2/processed_data/sleep_health/summary?user_id=" + user + "&date=" + day(0)); code != 200 || !strings.Contains(body, `"sleep_duration_seconds_int":1200`) {
		t.Fatalf("processed sleep summary: %d %s", code, body)
	}
	code, body = get("/v2/raw_data/fakeband/naps?user_id=" + user + "&start_date=" + day(-2) + "&end_date=" + day(0))
	var raw struct {
		Data []providertest.Nap `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &raw); code != 200 || err != nil || len(raw.Data) != 3 {
		t.Fatalf("raw naps: %d %s", code, body)
	}
	if code, body := get("/api/v2/user_id/" + user + "/data_sources/authorized"); code != 200 || !strings.Contains(body, `{"data_source":"FakeBand","status":true`) {
		t.Fatalf("authorized: %d %s", code, body)
	}
}
