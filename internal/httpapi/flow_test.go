package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil/rookschema"
)

// TestLinkFlowEndToEnd: a client gets an authorization_url, the person
// goes through the simulator's OAuth, the callback links the account (tokens
// sealed, Oura user id recorded) and redirects to the client's URL; after the
// backfill every processed_data route answers 200 for a day with data (the
// body valid against ROOK's document) and 204 for a day without; the raw
// documents are served as stored.
func TestLinkFlowEndToEnd(t *testing.T) {
	e := newEnv(t, envOptions{workers: true, backfillDays: 4})
	a := e.newClient("Sleep App")
	const user = "user-1"

	first := e.do(&a, "GET", "/api/v1/user_id/"+user+"/data_source/Oura/authorizer?redirect_url="+url.QueryEscape("https://app.example.com/linked?src=ring"), "")
	m := first.json(t)
	if first.status != 200 || m["data_source"] != "Oura" || m["authorized"] != false {
		t.Fatalf("authorizer before linking: %d %s", first.status, first.body)
	}
	authURL, _ := m["authorization_url"].(string)
	if !strings.HasPrefix(authURL, e.url+"/connect/oura?") {
		t.Fatalf("authorization_url %q does not point at this server's /connect/oura", authURL)
	}
	// Asking does not create the user.
	if _, err := e.st.GetUser(e.ctx, a.uuid, user); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("the authorizer created the user: %v", err)
	}

	b := browser(t)
	cb, cbURL := e.linkAs(b, authURL, 0, nil)
	if cb.status != http.StatusFound {
		t.Fatalf("callback: %d %s", cb.status, cb.body)
	}
	want := "https://app.example.com/linked/client_uuid/" + a.uuid + "/user_id/" + user + "?src=ring"
	if got := cb.header.Get("Location"); got != want {
		t.Fatalf("callback redirects to %s, want %s", got, want)
	}

	conn, err := e.st.FindConnection(e.ctx, a.uuid, user, "oura")
	if err != nil {
		t.Fatal(err)
	}
	simUser := e.sim.World().Users()[0]
	if conn.Status != store.StatusActive || conn.Tokens.AccessToken == "" || conn.Tokens.RefreshToken == "" ||
		conn.ExternalUserID != simUser.OuraID || len(conn.Tokens.Scopes) == 0 {
		t.Fatalf("connection after linking: status %s, tokens %t/%t, oura user %q (want %q), scopes %v", conn.Status,
			conn.Tokens.AccessToken != "", conn.Tokens.RefreshToken != "", conn.ExternalUserID, simUser.OuraID, conn.Tokens.Scopes)
	}
	access, refresh, err := e.st.SealedTokens(e.ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(access) == 0 || bytes.Contains(access, []byte(conn.Tokens.AccessToken)) || bytes.Contains(refresh, []byte(conn.Tokens.RefreshToken)) {
		t.Fatal("tokens are not sealed at rest")
	}
	if ev := e.events.list(); len(ev) != 2 || ev[0] != "user:"+a.uuid+"/"+user || ev[1] != "linked:"+a.uuid+"/"+user {
		t.Fatalf("lifecycle events %v", ev)
	}

	// The same callback again: the state is single use.
	if r := hop(t, b, cbURL, nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "already used") {
		t.Fatalf("replayed callback: %d %s", r.status, r.body)
	}

	again := e.do(&a, "GET", "/api/v1/user_id/"+user+"/data_source/oura/authorizer", "").json(t)
	if again["authorized"] != true || again["authorization_url"] != nil {
		t.Fatalf("authorizer after linking: %v", again)
	}
	if v1 := e.do(&a, "GET", "/api/v1/user_id/"+user+"/data_sources/authorized", "").json(t); v1["sources"].(map[string]any)["oura"] != true {
		t.Fatalf("authorized v1: %v", v1)
	}
	if v2 := e.do(&a, "GET", "/api/v2/user_id/"+user+"/data_sources/authorized", "").json(t); v2["data_sources"].([]any)[0].(map[string]any)["status"] != true {
		t.Fatalf("authorized v2: %v", v2)
	}
	list := e.do(&a, "GET", "/api/v1/client_uuid/"+a.uuid+"/user_id/"+user+"/data_sources/authorizers", "")
	if err := rookschema.ValidateNamed(t, "schema_data_sources_authorizers", list.body); err != nil {
		t.Errorf("authorizers list does not match ROOK's schema: %v\n%s", err, list.body)
	}

	conn = e.waitBackfill(a.uuid, user, 5*time.Minute)
	checkProcessedRoutes(t, e, a, user)

	// Raw documents come back byte for byte.
	pl := strings.Split(conn.Cursors["backfill"], "/")
	from, to := pl[0], pl[1]
	if today := time.Now().UTC().Format(time.DateOnly); to > today {
		to = today // without a zone the plan reaches a day ahead of UTC
	}
	raw := e.do(&a, "GET", "/v2/raw_data/oura/daily_sleep?user_id="+user+"&start_date="+from+"&end_date="+to, "")
	stored, err := e.st.RawDocuments(e.ctx, conn.ID, []string{oura.CollDailySleep}, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Data []json.RawMessage }
	if err := json.Unmarshal(raw.body, &got); err != nil || raw.status != 200 {
		t.Fatalf("raw_data: %d %v %s", raw.status, err, raw.body)
	}
	if len(stored) == 0 || len(got.Data) != len(stored) {
		t.Fatalf("raw_data gave %d documents, the store has %d", len(got.Data), len(stored))
	}
	for i := range stored {
		if !bytes.Equal(got.Data[i], stored[i].Body) {
			t.Fatalf("raw document %d differs from the stored bytes", i)
		}
	}
}

// checkProcessedRoutes asks every processed_data route for a day with data
// and a day without.
func checkProcessedRoutes(t *testing.T, e *env, c creds, user string) {
	t.Helper()
	served := 0
	for _, s := range health.Structures() {
		docs, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: c.uuid, UserID: user, DataStructure: s.Name, Pillar: s.Pillar})
		if err != nil {
			t.Fatal(err)
		}
		empty := e.do(&c, "GET", s.Route+"?user_id="+user+"&date=2001-02-03", "")
		if empty.status != http.StatusNoContent || len(empty.body) != 0 {
			t.Errorf("%s on a day without data: %d %s", s.Route, empty.status, empty.body)
		}
		if len(docs) == 0 {
			// Oura measures nothing for this structure (see normalize).
			switch s.Name {
			case health.NutritionEvent, health.MoodEvent, health.HydrationEvent, health.BloodGlucoseEvent, health.BloodPressureEvent:
			case health.HeartRateEvent, health.OxygenationEvent:
				if s.Pillar != health.PillarPhysical {
					t.Errorf("no %s/%s documents after the backfill", s.Pillar, s.Name)
				}
			case health.ActivityEvent:
				t.Logf("no workouts or sessions in the backfilled days")
			default:
				t.Errorf("no %s/%s documents after the backfill", s.Pillar, s.Name)
			}
			continue
		}
		day := docs[len(docs)-1].Day
		r := e.do(&c, "GET", s.Route+"?user_id="+user+"&date="+day, "")
		if r.status != 200 {
			t.Errorf("%s?date=%s: %d %s", s.Route, day, r.status, r.body)
			continue
		}
		served++
		if err := rookschema.Validate(t, s.Pillar, s.Name, r.body); err != nil {
			t.Errorf("%s?date=%s does not validate against %s: %v\n%s", s.Route, day, s.Schema, err, r.body)
		}
		var onDay []store.HealthDocument
		for _, d := range docs {
			if d.Day == day {
				onDay = append(onDay, d)
			}
		}
		if len(onDay) == 1 && s.Kind != health.KindInfo && !bytes.Equal(r.body, onDay[0].Body) {
			t.Errorf("%s?date=%s is not the stored document byte for byte", s.Route, day)
		}
		// A range gives one document per day with data.
		rg := e.do(&c, "GET", s.Route+"?user_id="+user+"&start_date="+docs[0].Day+"&end_date="+day, "")
		var arr []json.RawMessage
		if err := json.Unmarshal(rg.body, &arr); err != nil || rg.status != 200 || len(arr) == 0 {
			t.Errorf("%s range: %d %v", s.Route, rg.status, err)
			continue
		}
		for _, item := range arr {
			if err := rookschema.Validate(t, s.Pillar, s.Name, item); err != nil {
				t.Errorf("%s range item does not validate: %v", s.Route, err)
			}
		}
	}
	if served < 8 {
		t.Errorf("only %d routes had data after the backfill", served)
	}
}
