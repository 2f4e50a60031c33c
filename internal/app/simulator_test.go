package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wearlink/wearlink/api"
	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/cli"
	"github.com/wearlink/wearlink/internal/config"
)

// TestBuiltinSimulator: with no Oura application configured, the app
// starts the built-in simulator, says so in its log, and linking sends the
// browser to the simulator's authorize page.
func TestBuiltinSimulator(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Listen = ln.Addr().String()
	if !app.UsesBuiltinSimulator(cfg) {
		t.Fatal("the defaults do not use the built-in simulator")
	}
	var logs bytes.Buffer
	log, _ := app.NewLogger(cfg, &logs)
	a, err := app.New(ctx, cfg, app.Options{Logger: log, Migrate: true, Listener: ln, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	sim := a.SimulatorURL()
	if !strings.HasPrefix(sim, "http://127.0.0.1:") || !strings.Contains(logs.String(), "built-in Oura simulator") {
		t.Fatalf("simulator %q; log:\n%s", sim, logs.String())
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	var out, errb bytes.Buffer
	if code := cli.Main(ctx, []string{"clients", "create", "--data", dir, "--name", "Sim", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("clients create: %d %s", code, errb.String())
	}
	var c struct {
		ClientUUID string `json:"client_uuid"`
		Secret     string `json:"secret"`
	}
	if err := json.Unmarshal(out.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", a.URL()+"/api/v1/user_id/sim-user/data_source/Oura/authorizer", nil)
	req.SetBasicAuth(c.ClientUUID, c.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var az struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&az)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || az.AuthorizationURL == "" {
		t.Fatalf("authorizer: %d %+v %v", resp.StatusCode, az, err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(az.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), sim+"/oauth/authorize?") {
		t.Fatalf("connect: %d to %q, want the simulator %s", resp.StatusCode, resp.Header.Get("Location"), sim)
	}

	// Withings too: its built-in simulator runs, and a link goes to its
	// consent page.
	ws := a.WithingsSimulator()
	if ws == nil || !strings.Contains(logs.String(), "built-in Withings simulator") {
		t.Fatalf("no built-in Withings simulator; log:\n%s", logs.String())
	}
	req, _ = http.NewRequest("GET", a.URL()+"/api/v1/user_id/sim-user/data_source/Withings/authorizer", nil)
	req.SetBasicAuth(c.ClientUUID, c.Secret)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	az.AuthorizationURL = ""
	err = json.NewDecoder(resp.Body).Decode(&az)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || az.AuthorizationURL == "" {
		t.Fatalf("Withings authorizer: %d %+v %v", resp.StatusCode, az, err)
	}
	if resp, err = noFollow.Get(az.AuthorizationURL); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), ws.Info().AuthorizeURL+"?") || loc.Query().Get("scope") != "user.info,user.metrics,user.activity" {
		t.Fatalf("Withings connect: %d to %q, want the simulator's consent page with comma-separated scopes", resp.StatusCode, resp.Header.Get("Location"))
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestUsesBuiltinSimulator(t *testing.T) {
	for name, change := range map[string]func(*config.Config){
		"client id":   func(c *config.Config) { c.Oura.ClientID = "x" },
		"API URL":     func(c *config.Config) { c.Oura.APIBaseURL = "http://127.0.0.1:9/" },
		"token URL":   func(c *config.Config) { c.Oura.TokenURL = "http://127.0.0.1:9/token" },
		"api role":    func(c *config.Config) { c.Role = config.RoleAPI },
		"worker role": func(c *config.Config) { c.Role = config.RoleWorker },
	} {
		cfg := config.Default()
		change(&cfg)
		if app.UsesBuiltinSimulator(cfg) {
			t.Errorf("%s set: the built-in simulator would start", name)
		}
	}
	for name, change := range map[string]func(*config.Config){
		"client id": func(c *config.Config) { c.Withings.ClientID = "x" },
		"API URL":   func(c *config.Config) { c.Withings.APIBaseURL = "http://127.0.0.1:9/" },
		"auth URL":  func(c *config.Config) { c.Withings.AuthURL = "http://127.0.0.1:9/authorize" },
		"api role":  func(c *config.Config) { c.Role = config.RoleAPI },
	} {
		cfg := config.Default()
		if !app.UsesBuiltinWithingsSimulator(cfg) {
			t.Fatal("the defaults do not use the built-in Withings simulator")
		}
		change(&cfg)
		if app.UsesBuiltinWithingsSimulator(cfg) {
			t.Errorf("Withings %s set: the built-in Withings simulator would start", name)
		}
	}
}

// TestAppRoutesDocumented: the routes the app mounts beside the REST API
// are in api/openapi.yaml, marked x-served-by: app (the REST API's own
// test skips those), and each marked route is served.
func TestAppRoutesDocumented(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Oura.ClientID, cfg.Oura.ClientSecret = "id", "secret"
	cfg.Role = config.RoleAPI
	a, err := app.New(t.Context(), cfg, app.Options{Logger: testLogger(), Migrate: true, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	marked := 0
	for path, item := range doc.Paths.Map() {
		if item.Extensions["x-served-by"] != "app" {
			continue
		}
		for method := range item.Operations() {
			marked++
			_, pattern := a.Mux().Handler(httptestRequest(method, path))
			if pattern != method+" "+path {
				t.Errorf("%s %s is documented as the app's but the app serves it with %q", method, path, pattern)
			}
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if item := doc.Paths.Value(p); item == nil || item.Get == nil || item.Extensions["x-served-by"] != "app" {
			t.Errorf("GET %s is not documented as served by the app", p)
		}
	}
	if marked != 3 {
		t.Errorf("%d operations marked x-served-by: app, want 3", marked)
	}
}

func httptestRequest(method, path string) *http.Request {
	r, _ := http.NewRequest(method, "http://wearlink"+path, nil)
	return r
}
