package whoop

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/whoop/sim"
)

// simNow is the simulated "now" of the tests that read the simulator; its
// clock is frozen there, so the data stays put.
var simNow = time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC)

// startSim serves a simulator of users on loopback with a frozen clock and
// no rate limit, and returns it with a provider that reads it.
func startSim(t *testing.T, users int) (sim.Info, *Provider) {
	t.Helper()
	real := sim.NewManualTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := sim.New(sim.Config{Seed: 11, Users: users, HistoryStart: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		Clock: sim.NewClock(simNow, 0, real.Now), ScanInterval: -1, DisableRateLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	info := s.Info()
	c, err := New(ClientConfig{BaseURL: info.APIBaseURL})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider(Config{Client: c, OAuthBaseURL: info.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	return info, p
}

// Every document the simulator serves over 30 days reads back from its
// bytes with the ID and day Fetch gave it, and its collection is
// recognised from the documents alone; read as any other collection, it
// is refused.
func TestSimulatorDocumentsReadBack(t *testing.T) {
	info, p := startSim(t, 2)
	w := provider.Window{From: simNow.AddDate(0, 0, -29).Format(time.DateOnly), To: simNow.Format(time.DateOnly)}
	for _, u := range info.Users {
		loc, err := ParseOffset(u.TimezoneOffset)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Collections() {
			docs, err := p.Fetch(context.Background(), provider.StaticToken(u.AccessToken), c.Name, w)
			if err != nil {
				t.Fatalf("user %d: fetch %s: %v", u.Index, c.Name, err)
			}
			if len(docs) == 0 {
				t.Fatalf("user %d: no %s documents in 30 days", u.Index, c.Name)
			}
			raws := make([]json.RawMessage, len(docs))
			for i, d := range docs {
				raws[i] = d.Raw
				// The user's zone places a recovery as Fetch does; the
				// others carry their own offset, whatever the zone.
				for _, l := range []*time.Location{loc, nil, time.FixedZone("", 14*3600)} {
					got, at, err := p.ReadDocument(c.Name, d.Raw, l)
					if err != nil {
						t.Errorf("user %d: %s %s: %v", u.Index, c.Name, d.ID, err)
						continue
					}
					if got.ID != d.ID || got.Collection != d.Collection || string(got.Raw) != string(d.Raw) {
						t.Errorf("user %d: %s read back as %s %q, want %s %q", u.Index, c.Name, got.Collection, got.ID, d.Collection, d.ID)
					}
					if got.Day != d.Day && (l == loc || c.Name != CollRecovery) {
						t.Errorf("user %d: %s %s on day %q, Fetch says %q (zone %v)", u.Index, c.Name, d.ID, got.Day, d.Day, l)
					}
					if at.IsZero() != (c.Range == provider.RangeSingleton) {
						t.Errorf("user %d: %s %s ordered at %v", u.Index, c.Name, d.ID, at)
					}
				}
				for _, other := range p.Collections() {
					if other.Name == c.Name {
						continue
					}
					if _, _, err := p.ReadDocument(other.Name, d.Raw, loc); err == nil {
						t.Errorf("user %d: a %s document reads as %s", u.Index, c.Name, other.Name)
					}
				}
			}
			if got, ok := p.CollectionOf(raws); !ok || got != c.Name {
				t.Errorf("user %d: %d %s documents recognised as %q, %v", u.Index, len(raws), c.Name, got, ok)
			}
		}
	}
}

func TestCollectionNamed(t *testing.T) {
	p := &Provider{}
	tests := map[string]string{
		"cycle": CollCycle, "CYCLES": CollCycle, "whoop-cycle": CollCycle, "v2/cycle": CollCycle,
		"sleep": CollSleep, "activity/sleep": CollSleep, "/v2/activity/sleep": CollSleep, "whoop-Sleep": CollSleep, "activity_sleep": CollSleep,
		"workout": CollWorkout, "Activity/Workout": CollWorkout, "whoop_workouts": CollWorkout,
		"recovery": CollRecovery, "Recoveries": CollRecovery, "whoop-recovery": CollRecovery,
		"profile": CollProfile, "profile/basic": CollProfile, "user/profile/basic": CollProfile, "whoop-profile": CollProfile,
		"body_measurement": CollBodyMeasurement, "measurement/body": CollBodyMeasurement, "whoop-body_measurement": CollBodyMeasurement,
		"Body-Measurement": CollBodyMeasurement, "developer/v2/user/measurement/body": CollBodyMeasurement,
		"export-1": "", "sleep-2024": "", "whoop": "", "": "", "oura-v2-sleep": "", "heartrate": "",
	}
	for name, want := range tests {
		got, ok := p.CollectionNamed(name)
		if got != want || ok != (want != "") {
			t.Errorf("CollectionNamed(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestCollectionOfShapes(t *testing.T) {
	p := &Provider{}
	raw := func(s ...string) []json.RawMessage {
		out := make([]json.RawMessage, len(s))
		for i, x := range s {
			out[i] = json.RawMessage(x)
		}
		return out
	}
	tests := []struct {
		name string
		docs []json.RawMessage
		want string
	}{
		{"recovery", raw(`{"cycle_id":1,"sleep_id":"a","score_state":"PENDING_SCORE"}`), CollRecovery},
		{"sleep pending", raw(`{"id":"a","start":"2025-01-01T00:00:00Z","nap":false}`), CollSleep},
		{"sleep by score", raw(`{"id":"a","start":"2025-01-01T00:00:00Z","score":{"stage_summary":{}}}`), CollSleep},
		{"workout", raw(`{"id":"a","start":"2025-01-01T00:00:00Z","sport_name":"running"}`), CollWorkout},
		{"v1 workout", raw(`{"id":7,"start":"2025-01-01T00:00:00Z","sport_id":0}`), CollWorkout},
		{"cycle", raw(`{"id":7,"start":"2025-01-01T00:00:00Z","score":{"strain":5.1}}`, `{"id":8,"start":"2025-01-02T00:00:00Z"}`), CollCycle},
		{"profile", raw(`{"user_id":1,"email":"a@b","first_name":"A","last_name":"B"}`), CollProfile},
		{"body", raw(`{"height_meter":1.8,"weight_kilogram":80,"max_heart_rate":190}`), CollBodyMeasurement},
		{"mixed", raw(`{"cycle_id":1,"sleep_id":"a"}`, `{"id":"a","start":"2025-01-01T00:00:00Z","nap":false}`), ""},
		{"sleep and sport", raw(`{"id":"a","start":"2025-01-01T00:00:00Z","nap":false,"sport_name":"x"}`), ""},
		{"string id, nothing else", raw(`{"id":"a","start":"2025-01-01T00:00:00Z"}`), ""},
		{"cycle id with a workout score", raw(`{"id":7,"start":"2025-01-01T00:00:00Z","score":{"kilojoule":1}}`), ""},
		{"oura", raw(`{"id":"x","day":"2025-01-01","score":80}`), ""},
		{"not objects", raw(`[1]`, `3`), ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		got, ok := p.CollectionOf(tt.docs)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
}

func TestReadDocumentChecks(t *testing.T) {
	p := &Provider{}
	sleep := `{"id":"s1","cycle_id":3,"user_id":1,"created_at":"2025-01-02T07:10:00.000Z","updated_at":"2025-01-02T07:10:00.000Z",` +
		`"start":"2025-01-01T23:00:00.000Z","end":"2025-01-02T07:00:00.000Z","timezone_offset":"-08:00","nap":false,"score_state":"PENDING_SCORE"`
	tests := []struct {
		name, coll, raw, wantErr, wantID, wantDay string
	}{
		{"sleep", CollSleep, sleep + `}`, "", "s1", "2025-01-01"},
		{"unknown fields", CollSleep, sleep + `,"brand_new":{"x":1}}`, "", "s1", "2025-01-01"},
		{"missing nap", CollSleep, strings.Replace(sleep, `"nap":false,`, "", 1) + `}`, `missing "nap"`, "s1", "2025-01-01"},
		{"bad end", CollSleep, strings.Replace(sleep, `"2025-01-02T07:00:00.000Z"`, `"soon"`, 1) + `}`, `end: "soon"`, "s1", ""},
		{"bad offset", CollSleep, strings.Replace(sleep, `"-08:00"`, `"PST"`, 1) + `}`, `timezone_offset`, "s1", ""},
		{"wrong type", CollSleep, strings.Replace(sleep, `"cycle_id":3`, `"cycle_id":"3"`, 1) + `}`, "cycle_id", "s1", "2025-01-01"},
		{"a sleep is no workout", CollWorkout, sleep + `}`, `"sport_name" or "sport_id"`, "s1", "2025-01-01"},
		{"a sleep is no cycle", CollCycle, sleep + `}`, `"nap"`, "s1", "2025-01-01"},
		{"cycle", CollCycle, `{"id":42,"start":"2025-01-01T23:00:00.000Z","timezone_offset":"+02:00","score_state":"SCORED","score":{"strain":3}}`, "", "42", "2025-01-02"},
		{"current cycle", CollCycle, `{"id":43,"start":"2025-01-02T23:00:00.000Z","end":null,"timezone_offset":"+02:00"}`, "", "43", "2025-01-03"},
		{"recovery", CollRecovery, `{"cycle_id":42,"sleep_id":"s1","created_at":"2025-01-02T07:10:00.000Z","score_state":"SCORED"}`, "", "s1", "2025-01-02"},
		{"recovery without time", CollRecovery, `{"cycle_id":42,"sleep_id":"s1"}`, "", "s1", ""},
		{"profile", CollProfile, `{"user_id":10129,"email":"a@b.c","first_name":"A","last_name":"B"}`, "", "10129", ""},
		{"body", CollBodyMeasurement, `{"height_meter":1.8,"weight_kilogram":80.5,"max_heart_rate":190}`, "", "", ""},
		{"body as profile", CollProfile, `{"height_meter":1.8,"weight_kilogram":80.5,"max_heart_rate":190}`, `missing "user_id"`, "", ""},
		{"array", CollSleep, `[1]`, "not a JSON object", "", ""},
		{"unknown collection", "heartrate", `{}`, "unknown collection", "", ""},
	}
	for _, tt := range tests {
		doc, _, err := p.ReadDocument(tt.coll, json.RawMessage(tt.raw), nil)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one with %q", tt.name, err, tt.wantErr)
		}
		if doc.ID != tt.wantID || doc.Day != tt.wantDay || doc.Collection != tt.coll {
			t.Errorf("%s: read as %s %q on %q, want %q on %q", tt.name, doc.Collection, doc.ID, doc.Day, tt.wantID, tt.wantDay)
		}
	}
}

func TestTablesWorkoutZones(t *testing.T) {
	p := &Provider{}
	docs := []provider.Document{
		{Collection: CollWorkout, Raw: json.RawMessage(`{"id":"w1","start":"2025-01-01T23:30:00.000Z","end":"2025-01-02T00:30:00.000Z","timezone_offset":"-05:00",` +
			`"sport_name":"running","score_state":"SCORED","score":{"strain":8,"zone_durations":{"zone_zero_milli":1,"zone_one_milli":2,"zone_two_milli":3,"zone_three_milli":4,"zone_four_milli":5,"zone_five_milli":6}}}`)},
		{Collection: CollWorkout, Raw: json.RawMessage(`{"id":"w2","start":"2025-01-01T10:00:00.000Z","end":"2025-01-01T11:00:00.000Z","timezone_offset":"Z","sport_name":"yoga","score_state":"PENDING_SCORE"}`)},
		{Collection: CollSleep, Raw: json.RawMessage(`{"id":"s"}`)},
	}
	tables := p.Tables(docs, nil)
	if len(tables) != 1 || tables[0].Name != TableWorkoutZones {
		t.Fatalf("tables %+v", tables)
	}
	rows := tables[0].Rows
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6 (one per zone of the scored workout)", len(rows))
	}
	first, last := rows[0], rows[5]
	if first[0].Text != "w1" || first[1].Text != "2025-01-01" || first[2].Text != "2025-01-01T18:30:00-05:00" || first[3].Text != "running" {
		t.Errorf("first row %+v", first)
	}
	if last[4] != cellNumber("5") || last[5] != cellNumber("6") {
		t.Errorf("last row %+v", last)
	}
}
