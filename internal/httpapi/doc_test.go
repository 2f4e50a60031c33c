package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wearlink/wearlink/api"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil/rookschema"
)

// Our own OpenAPI document (api/openapi.yaml), loaded once.
var ownDoc = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

func loadOwnDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := ownDoc()
	if err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	return doc
}

// routePattern finds the pattern of the route a request goes to, the way
// the server's mux does.
var patternMux = sync.OnceValue(func() *http.ServeMux {
	a, err := New(Config{Store: nopStore{}})
	if err != nil {
		panic(err)
	}
	m := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range a.Routes() {
		if !seen[rt.Pattern] {
			seen[rt.Pattern] = true
			m.HandleFunc(rt.Pattern, func(http.ResponseWriter, *http.Request) {})
		}
	}
	return m
})

// checkResponse fails the test unless the response is one api/openapi.yaml
// documents for the route: a documented status, and a JSON body that
// validates against the documented schema (or no body for 204).
func checkResponse(t *testing.T, method, target string, r resp) {
	t.Helper()
	doc := loadOwnDoc(t)
	req := httptest.NewRequest(method, target, nil)
	_, pattern := patternMux().Handler(req)
	if pattern == "" {
		if r.status != http.StatusNotFound {
			t.Errorf("%s %s: no route, status %d", method, target, r.status)
		}
		return
	}
	item := doc.Paths.Value(pattern)
	if item == nil {
		t.Errorf("%s %s: route %s is not documented", method, target, pattern)
		return
	}
	op := item.GetOperation(method)
	if op == nil {
		if r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: method not documented, status %d", method, target, r.status)
		}
		return
	}
	rr := op.Responses.Status(r.status)
	if rr == nil || rr.Value == nil {
		t.Errorf("%s %s: status %d is not documented for %s (body %s)", method, target, r.status, pattern, r.body)
		return
	}
	if r.status == http.StatusNoContent {
		if len(r.body) != 0 {
			t.Errorf("%s %s: 204 with a body: %s", method, target, r.body)
		}
		return
	}
	mt := rr.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, target, ct)
	}
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Errorf("%s %s: %d body is not JSON: %v\n%s", method, target, r.status, err, r.body)
		return
	}
	if err := mt.Schema.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s %s: %d body does not match api/openapi.yaml: %v\n%s", method, target, r.status, err, r.body)
	}
}

// TestOpenAPICoversRoutes: every route the server registers is in
// api/openapi.yaml with the same method, every documented route is
// registered, and /openapi.yaml serves the file.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := loadOwnDoc(t)
	a, err := New(Config{Store: nopStore{}})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, rt := range a.Routes() {
		key := rt.Method + " " + rt.Pattern
		if served[key] {
			t.Errorf("route %s registered twice", key)
		}
		served[key] = true
		item := doc.Paths.Value(rt.Pattern)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s is served but not documented", key)
			continue
		}
		op := item.GetOperation(rt.Method)
		documentedAuth := op.Security == nil || len(*op.Security) > 0
		if documentedAuth != rt.Auth {
			t.Errorf("%s: documented auth %v, served auth %v", key, documentedAuth, rt.Auth)
		}
		if rt.Auth && op.Responses.Status(401) == nil {
			t.Errorf("%s takes credentials but does not document 401", key)
		}
	}
	for path, item := range doc.Paths.Map() {
		if item.Extensions["x-served-by"] == "app" {
			continue // mounted beside the API by internal/app, which tests them
		}
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("%s %s is documented but not served", method, path)
			}
		}
	}
	// Every ROOK processed_data route is served.
	for _, s := range health.Structures() {
		if !served["GET "+s.Route] {
			t.Errorf("ROOK route %s is not served", s.Route)
		}
	}

	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.yaml", nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), api.OpenAPI) {
		t.Fatalf("GET /openapi.yaml: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestRoutesCoverROOKDocument: every path of ROOK's published document is
// served with its method.
func TestRoutesCoverROOKDocument(t *testing.T) {
	rook := rookschema.Doc(t)
	a, err := New(Config{Store: nopStore{}})
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, rt := range a.Routes() {
		served = append(served, rt.Method+" "+rt.Pattern)
	}
	n := 0
	for path, item := range rook.Paths.Map() {
		for method := range item.Operations() {
			n++
			if !slices.Contains(served, method+" "+path) {
				t.Errorf("ROOK's %s %s is not served", method, path)
			}
		}
	}
	if n != 20 {
		t.Errorf("ROOK's document has %d operations, expected 20", n)
	}
}

// TestErrorStatusesDocumented: every status statusOf gives for the codes
// the routes return is documented on some route.
func TestErrorStatusesDocumented(t *testing.T) {
	doc := loadOwnDoc(t)
	documented := map[int]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for code := range op.Responses.Map() {
				n, _ := strconv.Atoi(code)
				documented[n] = true
			}
		}
	}
	for _, code := range []string{health.EINVALID, health.EUNAUTHORIZED, health.EFORBIDDEN, health.ENOTFOUND, health.ERATELIMITED,
		eTooLarge, eUnprocessable, eUnavailable} {
		if s := statusOf(code); !documented[s] {
			t.Errorf("status %d of %s is documented nowhere", s, code)
		}
	}
}

// nopStore is a Store for tests that only build the API: every read finds
// nothing.
type nopStore struct{}

func (nopStore) GetClient(context.Context, string) (store.Client, error) {
	return store.Client{}, health.Errorf(health.ENOTFOUND, "no client")
}

func (nopStore) GetUser(context.Context, string, string) (store.User, error) {
	return store.User{}, health.Errorf(health.ENOTFOUND, "no user")
}

func (nopStore) UpsertUser(_ context.Context, u store.User) (store.User, error) { return u, nil }

func (nopStore) FindConnection(context.Context, string, string, string) (store.Connection, error) {
	return store.Connection{}, health.Errorf(health.ENOTFOUND, "no connection")
}

func (nopStore) GetHealthDocuments(context.Context, store.HealthQuery) ([]store.HealthDocument, error) {
	return nil, nil
}

func (nopStore) RawDocuments(context.Context, int64, []string, string, string) ([]store.RawDocument, error) {
	return nil, nil
}

func (nopStore) UserStatuses(context.Context, store.UserStatusQuery) (store.UserStatusPage, error) {
	return store.UserStatusPage{}, nil
}
