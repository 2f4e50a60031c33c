package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/testutil"
)

// specPath finds the published document beside the repository.
func specPath(t *testing.T) string {
	t.Helper()
	return testutil.ReferenceFile(t, "oura-openapi-1.37.json")
}

// specValidator checks responses against the published document in two
// readings. kin-openapi handles OpenAPI 3.1 (type null, anyOf) natively, so
// the document is used as published except that:
//   - servers is dropped: its URL is wrong (https://api.None.com) and routes
//     are matched on the path alone;
//   - in the strict reading, the Dict branch of every list response is
//     removed, because it accepts any array of objects and would hide a
//     malformed document; and every object schema (other than the error
//     and Dict shapes) requires all its properties and forbids others,
//     since the live API emits every declared key, null or not, and nothing
//     else. Responses to a fields projection are checked against the
//     document as published (the Dict branch).
type specValidator struct {
	strict, loose routers.Router
}

func newSpecValidator(t *testing.T) *specValidator {
	t.Helper()
	return newSpecValidatorFor(t, specPath(t))
}

// spec2026Path is Oura's April 2026 document, the one that has
// interbeat_interval (1.37 does not).
func spec2026Path(t *testing.T) string {
	t.Helper()
	return testutil.ReferenceFile(t, "oura-openapi-2026-04-interbeat.json")
}

func newSpecValidatorFor(t *testing.T, path string) *specValidator {
	t.Helper()
	load := func(strict bool) routers.Router {
		doc, err := openapi3.NewLoader().LoadFromFile(path)
		if err != nil {
			t.Fatalf("load %s: %v", path, err)
		}
		doc.Servers = nil
		if len(doc.Components.SecuritySchemes) == 0 {
			// The vendored 2026 document names BearerAuth and OAuth2 but
			// leaves out their definitions; security is not what is checked.
			doc.Security = nil
			for _, item := range doc.Paths.Map() {
				for _, op := range item.Operations() {
					op.Security = nil
				}
			}
		}
		if strict {
			tighten(doc)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("published document does not validate: %v", err)
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return &specValidator{strict: load(true), loose: load(false)}
}

func tighten(doc *openapi3.T) {
	lenient := map[string]bool{"ValidationError": true, "HTTPValidationError": true}
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		if s == nil || lenient[name] || strings.HasSuffix(name, "Dict") || !s.Type.Is("object") || len(s.Properties) == 0 {
			continue
		}
		no := false
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
		s.Required = s.Required[:0]
		for p := range s.Properties {
			s.Required = append(s.Required, p)
		}
		slices.Sort(s.Required)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			resp := op.Responses.Status(200)
			if resp == nil || resp.Value == nil {
				continue
			}
			mt := resp.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
				continue
			}
			var typed []*openapi3.SchemaRef
			for _, alt := range mt.Schema.Value.AnyOf {
				if !strings.HasSuffix(alt.Ref, "Dict") {
					typed = append(typed, alt)
				}
			}
			if len(typed) == 1 && len(mt.Schema.Value.AnyOf) == 2 {
				mt.Schema = typed[0]
			}
		}
	}
}

// check sends req to the simulator and validates the answer. It returns
// the decoded body for further requests.
func (v *specValidator) check(t *testing.T, client *http.Client, req *http.Request, wantStatus int) []byte {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read: %v", req.Method, req.URL, err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL, resp.StatusCode, wantStatus, body)
	}
	router := v.strict
	if req.URL.Query().Get("fields") != "" {
		router = v.loose
	}
	// The router reads the request's body on some operations; give it a
	// fresh copy.
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(nil))
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s %s: no operation in the published document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s (%d) does not match %s: %v\nbody: %.600s", req.Method, req.URL, resp.StatusCode, route.Operation.OperationID, err, body)
	}
	return body
}

func newReq(t *testing.T, method, u, token string, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// TestResponsesMatchPublishedSpec exercises every route of the published
// document (list, single, sandbox, personal_info, time series, webhook
// subscriptions) plus the documented error statuses, and validates each
// answer. It is driven by the collection table, so a collection without
// data fails rather than going unchecked.
func TestResponsesMatchPublishedSpec(t *testing.T) {
	v1 := newSpecValidator(t)
	v2026 := newSpecValidatorFor(t, spec2026Path(t))
	srv, ts := newTestServer(t, Config{Users: 1, HistoryStart: "2024-09-01", PageSize: 3, TimeSeriesPageSize: 50})
	client := ts.Client()
	tok := srv.Tokens()[0].AccessToken

	for _, sandbox := range []bool{false, true} {
		prefix := "/v2/usercollection/"
		if sandbox {
			prefix = "/v2/sandbox/usercollection/"
		}
		for _, c := range oura.Collections() {
			if sandbox && !c.Sandbox {
				continue
			}
			name := prefix + c.Name
			v := v1
			if c.Name == oura.CollInterbeatInterval {
				v = v2026
			}
			t.Run(strings.TrimPrefix(name, "/v2/"), func(t *testing.T) {
				base := ts.URL + name
				if c.Range == oura.RangeSingleton {
					v.check(t, client, newReq(t, "GET", base, tok, ""), 200)
					return
				}
				var queries []string
				switch c.Range {
				case oura.RangeDate:
					queries = []string{"", "start_date=0024-01-01&end_date=2030-01-01", "start_date=1&end_date=2"}
					if !sandbox {
						queries = append(queries, "start_date=2024-09-01&end_date=2030-01-01&fields=day,no_such_field")
					}
				case oura.RangeDateTime:
					day := "2025-03-05" // inside the test server's history
					if sandbox {
						day = "2024-12-30" // inside the sandbox's fixed year
					}
					queries = []string{"", "latest=true", "start_datetime=" + day + "T00:00:00%2B01:00&end_datetime=" + day + "T23:00:00Z"}
					if !sandbox {
						queries = append(queries, "fields=bpm,level")
					}
				case oura.RangeNone:
					queries = []string{""}
					if !sandbox {
						queries = append(queries, "fields=color")
					}
				}
				var firstID string
				rows := 0
				for _, q := range queries {
					u := base
					if q != "" {
						u += "?" + q
					}
					body := v.check(t, client, newReq(t, "GET", u, tok, ""), 200)
					var page struct {
						Data      []map[string]any `json:"data"`
						NextToken *string          `json:"next_token"`
					}
					if err := json.Unmarshal(body, &page); err != nil {
						t.Fatal(err)
					}
					rows += len(page.Data)
					if firstID == "" && len(page.Data) > 0 {
						firstID, _ = page.Data[0]["id"].(string)
					}
					// One following page, which must validate too.
					if page.NextToken != nil {
						nu := base + "?next_token=" + url.QueryEscape(*page.NextToken)
						if strings.Contains(q, "fields=") {
							nu += "&fields=" + url.QueryEscape(strings.SplitN(strings.SplitN(q, "fields=", 2)[1], "&", 2)[0])
						}
						v.check(t, client, newReq(t, "GET", nu, tok, ""), 200)
					}
				}
				if c.Range == oura.RangeDateTime {
					if rows == 0 {
						t.Errorf("no %s rows: nothing was checked", c.Name)
					}
					if firstID != "" {
						t.Errorf("time-series rows carry no id, got %q", firstID)
					}
					return
				}
				if !c.Single {
					return
				}
				if firstID == "" {
					t.Fatalf("no %s document anywhere in the history: the single route is left unchecked", c.Name)
				}
				v.check(t, client, newReq(t, "GET", base+"/"+firstID, tok, ""), 200)
				v.check(t, client, newReq(t, "GET", base+"/not-existing", tok, ""), 404)
			})
		}
	}

	t.Run("errors", func(t *testing.T) {
		base := ts.URL + "/v2/usercollection/"
		v1.check(t, client, newReq(t, "GET", base+"daily_sleep", "", ""), 401)
		v1.check(t, client, newReq(t, "GET", base+"daily_sleep", "bad-token", ""), 401)
		narrow, _ := srv.IssueToken(0, []string{"daily"}, 0)
		v1.check(t, client, newReq(t, "GET", base+"workout", narrow.AccessToken, ""), 401)
		v1.check(t, client, newReq(t, "GET", base+"daily_sleep?start_date=nope", tok, ""), 422)
		v1.check(t, client, newReq(t, "GET", base+"heartrate?latest=perhaps", tok, ""), 422)
		v1.check(t, client, newReq(t, "GET", base+"sleep?next_token=forged", tok, ""), 422)
		srv.ForceRateLimit(1, 0)
		v1.check(t, client, newReq(t, "GET", base+"daily_sleep", tok, ""), 429)
	})

	t.Run("webhook/subscription", func(t *testing.T) {
		rc := &receiver{token: "vt"}
		cb := httptest.NewServer(rc)
		defer cb.Close()
		hook := func(method, path, body string, want int) []byte {
			req := newReq(t, method, ts.URL+"/v2/webhook/subscription"+path, "", body)
			req.Header.Set("x-client-id", DefaultClientID)
			req.Header.Set("x-client-secret", DefaultClientSecret)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			return v1.check(t, client, req, want)
		}
		body := hook("POST", "", `{"callback_url":"`+cb.URL+`","verification_token":"vt","event_type":"create","data_type":"vo2_max"}`, 201)
		var sub oura.WebhookSubscription
		_ = json.Unmarshal(body, &sub)
		hook("POST", "", `{"callback_url":"`+cb.URL+`","verification_token":"wrong","event_type":"create","data_type":"sleep"}`, 422)
		hook("POST", "", `{"callback_url":"`+cb.URL+`"}`, 422)
		hook("GET", "", "", 200)
		hook("GET", "/"+sub.ID, "", 200)
		hook("GET", "/00000000-0000-4000-8000-000000000000", "", 403)
		hook("PUT", "/"+sub.ID, `{"verification_token":"vt","data_type":"tag"}`, 200)
		hook("PUT", "/"+sub.ID, `{"data_type":"tag"}`, 422)
		hook("PUT", "/renew/"+sub.ID, "", 200)
		hook("DELETE", "/"+sub.ID, "", 204)
		hook("DELETE", "/"+sub.ID, "", 403)
	})
}
