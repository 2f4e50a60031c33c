package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wearlink/wearlink/internal/testutil"
)

// loadSpec reads Withings' published document and returns each
// operation's 200 answer schema by operationId.
//
// The document keys paths as full URLs padded with spaces (one URL, many
// actions) and has a few constructs no loader takes, so it is mended as
// text first: path keys become /opN (operations are found by operationId
// anyway), and empty lists where objects belong become empty objects.
//
// Then the schemas are closed, so a misspelt field fails instead of
// passing as an extra: an object with properties takes no others, and an
// object whose one property is "$timestamp" is what it describes, a map
// keyed by epoch seconds.
//
// Where the live answers recorded in fixtures/recorded differ from the
// document, the recording wins, and the schema is patched here, each patch
// saying why.
func loadSpec(t *testing.T) map[string]*openapi3.Schema {
	t.Helper()
	path := testutil.ReferenceFile(t, "providers/withings/spec/withings-data-api-openapi.yml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	key := regexp.MustCompile(`^  '?\s*https?://[^']*'?:(.*)$`)
	inPaths, n := false, 0
	for i, l := range lines {
		switch {
		case l == "paths:":
			inPaths = true
			continue
		case l != "" && l[0] != ' ':
			inPaths = false
		}
		if m := key.FindStringSubmatch(l); inPaths && m != nil {
			rest := strings.TrimSpace(m[1])
			if rest == "[]" {
				rest = "{}"
			}
			lines[i] = fmt.Sprintf("  /op%d: %s", n, rest)
			n++
		}
	}
	text := regexp.MustCompile(`(?m)^(\s+properties:) \[\]$`).ReplaceAllString(strings.Join(lines, "\n"), "$1 {}")
	doc, err := openapi3.NewLoader().LoadFromData([]byte(text))
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	ops := map[string]*openapi3.Schema{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			resp := op.Responses.Status(200)
			if resp == nil || resp.Value == nil {
				continue
			}
			if mt := resp.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				ops[op.OperationID] = mt.Schema.Value
			}
		}
	}
	prop := func(s *openapi3.Schema, names ...string) *openapi3.SchemaRef {
		var r *openapi3.SchemaRef
		for _, n := range names {
			r = s.Properties[n]
			if r == nil {
				t.Fatalf("the document has no property %v", names)
			}
			s = r.Value
		}
		return r
	}
	for _, id := range []string{"measure-getmeas", "measurev2-getactivity", "measurev2-getintradayactivity", "measurev2-getworkouts", "sleepv2-get", "sleepv2-getsummary", "userv2-getdevice", "notify-subscribe", "notify-list", "notify-get", "notify-revoke", "oauth2-getaccesstoken"} {
		s := ops[id]
		if s == nil {
			t.Fatalf("the document has no 200 answer for %s", id)
		}
		// Error answers carry "error" beside "status"; the document
		// describes them in prose only.
		s.Properties["error"] = openapi3.NewStringSchema().NewRef()
	}
	// sleepv2 get: the document makes series one object; live answers list
	// the segments, each with the device's hash_deviceid
	// (sleep_no_datafields.json).
	series := prop(ops["sleepv2-get"], "body", "series")
	series.Value.Properties["hash_deviceid"] = openapi3.NewStringSchema().NewRef()
	series.Value = openapi3.NewArraySchema().WithItems(series.Value)
	// getmeas: updatetime is an epoch integer in live answers
	// (measurement.json), a string in the document; groups carry
	// "modelid" (measurement_list_2.json).
	prop(ops["measure-getmeas"], "body", "updatetime").Value = openapi3.NewIntegerSchema()
	prop(ops["measure-getmeas"], "body", "measuregrps").Value.Items.Value.Properties["modelid"] = openapi3.NewIntegerSchema().NewRef()
	// notify list: profiles carry "expires" (notify_list.json).
	prop(ops["notify-list"], "body", "profiles").Value.Items.Value.Properties["expires"] = openapi3.NewIntegerSchema().NewRef()
	// The token answer's userid is a string, as Withings' own examples of
	// the live answer show it.
	prop(ops["oauth2-getaccesstoken"], "body", "userid").Value = openapi3.NewStringSchema()

	seen := map[*openapi3.Schema]bool{}
	for _, s := range ops {
		closeSchema(s, seen)
	}
	return ops
}

func closeSchema(s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if ts, ok := s.Properties["$timestamp"]; ok && len(s.Properties) == 1 {
		s.Properties = nil
		s.AdditionalProperties = openapi3.AdditionalProperties{Schema: ts}
		closeSchema(ts.Value, seen)
		return
	}
	if len(s.Properties) > 0 {
		no := false
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
	for _, p := range s.Properties {
		closeSchema(p.Value, seen)
	}
	if s.Items != nil {
		closeSchema(s.Items.Value, seen)
	}
}

// checkSpec validates an answer against the operation's schema.
func checkSpec(t *testing.T, ops map[string]*openapi3.Schema, opID string, rp reply) {
	t.Helper()
	if rp.HTTP != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", opID, rp.HTTP, rp.Raw)
	}
	var v any
	if err := json.Unmarshal(rp.Raw, &v); err != nil {
		t.Fatalf("%s: %v", opID, err)
	}
	if err := ops[opID].VisitJSON(v, openapi3.MultiErrors()); err != nil {
		t.Errorf("%s answer does not match the document: %v\nbody: %.600s", opID, err, rp.Raw)
	}
}

// TestAnswersMatchPublishedSpec calls every action with the parameters a
// client uses, for users with and without a watch, pages through every
// list, and validates each answer, errors included.
func TestAnswersMatchPublishedSpec(t *testing.T) {
	ops := loadSpec(t)
	srv, ts, _ := newTestServer(t, Config{Users: 3, PageSize: 7})
	day := func(d int) string { return testNow.AddDate(0, 0, d).Format(time.DateOnly) }
	epoch := func(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }
	var stats struct{ groups, summaries, segments, activities, workouts, samples, devices int }
	for _, tok := range srv.Tokens() {
		cases := []struct {
			path, op string
			f        url.Values
			key      string // the paginated list, "" when not paginated
		}{
			{PathMeasure, "measure-getmeas", form("action", "getmeas"), "measuregrps"},
			{PathMeasure, "measure-getmeas", form("action", "getmeas", "meastypes", "1,6,8,5,76,77,88"), "measuregrps"},
			{PathMeasure, "measure-getmeas", form("action", "getmeas", "meastype", "4"), "measuregrps"},
			{PathMeasure, "measure-getmeas", form("action", "getmeas", "category", "2"), "measuregrps"},
			{PathMeasure, "measure-getmeas", form("action", "getmeas", "startdate", epoch(-10*24*time.Hour), "enddate", epoch(0)), "measuregrps"},
			{PathMeasure, "measure-getmeas", form("action", "getmeas", "lastupdate", epoch(-5*24*time.Hour)), "measuregrps"},
			{PathMeasureV2, "measurev2-getactivity", form("action", "getactivity", "startdateymd", day(-20), "enddateymd", day(0)), "activities"},
			{PathMeasureV2, "measurev2-getactivity", form("action", "getactivity", "lastupdate", epoch(-3*24*time.Hour), "data_fields", "steps,hr_average,totalcalories"), "activities"},
			{PathMeasureV2, "measurev2-getworkouts", form("action", "getworkouts", "startdateymd", day(-30), "enddateymd", day(0)), "series"},
			{PathMeasureV2, "measurev2-getworkouts", form("action", "getworkouts", "lastupdate", "0", "data_fields", "calories,hr_average,steps"), "series"},
			{PathSleepV2, "sleepv2-getsummary", form("action", "getsummary", "startdateymd", day(-30), "enddateymd", day(0)), "series"},
			{PathSleepV2, "sleepv2-getsummary", form("action", "getsummary", "lastupdate", "0", "data_fields", "hr_average,hr_min,hr_max,rr_average,rr_min,rr_max,snoring,snoringepisodecount,sleep_score,breathing_disturbances_intensity,total_sleep_time,asleepduration"), "series"},
			{PathSleepV2, "sleepv2-get", form("action", "get", "startdate", epoch(-36*time.Hour), "enddate", epoch(-12*time.Hour)), ""},
			{PathSleepV2, "sleepv2-get", form("action", "get", "startdate", epoch(-36*time.Hour), "enddate", epoch(-12*time.Hour), "data_fields", "hr,rr,snoring,sdnn_1,rmssd,hrv_quality,mvt_score"), ""},
			{PathMeasureV2, "measurev2-getintradayactivity", form("action", "getintradayactivity"), ""},
			{PathMeasureV2, "measurev2-getintradayactivity", form("action", "getintradayactivity", "startdate", epoch(-48*time.Hour), "enddate", epoch(-24*time.Hour), "data_fields", "steps,heart_rate"), ""},
			{PathUserV2, "userv2-getdevice", form("action", "getdevice"), ""},
		}
		for _, c := range cases {
			f := c.f
			for i := 0; ; i++ {
				rp := call(t, ts, c.path, tok.AccessToken, f)
				if rp.Status != 0 {
					t.Fatalf("user %d %v: status %d %s", tok.UserIndex, f, rp.Status, rp.Error)
				}
				checkSpec(t, ops, c.op, rp)
				body := decode[map[string]json.RawMessage](t, rp.Body)
				switch c.op {
				case "measure-getmeas":
					stats.groups += len(decode[[]any](t, body["measuregrps"]))
				case "measurev2-getactivity":
					stats.activities += len(decode[[]any](t, body["activities"]))
				case "measurev2-getworkouts":
					stats.workouts += len(decode[[]any](t, body["series"]))
				case "sleepv2-getsummary":
					stats.summaries += len(decode[[]any](t, body["series"]))
				case "sleepv2-get":
					stats.segments += len(decode[[]any](t, body["series"]))
				case "measurev2-getintradayactivity":
					stats.samples += len(decode[map[string]any](t, body["series"]))
				case "userv2-getdevice":
					stats.devices += len(decode[[]any](t, body["devices"]))
				}
				pg := decode[pageBody](t, rp.Body)
				if c.key == "" || !pg.more() {
					break
				}
				if i > 500 {
					t.Fatal("pagination does not end")
				}
				f = cloneWith(f, "offset", strconv.Itoa(pg.Offset))
			}
		}
	}
	if stats.groups == 0 || stats.summaries == 0 || stats.segments == 0 || stats.activities == 0 || stats.workouts == 0 || stats.samples == 0 || stats.devices < 9 {
		t.Fatalf("answers lack data: %+v", stats)
	}

	t.Run("notify", func(t *testing.T) {
		tok := srv.Tokens()[0].AccessToken
		cb := "http://127.0.0.1:1/withings"
		checkSpec(t, ops, "notify-subscribe", call(t, ts, PathNotify, tok, form("action", "subscribe", "callbackurl", cb, "appli", "1", "comment", "weight")))
		checkSpec(t, ops, "notify-subscribe", call(t, ts, PathNotify, tok, form("action", "subscribe", "callbackurl", cb, "appli", "44")))
		checkSpec(t, ops, "notify-list", call(t, ts, PathNotify, tok, form("action", "list")))
		checkSpec(t, ops, "notify-get", call(t, ts, PathNotify, tok, form("action", "get", "callbackurl", cb, "appli", "44")))
		checkSpec(t, ops, "notify-revoke", call(t, ts, PathNotify, tok, form("action", "revoke", "callbackurl", cb, "appli", "1")))
		checkSpec(t, ops, "notify-revoke", call(t, ts, PathNotify, tok, form("action", "revoke", "callbackurl", cb, "appli", "1")))
		checkSpec(t, ops, "notify-get", call(t, ts, PathNotify, tok, form("action", "get", "callbackurl", cb, "appli", "1")))
	})

	t.Run("oauth", func(t *testing.T) {
		code := authorize(t, ts, "user.info,user.metrics,user.activity", "")
		rp := call(t, ts, PathOAuth2, "", form("action", "requesttoken", "grant_type", "authorization_code", "client_id", DefaultClientID, "client_secret", DefaultClientSecret, "code", code, "redirect_uri", testRedirect))
		checkSpec(t, ops, "oauth2-getaccesstoken", rp)
		ref := decode[tokenBody](t, rp.Body).RefreshToken
		checkSpec(t, ops, "oauth2-getaccesstoken", call(t, ts, PathOAuth2, "", form("action", "requesttoken", "grant_type", "refresh_token", "client_id", DefaultClientID, "client_secret", DefaultClientSecret, "refresh_token", ref)))
		checkSpec(t, ops, "oauth2-getaccesstoken", call(t, ts, PathOAuth2, "", form("action", "requesttoken", "grant_type", "authorization_code", "client_id", DefaultClientID, "client_secret", DefaultClientSecret, "code", "nope", "redirect_uri", testRedirect)))
	})

	t.Run("errors", func(t *testing.T) {
		tok := srv.Tokens()[0].AccessToken
		for _, c := range []struct {
			op, path, token string
			f               url.Values
		}{
			{"measure-getmeas", PathMeasure, "", form("action", "getmeas")},
			{"measurev2-getactivity", PathMeasureV2, tok, form("action", "getactivity", "startdateymd", day(-2), "enddateymd", day(0), "lastupdate", "0")},
			{"sleepv2-get", PathSleepV2, tok, form("action", "get")},
		} {
			rp := call(t, ts, c.path, c.token, c.f)
			if rp.Status == 0 {
				t.Errorf("%v: status 0", c.f)
			}
			checkSpec(t, ops, c.op, rp)
		}
	})
}
