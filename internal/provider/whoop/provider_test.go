package whoop

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/testutil"
)

func ids(docs []provider.Document) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID + "@" + d.Day
	}
	sort.Strings(out)
	return out
}

// TestFetchSleepDays: a sleep belongs to the local day of its end in its
// own offset, whatever UTC says; the query is widened and the answer
// filtered; records without a score are kept.
func TestFetchSleepDays(t *testing.T) {
	f := newFakeWhoop(t)
	f.add(pathSleep,
		// Ends 2024-03-05 23:30 UTC, which is 03-06 01:30 at +02:00.
		sleepRec(t, "east", 1, "2024-03-05T16:00:00.000Z", "2024-03-05T23:30:00.000Z", "+02:00", ScoreStateScored),
		// Ends 03-06 03:00 UTC, which is 03-05 22:00 at -05:00.
		sleepRec(t, "west", 2, "2024-03-05T20:00:00.000Z", "2024-03-06T03:00:00.000Z", "-05:00", ScoreStatePendingScore),
		// A night that starts on 03-04 and ends on the morning of 03-05.
		sleepRec(t, "night", 3, "2024-03-04T22:00:00.000Z", "2024-03-05T06:00:00.000Z", "Z", ScoreStateUnscorable),
		// Ends 03-04 23:00 UTC: 03-05 13:00 at +14:00.
		sleepRec(t, "kiritimati", 4, "2024-03-04T20:00:00.000Z", "2024-03-04T23:00:00.000Z", "+14:00", ScoreStateScored),
		// Ends 03-06 11:00 UTC: 03-05 23:00 at -12:00.
		sleepRec(t, "baker", 5, "2024-03-06T09:00:00.000Z", "2024-03-06T11:00:00.000Z", "-12:00", ScoreStateScored),
		sleepRec(t, "before", 6, "2024-03-03T22:00:00.000Z", "2024-03-04T06:00:00.000Z", "Z", ScoreStateScored),
		sleepRec(t, "after", 7, "2024-03-06T22:00:00.000Z", "2024-03-07T06:00:00.000Z", "Z", ScoreStateScored),
	)
	p := f.provider(t, newClock())
	docs, err := p.Fetch(context.Background(), provider.StaticToken("tok"), CollSleep, provider.Window{From: "2024-03-05", To: "2024-03-05"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"baker@2024-03-05", "kiritimati@2024-03-05", "night@2024-03-05", "west@2024-03-05"}
	if got := ids(docs); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, d := range docs {
		var s Sleep
		if err := json.Unmarshal(d.Raw, &s); err != nil || s.ID != d.ID || d.Collection != CollSleep {
			t.Errorf("document %s: raw %s (%v)", d.ID, d.Raw, err)
		}
	}
	q := f.log()[0].URL.Query()
	if q.Get("start") != "2024-03-02T10:00:00.000Z" || q.Get("end") != "2024-03-06T12:00:00.000Z" {
		t.Errorf("query window %s .. %s", q.Get("start"), q.Get("end"))
	}
}

// TestFetchCycleDays: a cycle belongs to the local day it starts; the
// current cycle, with no end, is kept.
func TestFetchCycleDays(t *testing.T) {
	f := newFakeWhoop(t)
	f.add(pathCycle,
		cycleRec(t, 101, "2024-03-04T23:00:00.000Z", "2024-03-05T22:00:00.000Z", "+02:00"), // starts 03-05 01:00 local
		cycleRec(t, 102, "2024-03-05T22:00:00.000Z", "", "+02:00"),                         // current, starts 03-06 local
		cycleRec(t, 100, "2024-03-04T02:00:00.000Z", "2024-03-04T23:00:00.000Z", "-05:00"), // starts 03-03 21:00 local
	)
	p := f.provider(t, newClock())
	for _, tt := range []struct {
		from, to string
		want     []string
	}{
		{"2024-03-05", "2024-03-05", []string{"101@2024-03-05"}},
		{"2024-03-06", "2024-03-06", []string{"102@2024-03-06"}},
		{"2024-03-03", "2024-03-06", []string{"100@2024-03-03", "101@2024-03-05", "102@2024-03-06"}},
		{"2024-03-04", "2024-03-04", []string{}},
	} {
		docs, err := p.Fetch(context.Background(), provider.StaticToken("tok"), CollCycle, provider.Window{From: tt.from, To: tt.to})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(docs); !slices.Equal(got, tt.want) {
			t.Errorf("%s..%s: got %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestFetchWorkoutDays: a workout that crosses local midnight belongs to
// the day it ends.
func TestFetchWorkoutDays(t *testing.T) {
	f := newFakeWhoop(t)
	f.add(pathWorkout,
		workoutRec(t, "late", "2024-03-05T21:30:00.000Z", "2024-03-05T22:30:00.000Z", "+01:00"),     // 22:30-23:30 local 03-05
		workoutRec(t, "midnight", "2024-03-05T22:30:00.000Z", "2024-03-05T23:30:00.000Z", "+01:00"), // ends 00:30 03-06
	)
	p := f.provider(t, newClock())
	docs, err := p.Fetch(context.Background(), provider.StaticToken("tok"), CollWorkout, provider.Window{From: "2024-03-05", To: "2024-03-05"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(docs); !slices.Equal(got, []string{"late@2024-03-05"}) {
		t.Errorf("got %v", got)
	}
}

// TestFetchRecoveryDays: a recovery is filed on its sleep's day and keyed
// by its sleep's id; a sleep outside the listing is read by id; a
// recovery whose sleep is gone is left out.
func TestFetchRecoveryDays(t *testing.T) {
	f := newFakeWhoop(t)
	f.add(pathSleep,
		sleepRec(t, "s1", 11, "2024-03-04T22:00:00.000Z", "2024-03-05T06:00:00.000Z", "Z", ScoreStateScored),
		sleepRec(t, "s2", 12, "2024-03-05T22:00:00.000Z", "2024-03-06T06:00:00.000Z", "Z", ScoreStateScored),
	)
	f.add(pathRecovery,
		recoveryRec(t, 11, "s1", "2024-03-04T22:00:00.000Z"),
		recoveryRec(t, 12, "s2", "2024-03-05T22:00:00.000Z"),
		recoveryRec(t, 13, "gone", "2024-03-05T01:00:00.000Z"),
	)
	// The listing of sleeps misses s1, as if it had moved since.
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/developer"+pathSleep {
			writeJSON(w, map[string]any{"records": []any{f.colls[pathSleep][1].body}})
			return true
		}
		return false
	}
	p := f.provider(t, newClock())
	docs, err := p.Fetch(context.Background(), provider.StaticToken("tok"), CollRecovery, provider.Window{From: "2024-03-05", To: "2024-03-06"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(docs); !slices.Equal(got, []string{"s1@2024-03-05", "s2@2024-03-06"}) {
		t.Errorf("got %v", got)
	}
	var byID []string
	for _, r := range f.log() {
		if strings.HasPrefix(r.URL.Path, "/developer"+pathSleep+"/") {
			byID = append(byID, strings.TrimPrefix(r.URL.Path, "/developer"+pathSleep+"/"))
		}
	}
	if !slices.Equal(byID, []string{"gone", "s1"}) { // newest sleep first
		t.Errorf("sleeps read by id: %v", byID)
	}
}

// TestFetchDocument: by-id routes, and a recovery named by its sleep's
// UUID (WHOOP's v2 recovery notifications) or by a cycle id (v1).
func TestFetchDocument(t *testing.T) {
	f := newFakeWhoop(t)
	f.add(pathSleep, sleepRec(t, "ecfc6a15-4661-442f-a9a4-f160dd7afae8", 93845, "2022-04-24T02:25:44.774Z", "2022-04-24T10:25:44.774Z", "-05:00", ScoreStateScored))
	f.add(pathRecovery, recoveryRec(t, 93845, "ecfc6a15-4661-442f-a9a4-f160dd7afae8", "2022-04-24T02:25:44.774Z"))
	f.add(pathCycle, cycleRec(t, 93845, "2022-04-24T02:25:44.774Z", "2022-04-24T10:25:44.774Z", "-05:00"))
	f.add(pathWorkout, workoutRec(t, "w1", "2022-04-24T02:25:44.774Z", "2022-04-24T03:25:44.774Z", "-05:00"))
	p := f.provider(t, newClock())
	tests := []struct {
		coll, id string
		want     string
		kind     provider.Kind
	}{
		{CollSleep, "ecfc6a15-4661-442f-a9a4-f160dd7afae8", "ecfc6a15-4661-442f-a9a4-f160dd7afae8@2022-04-24", 0},
		{CollRecovery, "ecfc6a15-4661-442f-a9a4-f160dd7afae8", "ecfc6a15-4661-442f-a9a4-f160dd7afae8@2022-04-24", 0},
		{CollRecovery, "93845", "ecfc6a15-4661-442f-a9a4-f160dd7afae8@2022-04-24", 0},
		{CollCycle, "93845", "93845@2022-04-23", 0}, // starts 21:25 local the evening before
		{CollWorkout, "w1", "w1@2022-04-23", 0},
		{CollWorkout, "nope", "", provider.KindNotFound},
		{CollRecovery, "nope", "", provider.KindNotFound},
		{CollProfile, "1", "", provider.KindInvalidRequest},
		{"heartrate", "1", "", provider.KindInvalidRequest},
	}
	for _, tt := range tests {
		d, err := p.FetchDocument(context.Background(), provider.StaticToken("tok"), tt.coll, tt.id)
		if tt.kind != 0 {
			if provider.KindOf(err) != tt.kind {
				t.Errorf("%s %s: err %v, want %v", tt.coll, tt.id, err, tt.kind)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s %s: %v", tt.coll, tt.id, err)
		}
		if got := d.ID + "@" + d.Day; got != tt.want || d.Collection != tt.coll || len(d.Raw) == 0 {
			t.Errorf("%s %s: got %s (%s), want %s", tt.coll, tt.id, got, d.Collection, tt.want)
		}
	}
}

// TestIdentify: the profile's user_id, as text; the profile and the body
// measurement come back as documents; a profile without user_id fails.
func TestIdentify(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		f := newFakeWhoop(t)
		acc, err := f.provider(t, newClock()).Identify(context.Background(), provider.StaticToken("tok"))
		if err != nil {
			t.Fatal(err)
		}
		if acc.ExternalUserID != "10129" || len(acc.Documents) != 2 ||
			acc.Documents[0].Collection != CollProfile || acc.Documents[0].ID != "10129" ||
			acc.Documents[1].Collection != CollBodyMeasurement {
			t.Errorf("account %+v", acc)
		}
	})
	t.Run("no body measurement scope", func(t *testing.T) {
		f := newFakeWhoop(t)
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, pathBody) {
				w.WriteHeader(http.StatusForbidden)
				return true
			}
			return false
		}
		acc, err := f.provider(t, newClock()).Identify(context.Background(), provider.StaticToken("tok"))
		if err != nil || len(acc.Documents) != 1 {
			t.Errorf("account %+v, err %v", acc, err)
		}
	})
	t.Run("no user_id", func(t *testing.T) {
		f := newFakeWhoop(t)
		delete(f.profile, "user_id")
		_, err := f.provider(t, newClock()).Identify(context.Background(), provider.StaticToken("tok"))
		if provider.KindOf(err) != provider.KindServer || !strings.Contains(err.Error(), "user_id") {
			t.Errorf("err %v, want a server error naming user_id", err)
		}
	})
}

// TestRevoke: DELETE /v2/user/access with the user's own token.
func TestRevoke(t *testing.T) {
	f := newFakeWhoop(t)
	p := f.provider(t, newClock())
	if err := p.Revoke(context.Background(), provider.StaticToken("tok")); err != nil {
		t.Fatal(err)
	}
	reqs := f.log()
	if len(reqs) != 1 || reqs[0].Method != http.MethodDelete || reqs[0].URL.Path != "/developer/v2/user/access" ||
		reqs[0].Header.Get("Authorization") != "Bearer tok" || !f.revoked {
		t.Errorf("requests %v", reqs)
	}
	if err := p.Revoke(context.Background(), provider.StaticToken("other")); provider.KindOf(err) != provider.KindInvalidToken {
		t.Errorf("revoke with a dead token: %v", err)
	}
}

// TestInfo: what the seam is told about WHOOP.
func TestInfo(t *testing.T) {
	p, err := NewProvider(Config{Client: &Client{}, OAuthBaseURL: "http://127.0.0.1:9/"})
	if err != nil {
		t.Fatal(err)
	}
	info := p.Info()
	o := info.OAuth
	if info.DataSource != "whoop" || info.Name != "Whoop" || o.AuthURL != "http://127.0.0.1:9/oauth/oauth2/auth" ||
		o.TokenURL != "http://127.0.0.1:9/oauth/oauth2/token" || o.AuthStyle != provider.AuthInParams || o.PKCE != provider.PKCENone ||
		!o.RotatesRefreshToken || !slices.Contains(o.RequiredScopes, "offline") || o.ScopeSeparator != " " ||
		strings.Join(o.Scopes, " ") != "read:recovery read:cycles read:workout read:sleep read:profile read:body_measurement offline" {
		t.Errorf("info %+v", info)
	}
	if _, err := provider.NewRegistry(p); err != nil {
		t.Errorf("registry: %v", err)
	}
	got := map[string]provider.Collection{}
	for _, c := range p.Collections() {
		got[c.Name] = c
	}
	for name, want := range map[string][3]bool{ // ByID, Notified, instants
		CollCycle: {true, false, true}, CollSleep: {true, true, true}, CollRecovery: {true, true, true}, CollWorkout: {true, true, true},
		CollProfile: {false, false, false}, CollBodyMeasurement: {false, false, false},
	} {
		c, ok := got[name]
		if !ok || c.ByID != want[0] || c.Notified != want[1] || (c.Range == provider.RangeInstants) != want[2] ||
			(!want[2] && c.Range != provider.RangeSingleton) {
			t.Errorf("collection %s: %+v", name, c)
		}
	}
}

// TestReadNotification: signatures, stale timestamps, and what each type
// announces.
func TestReadNotification(t *testing.T) {
	clk := newClock()
	now := strconv.FormatInt(clk.Now().UnixMilli(), 10)
	p, err := NewProvider(Config{Client: &Client{}, OAuthBaseURL: "http://127.0.0.1:9", ClientSecret: "secret", WallClock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	body := func(typ string, id any) string {
		b, _ := json.Marshal(map[string]any{"user_id": 10129, "id": id, "type": typ, "trace_id": "e369c784-5100-49e8-8098-75d35c47b31b"})
		return string(b)
	}
	const uuid = "ecfc6a15-4661-442f-a9a4-f160dd7afae8"
	tests := []struct {
		name      string
		body      string
		ts, sig   string // sig "" means signed correctly
		wantKind  provider.Kind
		wantNotes []provider.Notification
	}{
		{"sleep updated", body("sleep.updated", uuid), now, "", 0,
			[]provider.Notification{{ExternalUserID: "10129", Collection: CollSleep, Event: "update", ID: uuid}}},
		{"workout deleted", body("workout.deleted", uuid), now, "", 0,
			[]provider.Notification{{ExternalUserID: "10129", Collection: CollWorkout, Event: "delete", ID: uuid}}},
		{"recovery by sleep id", body("recovery.updated", uuid), now, "", 0,
			[]provider.Notification{{ExternalUserID: "10129", Collection: CollRecovery, Event: "update", ID: uuid}}},
		{"v1 numeric id", body("recovery.deleted", 93845), now, "", 0,
			[]provider.Notification{{ExternalUserID: "10129", Collection: CollRecovery, Event: "delete", ID: "93845"}}},
		{"unknown type", body("body_measurement.updated", uuid), now, "", 0, nil},
		{"unknown event", body("sleep.created", uuid), now, "", 0, nil},
		{"within the window", body("sleep.updated", uuid), strconv.FormatInt(clk.Now().Add(-4*time.Minute).UnixMilli(), 10), "", 0,
			[]provider.Notification{{ExternalUserID: "10129", Collection: CollSleep, Event: "update", ID: uuid}}},
		{"bad signature", body("sleep.updated", uuid), now, Sign("other", now, []byte(body("sleep.updated", uuid))), provider.KindUnauthorized, nil},
		{"not base64", body("sleep.updated", uuid), now, "%%%", provider.KindUnauthorized, nil},
		{"stale", body("sleep.updated", uuid), strconv.FormatInt(clk.Now().Add(-6*time.Minute).UnixMilli(), 10), "", provider.KindUnauthorized, nil},
		{"from the future", body("sleep.updated", uuid), strconv.FormatInt(clk.Now().Add(6*time.Minute).UnixMilli(), 10), "", provider.KindUnauthorized, nil},
		{"seconds, not milliseconds", body("sleep.updated", uuid), strconv.FormatInt(clk.Now().Unix(), 10), "", provider.KindUnauthorized, nil},
		{"no timestamp", body("sleep.updated", uuid), "", "", provider.KindUnauthorized, nil},
		{"not JSON", "{", now, "", provider.KindInvalidRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/whoop", strings.NewReader(tt.body))
			sig := tt.sig
			if sig == "" {
				sig = Sign("secret", tt.ts, []byte(tt.body))
			}
			r.Header.Set("X-WHOOP-Signature", sig)
			if tt.ts != "" {
				r.Header.Set("X-WHOOP-Signature-Timestamp", tt.ts)
			}
			got, err := p.ReadNotification(r, []byte(tt.body))
			if tt.wantKind != 0 {
				if provider.KindOf(err) != tt.wantKind {
					t.Errorf("err %v, want kind %v", err, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.wantNotes) {
				t.Errorf("got %+v, want %+v", got, tt.wantNotes)
			}
		})
	}
	t.Run("no secret", func(t *testing.T) {
		p, _ := NewProvider(Config{Client: &Client{}, OAuthBaseURL: "http://127.0.0.1:9", WallClock: clk.Now})
		b := body("sleep.updated", uuid)
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(b))
		r.Header.Set("X-WHOOP-Signature", Sign("", now, []byte(b)))
		r.Header.Set("X-WHOOP-Signature-Timestamp", now)
		if _, err := p.ReadNotification(r, []byte(b)); provider.KindOf(err) != provider.KindUnauthorized {
			t.Errorf("err %v", err)
		}
	})
}

// TestSignKnownVector pins the formula: base64(HMAC-SHA256(secret,
// timestamp + body)), no separator.
func TestSignKnownVector(t *testing.T) {
	// Computed independently: printf '1748241241000{"a":1}' | openssl dgst -sha256 -hmac secret -binary | base64
	const want = "GmVKvAx1zt/ZEjrnH/EY8+2xaiENG0JIqXq6p0sO8Ek="
	if got := Sign("secret", "1748241241000", []byte(`{"a":1}`)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

// TestDecodeTolerant: unknown fields and enum values decode; the bytes
// are kept exactly; the spec-shaped examples decode.
func TestDecodeTolerant(t *testing.T) {
	raw := `{"id":"x","cycle_id":1,"user_id":2,"start":"2024-03-05T00:00:00Z","end":"2024-03-05T06:00:00Z","timezone_offset":"Z","nap":true,"score_state":"REFINED_LATER","brand_new":{"a":[1]},"score":{"stage_summary":{"total_in_bed_time_milli":1,"new_stage_milli":5},"sleep_needed":{},"future":1}}`
	var rec Record[Sleep]
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	if string(rec.Raw) != raw || rec.Value.ScoreState != "REFINED_LATER" || !rec.Value.Nap || rec.Value.Score.StageSummary.TotalInBedTimeMilli != 1 {
		t.Errorf("decoded %+v", rec)
	}
	if out, _ := json.Marshal(rec); string(out) != raw {
		t.Errorf("re-encoded %s", out)
	}
	for _, name := range []string{"whoop-get-recovery-example.json", "whoop-list-sleep-example.json", "whoop-list-workouts-example.json"} {
		b, err := os.ReadFile(testutil.ReferenceFile(t, "providers/whoop/fixtures/api-evangelist-examples/"+name))
		if err != nil {
			t.Fatal(err)
		}
		var ex struct {
			Response struct {
				Body json.RawMessage `json:"body"`
			} `json:"response"`
		}
		if err := json.Unmarshal(b, &ex); err != nil {
			t.Fatal(err)
		}
		switch name {
		case "whoop-get-recovery-example.json":
			var r Record[Recovery]
			if err := json.Unmarshal(ex.Response.Body, &r); err != nil || r.Value.Score == nil || r.Value.Score.SpO2Percentage == nil {
				t.Errorf("%s: %+v %v", name, r.Value, err)
			}
		case "whoop-list-sleep-example.json":
			var p page[Sleep]
			if err := json.Unmarshal(ex.Response.Body, &p); err != nil || len(p.Records) != 1 || p.NextToken != nil {
				t.Errorf("%s: %+v %v", name, p, err)
			}
		default:
			var p page[Workout]
			if err := json.Unmarshal(ex.Response.Body, &p); err != nil || len(p.Records) != 1 || p.NextToken == nil ||
				p.Records[0].Value.Score.ZoneDurations.ZoneThreeMilli != 1500000 {
				t.Errorf("%s: %+v %v", name, p, err)
			}
		}
	}
}

// TestParseOffset covers the designators WHOOP documents.
func TestParseOffset(t *testing.T) {
	for in, want := range map[string]int{"Z": 0, "+00:00": 0, "-05:00": -5 * 3600, "+05:45": 5*3600 + 45*60, "+14:00": 14 * 3600, "-0330": -(3*3600 + 30*60)} {
		loc, err := ParseOffset(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if _, off := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Zone(); off != want {
			t.Errorf("%q: offset %d, want %d", in, off, want)
		}
	}
	for _, bad := range []string{"", "EST", "05:00", "+5"} {
		if _, err := ParseOffset(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
