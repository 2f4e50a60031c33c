package health

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestEmptyDocumentIsNull checks that nothing unknown is emitted as a zero:
// below the pillar every value of an empty document is null, and the
// envelope still says what the document is.
func TestEmptyDocumentIsNull(t *testing.T) {
	for _, s := range Structures() {
		t.Run(s.Pillar+"/"+s.Name, func(t *testing.T) {
			body, err := json.Marshal(withOneEmptyEvent(s))
			if err != nil {
				t.Fatal(err)
			}
			m := decodeAny(t, body)
			if m["version"] != 2.0 || m["data_structure"] != s.Name || m["document_version"] != 1.0 ||
				m["client_uuid"] != testClientUUID || m["user_id"] != testUserID {
				t.Errorf("envelope: %s", body)
			}
			ad, ok := m["auto_detected"]
			switch {
			case s.Kind == KindEvent && (!ok || ad != nil):
				t.Errorf("auto_detected should be present and null: %s", body)
			case s.Kind != KindEvent && ok:
				t.Errorf("auto_detected on a %s: %s", s.Kind, body)
			}
			payload := map[string]any{}
			for k, v := range m {
				switch k {
				case "version", "data_structure", "document_version", "client_uuid", "user_id", "auto_detected":
				default:
					payload[k] = v
				}
			}
			if _, ok := payload[s.Pillar]; !ok {
				t.Errorf("no %s key: %s", s.Pillar, body)
			}
			var zeros []string
			nonNullLeaves(payload, "", &zeros)
			if len(zeros) > 0 {
				slices.Sort(zeros)
				t.Errorf("unknown values emitted as non-null:\n  %s", strings.Join(zeros, "\n  "))
			}
		})
	}
}

// TestMarshalDeterministic checks byte-identical output for the same
// value, and across a decode/encode round trip.
func TestMarshalDeterministic(t *testing.T) {
	for _, s := range Structures() {
		t.Run(s.Pillar+"/"+s.Name, func(t *testing.T) {
			d := fullExample(t, s)
			a, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				b, err := json.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("second marshal differs:\n%s\n%s", a, b)
				}
			}
			back := s.New()
			if err := json.Unmarshal(a, back); err != nil {
				t.Fatal(err)
			}
			back.Envelope().Day = testDay
			if !reflect.DeepEqual(back, d) {
				t.Errorf("round trip changed the value:\n%+v\n%+v", back, d)
			}
			c, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, c) {
				t.Errorf("round trip changed the bytes:\n%s\n%s", a, c)
			}
		})
	}
}

// TestEnvelopeShape pins the published nesting and key order of one
// summary, one event and user_info.
func TestEnvelopeShape(t *testing.T) {
	h := Header{ClientUUID: "c", UserID: "u", DocumentVersion: 2, Day: testDay}
	tests := []struct {
		name string
		doc  any
		want string
	}{
		{"summary", &SleepSummaryDocument{Header: h},
			`{"client_uuid":"c","user_id":"u","version":2,"document_version":2,"data_structure":"sleep_summary","sleep_health":{"summary":{"sleep_summary":{"non_structured_data_array":null,"metadata":`},
		{"event", &BodyHeartRateEventDocument{Header: h, AutoDetected: Bool(false)},
			`{"client_uuid":"c","user_id":"u","version":2,"document_version":2,"auto_detected":false,"data_structure":"heart_rate_event","body_health":{"events":{"heart_rate_event":null}}}`},
		{"event by value", PhysicalOxygenationEventDocument{Header: h, Events: []OxygenationEventRecord{{}}},
			`{"client_uuid":"c","user_id":"u","version":2,"document_version":2,"auto_detected":null,"data_structure":"oxygenation_event","physical_health":{"events":{"oxygenation_event":[{"non_structured_data_array":null,"metadata":{"datetime_string":null,"sources_of_data_array":null,"user_id_string":null,"was_the_user_under_physical_activity_bool":null},"oxygenation":`},
		{"user_info", &UserInfoDocument{Header: h},
			`{"client_uuid":"c","user_id":"u","version":2,"document_version":2,"data_structure":"user_info","metadata":{"datetime_string":null,"sources_of_data_array":null,"user_id_string":null},"user_information":{"user_body_metrics":{"height_cm_int":null,"weight_kg_float":null},"user_demographics":{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), tt.want) {
				t.Errorf("got  %s\nwant %s...", b, tt.want)
			}
			if !json.Valid(b) {
				t.Errorf("invalid JSON: %s", b)
			}
		})
	}
}

// TestUnmarshalRejects checks that decoding refuses a document of another
// structure or pillar instead of returning an empty one.
func TestUnmarshalRejects(t *testing.T) {
	body, err := json.Marshal(&BodyHeartRateEventDocument{Header: Header{ClientUUID: "c", UserID: "u", DocumentVersion: 1}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		into any
		body string
		code string
	}{
		{"other pillar", &PhysicalHeartRateEventDocument{}, string(body), EINVALID},
		{"other structure", &StressEventDocument{}, string(body), EINVALID},
		{"other version", &BodyHeartRateEventDocument{}, strings.Replace(string(body), `"version":2`, `"version":3`, 1), EINVALID},
		{"user_info as summary", &SleepSummaryDocument{}, `{"data_structure":"user_info"}`, EINVALID},
		{"same structure", &BodyHeartRateEventDocument{}, string(body), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.body), tt.into)
			if got := ErrorCode(err); got != tt.code {
				t.Errorf("error %v: code %q, want %q", err, got, tt.code)
			}
		})
	}
}

// TestEncodeDecode checks the Document round trip the store and delivery
// rely on, including the day, which is not in the JSON.
func TestEncodeDecode(t *testing.T) {
	for _, s := range Structures() {
		t.Run(s.Pillar+"/"+s.Name, func(t *testing.T) {
			d := fullExample(t, s)
			doc, err := Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			want := Document{DataStructure: s.Name, Pillar: s.Pillar, Day: testDay, ClientUUID: testClientUUID, UserID: testUserID, DocumentVersion: 3}
			got := doc
			got.Body = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Encode fields = %+v, want %+v", got, want)
			}
			back, err := Decode(doc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, d) {
				t.Errorf("Decode = %+v, want %+v", back, d)
			}
			parsed, err := Parse(doc.Body)
			if err != nil {
				t.Fatal(err)
			}
			parsed.Envelope().Day = testDay
			if !reflect.DeepEqual(parsed, d) {
				t.Errorf("Parse = %T %+v, want %T", parsed, parsed, d)
			}
		})
	}
	if _, err := Decode(Document{DataStructure: HeartRateEvent, Body: []byte(`{}`)}); ErrorCode(err) != EINVALID {
		t.Errorf("Decode without pillar of an ambiguous name: %v", err)
	}
	if _, err := Parse([]byte(`{"data_structure":"steps_event","physical_health":{}}`)); ErrorCode(err) != EINVALID {
		t.Errorf("Parse of an unknown structure: %v", err)
	}
}

func TestHeaderValidate(t *testing.T) {
	ok := Header{ClientUUID: testClientUUID, UserID: testUserID, DocumentVersion: 1, Day: testDay}
	tests := []struct {
		name   string
		mutate func(*Header)
		valid  bool
	}{
		{"valid", func(*Header) {}, true},
		{"no client", func(h *Header) { h.ClientUUID = "" }, false},
		{"no user", func(h *Header) { h.UserID = "" }, false},
		{"user with underscore", func(h *Header) { h.UserID = "a_b" }, false},
		{"user of 51 chars", func(h *Header) { h.UserID = strings.Repeat("a", 51) }, false},
		{"user of 50 chars", func(h *Header) { h.UserID = strings.Repeat("a", 50) }, true},
		{"user with a non-ASCII letter", func(h *Header) { h.UserID = "josé" }, false},
		{"uuid user", func(h *Header) { h.UserID = testClientUUID }, true},
		{"version 0", func(h *Header) { h.DocumentVersion = 0 }, false},
		{"no day", func(h *Header) { h.Day = "" }, false},
		{"day with time", func(h *Header) { h.Day = testDatetime }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ok
			tt.mutate(&h)
			err := h.Validate()
			if (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid: %v", err, tt.valid)
			}
			if err != nil && ErrorCode(err) != EINVALID {
				t.Errorf("code %q, want %q", ErrorCode(err), EINVALID)
			}
			d := &SleepSummaryDocument{Header: h}
			if _, err := Encode(d); (err == nil) != tt.valid {
				t.Errorf("Encode error = %v, want valid: %v", err, tt.valid)
			}
		})
	}
}

func TestStructureTable(t *testing.T) {
	all := Structures()
	if len(all) != 17 {
		t.Errorf("%d structures, want 17 (16 processed_data routes and user_info)", len(all))
	}
	seen := map[string]bool{}
	for _, s := range all {
		key := s.Pillar + "/" + s.Name
		if seen[key] {
			t.Errorf("duplicate %s", key)
		}
		seen[key] = true
		d := s.New()
		if d.DataStructure() != s.Name || d.Pillar() != s.Pillar {
			t.Errorf("%s: New() gives %T (%s/%s)", key, d, d.Pillar(), d.DataStructure())
		}
		wantKind := KindEvent
		if strings.HasSuffix(s.Name, "_summary") {
			wantKind = KindSummary
		} else if s.Name == UserInfo {
			wantKind = KindInfo
		}
		if s.Kind != wantKind {
			t.Errorf("%s: kind %s, want %s", key, s.Kind, wantKind)
		}
		if !strings.HasPrefix(s.Route, "/v2/processed_data/") {
			t.Errorf("%s: route %s", key, s.Route)
		}
		if got, ok := LookupRoute(s.Route); !ok || got.Name != s.Name || got.Pillar != s.Pillar {
			t.Errorf("LookupRoute(%s) = %v, %v", s.Route, got.Name, ok)
		}
		if got, ok := Lookup(s.Pillar, s.Name); !ok || got.Schema != s.Schema {
			t.Errorf("Lookup(%s, %s) = %v, %v", s.Pillar, s.Name, got.Schema, ok)
		}
	}
	// The returned table is a copy.
	all[0].Name = "changed"
	if Structures()[0].Name == "changed" {
		t.Error("Structures shares its slice")
	}

	tests := []struct {
		pillar, name string
		want         string // schema, "" when not found
	}{
		{"", SleepSummary, "SleepSummary"},
		{"", ActivityEvent, "ActivityEvent"},
		{"", HeartRateEvent, ""},
		{"", OxygenationEvent, ""},
		{PillarPhysical, HeartRateEvent, "HeartRateEvent"},
		{PillarBody, HeartRateEvent, "BodyHeartRateEvent"},
		{PillarPhysical, OxygenationEvent, "OxygenationEvent"},
		{PillarBody, OxygenationEvent, "BodyOxygenationEvent"},
		{PillarBody, SleepSummary, ""},
		{"", "steps_event", ""},
	}
	for _, tt := range tests {
		got, ok := Lookup(tt.pillar, tt.name)
		if ok != (tt.want != "") || got.Schema != tt.want {
			t.Errorf("Lookup(%q, %q) = %q, %v; want %q", tt.pillar, tt.name, got.Schema, ok, tt.want)
		}
	}
	if _, ok := LookupRoute("/v2/processed_data/physical_health/events/steps"); ok {
		t.Error("LookupRoute found an unknown route")
	}
}
