package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil/rookschema"
)

// params fill a route's request.
type params struct {
	user, date, ds string
	body           string // overrides the route's body
}

// routeCase builds a request for one route from params; the flags say
// which kinds of bad input the route can receive.
type routeCase struct {
	name               string
	method             string
	build              func(p params) (target, body string)
	hasDate, hasSource bool
	// sourceStatus is the status for an unknown data source (ROOK's
	// revoke_auth answers 422).
	sourceStatus int
	// noUser: the route has no user_id.
	noUser bool
}

func allRoutes(clientUUID string) []routeCase {
	q := func(p params) string {
		return "user_id=" + url.QueryEscape(p.user) + "&date=" + url.QueryEscape(p.date)
	}
	body := func(p params, def string) string {
		if p.body != "" {
			return p.body
		}
		return def
	}
	rs := []routeCase{
		{name: "authorizer", method: "GET", hasSource: true, sourceStatus: 400, build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user) + "/data_source/" + url.PathEscape(p.ds) + "/authorizer", ""
		}},
		{name: "authorizers", method: "GET", build: func(p params) (string, string) {
			return "/api/v1/client_uuid/" + clientUUID + "/user_id/" + url.PathEscape(p.user) + "/data_sources/authorizers", ""
		}},
		{name: "authorized v1", method: "GET", build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user) + "/data_sources/authorized", ""
		}},
		{name: "authorized v2", method: "GET", build: func(p params) (string, string) {
			return "/api/v2/user_id/" + url.PathEscape(p.user) + "/data_sources/authorized", ""
		}},
		{name: "revoke_auth", method: "POST", hasSource: true, sourceStatus: 422, build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user) + "/data_sources/revoke_auth", body(p, `{"data_source":"`+p.ds+`"}`)
		}},
		{name: "sync", method: "POST", hasDate: true, hasSource: true, sourceStatus: 400, build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user) + "/data_source/" + url.PathEscape(p.ds) + "/sync",
				body(p, `{"start_date":"`+p.date+`","end_date":"`+p.date+`"}`)
		}},
		{name: "time_zone GET", method: "GET", build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user) + "/time_zone", ""
		}},
		{name: "time_zone POST", method: "POST", build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user) + "/time_zone", body(p, `{"time_zone":"Europe/Paris","offset":"+01:00"}`)
		}},
		{name: "user-information", method: "POST", hasDate: true, build: func(p params) (string, string) {
			b, _ := json.Marshal(map[string]any{"user_id": p.user, "datetime": p.date + "T08:00:00Z", "height_cm_int": 170})
			return "/api/v2/user-information", body(p, string(b))
		}},
		{name: "resend", method: "POST", hasDate: true, noUser: true, build: func(p params) (string, string) {
			return "/api/v1/client/webhooks/resend", body(p, `{"start":"`+p.date+`","finish":"`+p.date+`"}`)
		}},
		{name: "users status", method: "GET", hasDate: true, noUser: true, build: func(p params) (string, string) {
			return "/api/v1/client/users/status?up_to_date=" + url.QueryEscape(p.date), ""
		}},
		{name: "erase user", method: "DELETE", build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user), ""
		}},
		{name: "user erasure", method: "GET", build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user) + "/erasure", ""
		}},
		{name: "erasure", method: "GET", noUser: true, build: func(p params) (string, string) {
			return "/api/v1/client/erasures/era_0123456789abcdef01234567", ""
		}},
		{name: "connections_page", method: "GET", build: func(p params) (string, string) {
			return "/api/v1/user_id/" + url.PathEscape(p.user) + "/connections_page", ""
		}},
		{name: "raw_data", method: "GET", hasDate: true, build: func(p params) (string, string) {
			return "/v2/raw_data/oura/daily_sleep?user_id=" + url.QueryEscape(p.user) + "&start_date=" + url.QueryEscape(p.date) + "&end_date=" + url.QueryEscape(p.date), ""
		}},
	}
	for _, s := range health.Structures() {
		rs = append(rs, routeCase{name: s.Route, method: "GET", hasDate: true, hasSource: true, sourceStatus: 400,
			build: func(p params) (string, string) {
				t := s.Route + "?" + q(p)
				if p.ds != "Oura" {
					t += "&data_source=" + url.QueryEscape(p.ds)
				}
				return t, ""
			}})
	}
	return rs
}

// TestBadInput: every route x every kind of bad input gives the documented
// 4xx with a JSON message, and nothing is written.
func TestBadInput(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 2048, resender: &fakeResender{}, resyncer: &fakeResyncer{}})
	a := e.newClient("A")
	// A linked user with data, so that a request that got through would
	// have something to change.
	seedUser(t, e, a.uuid, "u1")
	before := e.snapshot(a.uuid)
	future := time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)
	good := params{user: "u1", date: "2024-03-05", ds: "Oura"}
	type badCase struct {
		name    string
		applies func(routeCase) bool
		creds   *creds
		p       params
		status  int
		// contains is a word the message must have.
		contains string
	}
	always := func(routeCase) bool { return true }
	post := func(r routeCase) bool { return r.method == "POST" }
	cases := []badCase{
		{"no auth", always, nil, good, 401, "client_uuid"},
		{"wrong secret", always, &creds{a.uuid, a.secret + "x"}, good, 401, "incorrect"},
		{"bad user_id", func(r routeCase) bool { return !r.noUser }, &a, params{user: "bad_user!", date: good.date, ds: "Oura"}, 400, "user_id"},
		{"user_id too long", func(r routeCase) bool { return !r.noUser }, &a, params{user: strings.Repeat("a", 51), date: good.date, ds: "Oura"}, 400, "user_id"},
		{"bad date", func(r routeCase) bool { return r.hasDate }, &a, params{user: "u1", date: "2024-13-40", ds: "Oura"}, 400, "not a date"},
		{"future date", func(r routeCase) bool { return r.hasDate }, &a, params{user: "u1", date: future, ds: "Oura"}, 400, "future"},
		{"unknown data source", func(r routeCase) bool { return r.hasSource }, &a, params{user: "u1", date: good.date, ds: "Fitbitz"}, 0, "data source"},
		{"unserved data source", func(r routeCase) bool { return r.hasSource }, &a, params{user: "u1", date: good.date, ds: "Garmin"}, 0, "not available"},
		{"oversized body", post, &a, params{user: "u1", date: good.date, ds: "Oura", body: `{"x":"` + strings.Repeat("y", 4000) + `"}`}, 413, "larger"},
		{"malformed JSON", post, &a, params{user: "u1", date: good.date, ds: "Oura", body: `{"data_source": "Oura",`}, 400, "JSON"},
		{"not an object", post, &a, params{user: "u1", date: good.date, ds: "Oura", body: `["Oura"]`}, 400, "object"},
		{"unknown field", post, &a, params{user: "u1", date: good.date, ds: "Oura", body: `{"surprise":1}`}, 400, "surprise"},
	}
	n := 0
	for _, rc := range allRoutes(a.uuid) {
		for _, bc := range cases {
			if !bc.applies(rc) {
				continue
			}
			t.Run(rc.name+"/"+bc.name, func(t *testing.T) {
				n++
				target, body := rc.build(bc.p)
				r := e.do(bc.creds, rc.method, target, body)
				want := bc.status
				if want == 0 {
					want = rc.sourceStatus
				}
				if r.status != want {
					t.Fatalf("%s %s: %d, want %d: %s", rc.method, target, r.status, want, r.body)
				}
				m := r.json(t)
				msg, _ := m["message"].(string)
				if msg == "" || m["exception"] != msg || m["path"] == nil || !strings.Contains(strings.ToLower(msg), strings.ToLower(bc.contains)) {
					t.Fatalf("message %q lacks %q; body %s", msg, bc.contains, r.body)
				}
			})
		}
	}
	if after := e.snapshot(a.uuid); after != before {
		t.Fatalf("bad requests changed the store:\nbefore\n%s\nafter\n%s", before, after)
	}
	t.Logf("%d bad requests checked", n)
}

// seedUser makes a user with an active (fake) Oura connection and one
// sleep_summary, without going through Oura.
func seedUser(t *testing.T, e *env, clientUUID, userID string) {
	t.Helper()
	if _, err := e.st.CreateConnection(e.ctx, store.Connection{ClientUUID: clientUUID, UserID: userID, DataSource: "oura",
		Status: store.StatusActive, Tokens: store.Tokens{AccessToken: "a-" + userID, RefreshToken: "r-" + userID}}); err != nil {
		t.Fatal(err)
	}
	d := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: clientUUID, UserID: userID, Day: "2024-03-05"}}
	d.Summary.Metadata.Datetime = health.String("2024-03-05T07:00:00.000000Z")
	d.Summary.Metadata.SourcesOfData = []string{"Oura"}
	d.Summary.Duration.SleepDurationSeconds = health.Int(27000)
	if _, err := e.st.ApplyHealthDocuments(e.ctx, []store.HealthInput{{Key: store.HealthKey("oura", "2024-03-05"), Doc: d}}); err != nil {
		t.Fatal(err)
	}
}

// TestTenantIsolation: client B reaches nothing of client A's users through
// any route; what B writes under the same user_id is B's own user.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, envOptions{resender: &fakeResender{}, resyncer: &fakeResyncer{}})
	a, b := e.newClient("A"), e.newClient("B")
	seedUser(t, e, a.uuid, "shared-id")
	beforeA := e.snapshot(a.uuid)
	p := params{user: "shared-id", date: "2024-03-05", ds: "Oura"}
	// Reads first: B's writes create B's own user "shared-id".
	routes := allRoutes(a.uuid)
	slices.SortStableFunc(routes, func(x, y routeCase) int { return strings.Compare(x.method, y.method) })
	for _, rc := range routes {
		t.Run(rc.name, func(t *testing.T) {
			p := p
			if rc.name == "users status" {
				p.date = time.Now().UTC().Format(time.DateOnly)
			}
			target, body := rc.build(p)
			r := e.do(&b, rc.method, target, body)
			if strings.Contains(string(r.body), "27000") || strings.Contains(string(r.body), a.uuid) && rc.name != "authorizers" {
				t.Fatalf("B sees A's data: %s", r.body)
			}
			switch rc.name {
			case "authorizers": // A's client_uuid in the path
				if r.status != http.StatusForbidden {
					t.Fatalf("status %d, want 403", r.status)
				}
			case "connections_page": // not served by this env; connections_page_test covers it served
				if r.status != http.StatusNotFound && r.status != http.StatusServiceUnavailable {
					t.Fatalf("status %d, want 404 or 503: %s", r.status, r.body)
				}
			case "authorizer":
				if m := r.json(t); r.status != 200 || m["authorized"] != false {
					t.Fatalf("B sees A's authorization: %d %s", r.status, r.body)
				}
			case "time_zone POST", "user-information", "resend", "users status":
				if r.status >= 300 {
					t.Fatalf("%d %s", r.status, r.body)
				}
				if rc.name == "users status" && r.json(t)["total_created_users"] != float64(0) && !strings.Contains(string(r.body), `"user_id":"shared-id"`) {
					t.Fatalf("users status: %s", r.body)
				}
			default:
				if r.status != http.StatusNotFound {
					t.Fatalf("status %d, want 404: %s", r.status, r.body)
				}
			}
		})
	}
	if after := e.snapshot(a.uuid); after != beforeA {
		t.Fatalf("B's requests changed A's users:\n%s\n%s", beforeA, after)
	}
	// B's writes made B's own user.
	u, err := e.st.GetUser(e.ctx, b.uuid, "shared-id")
	if err != nil || u.TimeZone != "Europe/Paris" {
		t.Fatalf("B's user: %+v %v", u, err)
	}
	// Users status of B lists only B's user.
	r := e.do(&b, "GET", "/api/v1/client/users/status?up_to_date="+time.Now().UTC().Format(time.DateOnly), "")
	var st usersStatus
	if err := json.Unmarshal(r.body, &st); err != nil || st.TotalCreatedUsers != 1 || len(st.Users) != 1 || len(st.Users[0].DataSources) != 0 {
		t.Fatalf("B's users status: %s", r.body)
	}
}

// TestTimeZone: an IANA name with an offset it uses is stored and read
// back; everything else is refused with a message saying why.
func TestTimeZone(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	const path = "/api/v1/user_id/tz-user/time_zone"
	if r := e.do(&a, "GET", path, ""); r.status != 404 {
		t.Fatalf("GET for an unknown user: %d", r.status)
	}
	tests := []struct {
		name, body string
		status     int
		contains   string
	}{
		{"standard offset", `{"time_zone":"America/Los_Angeles","offset":"-08:00"}`, 200, "successfully"},
		{"daylight offset", `{"time_zone":"America/Los_Angeles","offset":"-07:00"}`, 200, "successfully"},
		{"no daylight saving", `{"time_zone":"Asia/Kolkata","offset":"+05:30"}`, 200, "successfully"},
		{"UTC", `{"time_zone":"UTC","offset":"+00:00"}`, 200, "successfully"},
		{"offset of another zone", `{"time_zone":"America/Los_Angeles","offset":"-05:00"}`, 400, "-08:00 and -07:00"},
		{"unknown zone", `{"time_zone":"Mars/Olympus_Mons","offset":"+00:00"}`, 400, "IANA"},
		{"Local", `{"time_zone":"Local","offset":"+00:00"}`, 400, "IANA"},
		{"path traversal", `{"time_zone":"../../etc/passwd","offset":"+00:00"}`, 400, "IANA"},
		{"no zone", `{"offset":"+01:00"}`, 400, "time_zone is required"},
		{"no offset", `{"time_zone":"Europe/Paris"}`, 400, "offset is required"},
		{"offset without colon", `{"time_zone":"Europe/Paris","offset":"+0100"}`, 400, "+HH:MM"},
		{"offset as number", `{"time_zone":"Europe/Paris","offset":1}`, 400, "offset must be a JSON string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(&a, "POST", path, tt.body)
			if r.status != tt.status || !strings.Contains(r.json(t)["message"].(string), tt.contains) {
				t.Fatalf("%d %s, want %d with %q", r.status, r.body, tt.status, tt.contains)
			}
		})
	}
	// The first valid post created the user, once.
	created := 0
	for _, ev := range e.events.list() {
		if ev == "user:"+a.uuid+"/tz-user" {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("user created events %v", e.events.list())
	}
	// The last valid one stays.
	r := e.do(&a, "GET", path, "")
	if m := r.json(t); r.status != 200 || m["time_zone"] != "UTC" || m["offset"] != "+00:00" {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}
	u, err := e.st.GetUser(e.ctx, a.uuid, "tz-user")
	if err != nil || u.TimeZone != "UTC" {
		t.Fatalf("stored user %+v %v", u, err)
	}
	// A user without a zone: 204.
	seedUser(t, e, a.uuid, "no-zone")
	if r := e.do(&a, "GET", "/api/v1/user_id/no-zone/time_zone", ""); r.status != 204 {
		t.Fatalf("GET without a zone: %d", r.status)
	}
	// The offset is the zone's now.
	e.do(&a, "POST", path, `{"time_zone":"Europe/Paris","offset":"+01:00"}`)
	want := formatOffset(func() int { l, _ := time.LoadLocation("Europe/Paris"); _, o := time.Now().In(l).Zone(); return o }())
	if m := e.do(&a, "GET", path, "").json(t); m["offset"] != want {
		t.Fatalf("offset %v, want %s", m["offset"], want)
	}
}

// TestUserInformation: posted information shows in user/info for its day,
// valid against ROOK's user_info schema, merged over Oura's document of
// that day.
func TestUserInformation(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	post := `{"datetime":"2024-04-21T10:00:00.5Z","user_id":"info-user","date_of_birth_string":"1990-04-21",` +
		`"height_cm_int":171,"weight_kg_float":64.5,"bmi_float":22.1,"sex_string":"female","country_string":"FR"}`
	r := e.do(&a, "POST", "/api/v2/user-information", post)
	if r.status != 200 || r.json(t)["message"] != "added" {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	r = e.do(&a, "GET", "/v2/processed_data/user/info?user_id=info-user&date=2024-04-21", "")
	if r.status != 200 {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}
	if err := rookschema.Validate(t, health.PillarUser, health.UserInfo, r.body); err != nil {
		t.Fatalf("user_info does not validate: %v\n%s", err, r.body)
	}
	var d health.UserInfoDocument
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	if d.ClientUUID != a.uuid || d.UserID != "info-user" || d.DocumentVersion != 1 || *d.UserInformation.UserBodyMetrics.HeightCm != 171 ||
		*d.UserInformation.UserDemographics.Sex != "female" || *d.UserInformation.UserDemographics.Country != "FR" ||
		*d.UserInformation.UserDemographics.DateOfBirth != "1990-04-21" || d.Metadata.SourcesOfData[0] != "Manual" {
		t.Fatalf("user_info %s", r.body)
	}
	if r := e.do(&a, "GET", "/v2/processed_data/user/info?user_id=info-user&date=2024-04-20", ""); r.status != 204 {
		t.Fatalf("another day: %d", r.status)
	}

	// Over an Oura document of the same day: Oura's values stay, posted
	// values win where both say something.
	oura := &health.UserInfoDocument{Header: health.Header{ClientUUID: a.uuid, UserID: "info-user", Day: "2024-04-21"}}
	oura.Metadata = health.Metadata{Datetime: health.String("2024-04-21T00:00:00.000000Z"), SourcesOfData: []string{"Oura"}, UserID: health.String("info-user")}
	oura.UserInformation.UserBodyMetrics.HeightCm = health.Int(160)
	oura.UserInformation.UserDemographics.Gender = health.String("f")
	if _, err := e.st.ApplyHealthDocuments(e.ctx, []store.HealthInput{{Key: "2024-04-21", Doc: oura}}); err != nil {
		t.Fatal(err)
	}
	r = e.do(&a, "GET", "/v2/processed_data/user/info?user_id=info-user&date=2024-04-21", "")
	d = health.UserInfoDocument{}
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	if *d.UserInformation.UserBodyMetrics.HeightCm != 171 || *d.UserInformation.UserDemographics.Gender != "f" ||
		strings.Join(d.Metadata.SourcesOfData, ",") != "Oura,Manual" {
		t.Fatalf("merged user_info %s", r.body)
	}
	if err := rookschema.Validate(t, health.PillarUser, health.UserInfo, r.body); err != nil {
		t.Fatalf("merged user_info does not validate: %v", err)
	}

	for name, body := range map[string]string{
		"no user_id":         `{"height_cm_int":170}`,
		"nothing to add":     `{"user_id":"x"}`,
		"float height":       `{"user_id":"x","height_cm_int":170.5}`,
		"future birth":       `{"user_id":"x","date_of_birth_string":"2999-01-01"}`,
		"bad datetime":       `{"user_id":"x","height_cm_int":170,"datetime":"yesterday"}`,
		"future datetime":    `{"user_id":"x","height_cm_int":170,"datetime":"2999-01-01T00:00:00Z"}`,
		"negative weight":    `{"user_id":"x","weight_kg_float":-3}`,
		"empty sex":          `{"user_id":"x","sex_string":""}`,
		"bad user":           `{"user_id":"x y","height_cm_int":170}`,
		"height as a string": `{"user_id":"x","height_cm_int":"170"}`,
	} {
		if r := e.do(&a, "POST", "/api/v2/user-information", body); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if _, err := e.st.GetUser(e.ctx, a.uuid, "x"); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("a refused post created a user: %v", err)
	}
}

// TestUsersStatus: totals, the page of users with their authorizations,
// pagination and the date rules.
func TestUsersStatus(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	for i := range 103 {
		if _, err := e.st.UpsertUser(e.ctx, store.User{ClientUUID: a.uuid, UserID: fmt.Sprintf("u%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	seedUser(t, e, a.uuid, "u000")
	today := time.Now().UTC().Format(time.DateOnly)
	r := e.do(&a, "GET", "/api/v1/client/users/status?up_to_date="+today, "")
	var st usersStatus
	if err := json.Unmarshal(r.body, &st); err != nil || r.status != 200 {
		t.Fatalf("%d %v", r.status, err)
	}
	if st.TotalCreatedUsers != 103 || st.TotalActiveUsers != 1 || len(st.Users) != 100 || st.Pagination.TotalPages != 2 ||
		st.Pagination.NextPage == nil || *st.Pagination.NextPage != 2 {
		t.Fatalf("page 1: totals %d/%d, %d users, pagination %+v", st.TotalCreatedUsers, st.TotalActiveUsers, len(st.Users), st.Pagination)
	}
	if u := st.Users[0]; u.UserID != "u000" || !u.Active || len(u.DataSources) != 1 || u.DataSources[0].DataSource != "Oura" || !u.DataSources[0].Authorized {
		t.Fatalf("first user %+v", u)
	}
	r = e.do(&a, "GET", "/api/v1/client/users/status?up_to_date="+today+"&page=2", "")
	st = usersStatus{}
	_ = json.Unmarshal(r.body, &st)
	if len(st.Users) != 3 || st.Pagination.NextPage != nil || st.Users[2].UserID != "u102" {
		t.Fatalf("page 2: %s", r.body)
	}
	// Up to yesterday: none of them existed yet.
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	st = usersStatus{}
	_ = json.Unmarshal(e.do(&a, "GET", "/api/v1/client/users/status?up_to_date="+yesterday, "").body, &st)
	if st.TotalCreatedUsers != 0 || len(st.Users) != 0 {
		t.Fatalf("up to yesterday: %+v", st)
	}
	for name, target := range map[string]string{
		"no date":        "/api/v1/client/users/status",
		"too old":        "/api/v1/client/users/status?up_to_date=" + time.Now().UTC().AddDate(0, -7, 0).Format(time.DateOnly),
		"page 0":         "/api/v1/client/users/status?up_to_date=" + today + "&page=0",
		"page not a num": "/api/v1/client/users/status?up_to_date=" + today + "&page=two",
	} {
		if r := e.do(&a, "GET", target, ""); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

type fakeResender struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeResender) Replay(_ context.Context, clientUUID string, q store.ReplayQuery) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, clientUUID+" "+q.ClientUUID+" "+q.CreatedFrom.Format(time.RFC3339)+" "+q.CreatedTo.Format(time.RFC3339))
	return 29, nil
}

type fakeResyncer struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeResyncer) Resync(_ context.Context, c store.Connection, from, to string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%d %s %s", c.ID, from, to))
	return 3, nil
}

// TestClientRoutesNotConfigured: resend and re-sync answer 503 with a
// message until the engines behind them are configured, then work.
func TestClientRoutesNotConfigured(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	seedUser(t, e, a.uuid, "u1")
	for _, rq := range []struct{ target, body string }{
		{"/api/v1/client/webhooks/resend", `{"start":"2024-04-20","finish":"2024-04-21"}`},
		{"/api/v1/user_id/u1/data_source/Oura/sync", `{"start_date":"2024-04-20","end_date":"2024-04-21"}`},
	} {
		r := e.do(&a, "POST", rq.target, rq.body)
		if r.status != 503 || !strings.Contains(r.json(t)["message"].(string), "not available") {
			t.Fatalf("%s: %d %s", rq.target, r.status, r.body)
		}
	}

	res, rs := &fakeResender{}, &fakeResyncer{}
	e2 := newEnv(t, envOptions{resender: res, resyncer: rs})
	b := e2.newClient("B")
	seedUser(t, e2, b.uuid, "u1")
	r := e2.do(&b, "POST", "/api/v1/client/webhooks/resend", `{"start":"2024-04-20","finish":"2024-04-21"}`)
	if m := r.json(t); r.status != 200 || m["message"] != "Success" || m["total_docs_to_resend"] != float64(29) {
		t.Fatalf("resend: %d %s", r.status, r.body)
	}
	if want := b.uuid + " " + b.uuid + " 2024-04-20T00:00:00Z 2024-04-22T00:00:00Z"; len(res.calls) != 1 || res.calls[0] != want {
		t.Fatalf("resend calls %v, want %s", res.calls, want)
	}
	if r := e2.do(&b, "POST", "/api/v1/client/webhooks/resend", `{"start":"2024-04-21","finish":"2024-04-20"}`); r.status != 400 {
		t.Fatalf("finish before start: %d", r.status)
	}
	r = e2.do(&b, "POST", "/api/v1/user_id/u1/data_source/Oura/sync", `{"start_date":"2024-04-01","end_date":"2024-04-10"}`)
	if r.status != 202 || r.json(t)["jobs"] != float64(3) || len(rs.calls) != 1 || !strings.HasSuffix(rs.calls[0], " 2024-04-01 2024-04-10") {
		t.Fatalf("sync: %d %s %v", r.status, r.body, rs.calls)
	}
	if r := e2.do(&b, "POST", "/api/v1/user_id/u1/data_source/Oura/sync", `{"start_date":"2024-01-01","end_date":"2024-04-10"}`); r.status != 400 {
		t.Fatalf("a range over 31 days: %d", r.status)
	}
	if r := e2.do(&b, "POST", "/api/v1/user_id/someone-else/data_source/Oura/sync", `{"start_date":"2024-04-01","end_date":"2024-04-02"}`); r.status != 404 {
		t.Fatalf("sync for an unknown user: %d", r.status)
	}
}

// TestEventsOfADayMerged: a day's event documents come as one document,
// records in time order, the highest document_version, valid against
// ROOK's schema; a range gives one document per day.
func TestEventsOfADayMerged(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	seedUser(t, e, a.uuid, "u1")
	ev := func(start string) *health.ActivityEventDocument {
		d := &health.ActivityEventDocument{Header: health.Header{ClientUUID: a.uuid, UserID: "u1", Day: start[:10]}, AutoDetected: health.Bool(false)}
		var rec health.ActivityEventRecord
		rec.Metadata.Datetime = health.String(start)
		rec.Metadata.SourcesOfData = []string{"Oura"}
		rec.Activity.ActivityStartDatetime = health.String(start)
		d.Events = []health.ActivityEventRecord{rec}
		return d
	}
	late, early := ev("2024-03-05T18:00:00.000000Z"), ev("2024-03-05T07:00:00.000000+02:00")
	other := ev("2024-03-06T09:00:00.000000Z")
	if _, err := e.st.ApplyHealthDocuments(e.ctx, []store.HealthInput{{Key: "workout:a", Doc: late}, {Key: "workout:b", Doc: early}, {Key: "workout:c", Doc: other}}); err != nil {
		t.Fatal(err)
	}
	late.Events[0].Activity.ActivityDurationSeconds = health.Int(600) // a new version of one of them
	if _, err := e.st.ApplyHealthDocuments(e.ctx, []store.HealthInput{{Key: "workout:a", Doc: late}}); err != nil {
		t.Fatal(err)
	}
	r := e.do(&a, "GET", "/v2/processed_data/physical_health/events/activity?user_id=u1&date=2024-03-05", "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if err := rookschema.Validate(t, health.PillarPhysical, health.ActivityEvent, r.body); err != nil {
		t.Fatalf("merged events do not validate: %v", err)
	}
	var d health.ActivityEventDocument
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Events) != 2 || *d.Events[0].Metadata.Datetime != "2024-03-05T07:00:00.000000+02:00" || d.DocumentVersion != 2 ||
		d.AutoDetected == nil || *d.AutoDetected {
		t.Fatalf("merged %s", r.body)
	}
	r = e.do(&a, "GET", "/v2/processed_data/physical_health/events/activity?user_id=u1&start_date=2024-03-01&end_date=2024-03-07", "")
	var days []health.ActivityEventDocument
	if err := json.Unmarshal(r.body, &days); err != nil || len(days) != 2 || len(days[0].Events) != 2 || len(days[1].Events) != 1 {
		t.Fatalf("range: %v %s", err, r.body)
	}
	for _, bad := range []string{
		"start_date=2024-03-01",
		"start_date=2024-03-05&end_date=2024-03-01",
		"start_date=2024-01-01&end_date=2024-03-01",
		"date=2024-03-05&start_date=2024-03-01&end_date=2024-03-07",
		"",
	} {
		if r := e.do(&a, "GET", "/v2/processed_data/physical_health/events/activity?user_id=u1&"+bad, ""); r.status != 400 {
			t.Errorf("%q: %d %s", bad, r.status, r.body)
		}
	}
}

// TestSummariesOfSeveralDataSources: a user linked to two providers has a
// sleep summary of one day from each. data_source picks one; without it
// the answer is the first data source's by slug, every time.
func TestSummariesOfSeveralDataSources(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	seedUser(t, e, a.uuid, "u1") // Oura's, 27,000 s
	other := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: a.uuid, UserID: "u1", Day: "2024-03-05"}}
	other.Summary.Metadata.Datetime = health.String("2024-03-05T07:00:00.000000Z")
	other.Summary.Metadata.SourcesOfData = []string{"Fitbit"}
	other.Summary.Duration.SleepDurationSeconds = health.Int(25000)
	if _, err := e.st.ApplyHealthDocuments(e.ctx, []store.HealthInput{{Key: store.HealthKey("fitbit", "2024-03-05"), Doc: other}}); err != nil {
		t.Fatal(err)
	}
	seconds := func(query string) int {
		t.Helper()
		r := e.do(&a, "GET", "/v2/processed_data/sleep_health/summary?user_id=u1&date=2024-03-05"+query, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", query, r.status, r.body)
		}
		var d health.SleepSummaryDocument
		if err := json.Unmarshal(r.body, &d); err != nil || d.Summary.Duration.SleepDurationSeconds == nil {
			t.Fatalf("%s: %v %s", query, err, r.body)
		}
		return *d.Summary.Duration.SleepDurationSeconds
	}
	if got := seconds(""); got != 25000 {
		t.Errorf("without data_source: %d s, want the first data source's (fitbit, 25000)", got)
	}
	for _, q := range []string{"&data_source=Oura", "&data_source=oura"} {
		if got := seconds(q); got != 27000 {
			t.Errorf("%s: %d s, want Oura's 27000", q, got)
		}
	}
}

// TestNotFoundAndMethod: unknown routes and wrong methods get JSON errors.
func TestNotFoundAndMethod(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	r := e.do(&a, "GET", "/v2/processed_data/sleep_health/nope", "")
	if r.status != 404 || !strings.Contains(r.json(t)["message"].(string), "no route") {
		t.Fatalf("unknown route: %d %s", r.status, r.body)
	}
	r = e.do(&a, "DELETE", "/api/v1/user_id/u1/time_zone", "")
	if r.status != 405 || r.header.Get("Allow") != "GET, POST" || !strings.Contains(r.json(t)["message"].(string), "DELETE is not allowed") {
		t.Fatalf("wrong method: %d %s %v", r.status, r.body, r.header)
	}
	if r.header.Get("X-Request-Id") == "" || r.json(t)["request_id"] != r.header.Get("X-Request-Id") {
		t.Fatalf("no request id: %v %s", r.header, r.body)
	}
}
