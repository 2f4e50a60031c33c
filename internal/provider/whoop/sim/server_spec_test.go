package sim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/wearlink/wearlink/internal/testutil"
)

// newSpecRouter loads WHOOP's published document. Servers is dropped so
// routes match on the path alone (the /developer prefix is stripped before
// matching), and every object schema forbids properties it does not
// declare, so a misspelt field fails instead of passing as an extra.
func newSpecRouter(t *testing.T) routers.Router {
	t.Helper()
	path := testutil.ReferenceFile(t, "providers/whoop/spec/whoop-api-openapi.yml")
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	doc.Servers = nil
	// The Trusted-Partner routes are out of scope, and their security
	// scheme's name ("Trusted Partner") is not a valid component key.
	delete(doc.Components.SecuritySchemes, "Trusted Partner")
	for p := range doc.Paths.Map() {
		if strings.HasPrefix(p, "/v2/partner/") {
			doc.Paths.Delete(p)
		}
	}
	for _, ref := range doc.Components.Schemas {
		if s := ref.Value; s != nil && s.Type.Is("object") && len(s.Properties) > 0 && len(s.OneOf) == 0 {
			no := false
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
		}
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("published document does not validate: %v", err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkSpec sends req and validates the answer against the operation it
// matches. It returns the body.
func checkSpec(t *testing.T, router routers.Router, client *http.Client, method, url, token string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, url, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, body)
	}
	vreq := req.Clone(context.Background())
	vreq.URL.Path = strings.TrimPrefix(vreq.URL.Path, APIPrefix)
	vreq.Body = io.NopCloser(bytes.NewReader(nil))
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s %s: no operation in the published document: %v", method, vreq.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s (%d) does not match %s: %v\nbody: %.600s", method, url, resp.StatusCode, route.Operation.OperationID, err, body)
	}
	return body
}

// TestResponsesMatchPublishedSpec walks every v2 route and the activity
// mapping, with the documented error statuses, and validates each answer.
// The history spans the v1 cut-off so records with and without v1 ids, naps,
// pending and scored records all appear.
func TestResponsesMatchPublishedSpec(t *testing.T) {
	router := newSpecRouter(t)
	srv, ts, _ := newTestServer(t, Config{Users: 2})
	c := ts.Client()
	tok := srv.Tokens()[0].AccessToken
	api := ts.URL + APIPrefix

	// Every record of a 10-week window that spans the cut-off, validated
	// page by page through the spec.
	window := "?start=2025-08-10T00:00:00Z&end=2025-10-16T00:00:00Z&limit=25"
	var cycles []Cycle
	var sleeps []Sleep
	var workouts []Workout
	for _, coll := range []string{"/v2/cycle", "/v2/activity/sleep", "/v2/recovery", "/v2/activity/workout"} {
		next := ""
		for {
			u := api + coll + window
			if next != "" {
				u += "&nextToken=" + next
			}
			b := checkSpec(t, router, c, "GET", u, tok, 200)
			pg := decode[Page[map[string]any]](t, b)
			switch coll {
			case "/v2/cycle":
				cycles = append(cycles, decode[Page[Cycle]](t, b).Records...)
			case "/v2/activity/sleep":
				sleeps = append(sleeps, decode[Page[Sleep]](t, b).Records...)
			case "/v2/activity/workout":
				workouts = append(workouts, decode[Page[Workout]](t, b).Records...)
			}
			if pg.NextToken == "" {
				break
			}
			next = pg.NextToken
		}
		// Defaults (limit 10, end now) and an empty window.
		checkSpec(t, router, c, "GET", api+coll, tok, 200)
		checkSpec(t, router, c, "GET", api+coll+"?start=2020-01-01T00:00:00Z&end=2020-01-02T00:00:00Z", tok, 200)
	}
	var naps, v1, noV1, open, pending int
	for _, s := range sleeps {
		if s.Nap {
			naps++
		}
		if s.V1ID != nil {
			v1++
		} else {
			noV1++
		}
		if s.ScoreState == StatePending {
			pending++
		}
	}
	for _, cy := range cycles {
		if cy.End == nil {
			open++
		}
	}
	if len(cycles) < 60 || naps == 0 || v1 == 0 || noV1 == 0 || open != 1 || len(workouts) == 0 {
		t.Fatalf("window lacks variety: %d cycles (%d open), %d sleeps (%d naps, %d with v1 ids, %d without, %d pending), %d workouts",
			len(cycles), open, len(sleeps), naps, v1, noV1, pending, len(workouts))
	}

	cy := cycles[len(cycles)/2]
	id := func(v int64) string { return strconv.FormatInt(v, 10) }
	checkSpec(t, router, c, "GET", api+"/v2/cycle/"+id(cy.ID), tok, 200)
	checkSpec(t, router, c, "GET", api+"/v2/cycle/"+id(cycles[0].ID), tok, 200) // the open one
	checkSpec(t, router, c, "GET", api+"/v2/cycle/"+id(cy.ID)+"/sleep", tok, 200)
	checkSpec(t, router, c, "GET", api+"/v2/cycle/"+id(cy.ID)+"/recovery", tok, 200)
	checkSpec(t, router, c, "GET", api+"/v2/activity/sleep/"+sleeps[3].ID, tok, 200)
	checkSpec(t, router, c, "GET", api+"/v2/activity/workout/"+workouts[0].ID, tok, 200)
	checkSpec(t, router, c, "GET", api+"/v2/user/profile/basic", tok, 200)
	checkSpec(t, router, c, "GET", api+"/v2/user/measurement/body", tok, 200)
	for _, s := range sleeps {
		if s.V1ID != nil {
			b := checkSpec(t, router, c, "GET", api+"/v1/activity-mapping/"+id(*s.V1ID), tok, 200)
			if m := decode[ActivityMapping](t, b); m.V2ActivityID != s.ID {
				t.Errorf("v1 %d maps to %s, want %s", *s.V1ID, m.V2ActivityID, s.ID)
			}
			break
		}
	}

	t.Run("errors", func(t *testing.T) {
		other := srv.Tokens()[1].AccessToken
		narrow, _ := srv.IssueToken(0, []string{"read:cycles"}, 0)
		for _, tc := range []struct {
			name, path, token string
			want              int
		}{
			{"no token", "/v2/cycle", "", 401},
			{"bad token", "/v2/activity/sleep", "nope", 401},
			{"missing scope", "/v2/recovery", narrow.AccessToken, 401},
			{"limit above 25", "/v2/cycle?limit=26", tok, 400},
			{"limit zero", "/v2/activity/workout?limit=0", tok, 400},
			{"bad start", "/v2/activity/sleep?start=yesterday", tok, 400},
			{"start after end", "/v2/recovery?start=2025-10-02T00:00:00Z&end=2025-10-01T00:00:00Z", tok, 400},
			{"forged nextToken", "/v2/cycle?nextToken=Zm9yZ2Vk", tok, 400},
			{"cycle id not a number", "/v2/cycle/abc", tok, 400},
			{"unknown cycle", "/v2/cycle/42", tok, 404},
			{"another user's cycle", "/v2/cycle/" + id(cy.ID) + "/recovery", other, 404},
			{"sleep id not a uuid", "/v2/activity/sleep/123", tok, 400},
			{"unknown sleep", "/v2/activity/sleep/ecfc6a15-4661-442f-a9a4-f160dd7afae8", tok, 404},
			{"another user's workout", "/v2/activity/workout/" + workouts[0].ID, other, 404},
			{"unknown v1 id", "/v1/activity-mapping/12345678", tok, 404},
			{"profile without token", "/v2/user/profile/basic", "", 401},
			{"body without scope", "/v2/user/measurement/body", narrow.AccessToken, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkSpec(t, router, c, "GET", api+tc.path, tc.token, tc.want)
			})
		}
		if err := srv.SetFaults(Faults{Force429: 1, Force5xx: 1}); err != nil {
			t.Fatal(err)
		}
		checkSpec(t, router, c, "GET", api+"/v2/cycle", tok, 429)
		checkSpec(t, router, c, "GET", api+"/v2/cycle", tok, http.StatusInternalServerError)
	})

	t.Run("revoke", func(t *testing.T) {
		fresh, _ := srv.IssueToken(1, nil, 0)
		checkSpec(t, router, c, "DELETE", api+"/v2/user/access", fresh.AccessToken, 204)
		checkSpec(t, router, c, "DELETE", api+"/v2/user/access", fresh.AccessToken, 401)
	})
}
