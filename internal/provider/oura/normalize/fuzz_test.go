package normalize

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// fuzzSeeds are Oura-like inputs (JSON of Input, collection slices under
// their Go field names): the seed 003 documents and small odd documents.
func fuzzSeeds(t testing.TB) [][]byte {
	// The seed 003 documents, with the long series cut short: the fuzzer
	// spends its time minimizing big inputs instead of exploring.
	in := seed003Input(t)
	for i := range in.DailyActivity {
		in.DailyActivity[i].MET.Items = in.DailyActivity[i].MET.Items[:min(10, len(in.DailyActivity[i].MET.Items))]
	}
	for i := range in.Sleep {
		p := &in.Sleep[i]
		p.Movement30Sec = nil
		for _, s := range []*oura.Sample{p.HeartRate, p.HRV} {
			if s != nil {
				s.Items = s.Items[:min(12, len(s.Items))]
			}
		}
	}
	seed, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{
		seed,
		[]byte(`{}`),
		[]byte(`{"Sleep":[{"id":"a","day":"2024-01-02","type":"long_sleep","bedtime_start":"2024-01-01T23:00:00+01:00","bedtime_end":"2024-01-02T07:00:00+01:00","time_in_bed":28800,"heart_rate":{"interval":300,"items":[60,null,58,1e9,-3],"timestamp":"2024-01-01T23:00:00.000+01:00"},"hrv":{"interval":0,"items":[40],"timestamp":"x"},"sleep_phase_5_min":"4x21113z","readiness":{"contributors":{},"temperature_deviation":0.2}},
			{"id":"b","day":"2024-01-02","type":"late_nap","bedtime_start":"2024-01-02T14:00:00+01:00","bedtime_end":"2024-01-02T13:00:00+01:00","time_in_bed":-5}]}`),
		[]byte(`{"HeartRate":[{"bpm":61,"source":"awake","timestamp":"2024-01-01T23:30:00+00:00"},{"bpm":0,"source":"rest","timestamp":"2024-01-01T23:31:00+00:00"},{"bpm":62,"source":"awake","timestamp":"bad"},{"bpm":63,"source":"awake","timestamp":"2024-01-01T23:30:00+00:00"}],
			"Workout":[{"id":"w","activity":"","day":"2024-01-01","start_datetime":"2024-01-01T23:00:00+00:00","end_datetime":"2024-01-01T22:00:00+00:00","intensity":"hard","source":"autodetected","calories":-1,"distance":null}]}`),
		[]byte(`{"DailyActivity":[{"id":"d","day":"2024-02-30","class_5_min":"9999"},{"id":"e","day":"2024-02-28","timestamp":"2024-02-28T04:00:00-05:00","class_5_min":"012345` + string(bytes.Repeat([]byte("3"), 300)) + `","steps":-1}],
			"PersonalInfo":[{"id":"p","weight":0,"height":-1.8}],"RingConfiguration":[{"id":"r"}],"DailySpO2":[{"id":"s","day":"2024-02-28","spo2_percentage":{"average":101}}],
			"Session":[{"id":"x","day":"2024-02-28","start_datetime":"","end_datetime":"2024-02-28T10:00:00Z","type":"rest","heart_rate":{"interval":1e300,"items":[50,51],"timestamp":"2024-02-28T09:00:00Z"}}]}`),
		[]byte(`{"Tag":[{"id":"t","day":"","timestamp":"2024-01-01T00:00:00"}],"EnhancedTag":[{"id":"e","start_day":"2024-01-01","start_time":"2024-01-01T10:00:00+14:00"}],"RestModePeriod":[{"id":"r","start_day":"2024-01-01","episodes":null}],"RingBatteryLevel":[{"timestamp":"2024-01-01T10:00:00Z","level":50},{"timestamp":"","level":1}],"VO2Max":[{"id":"v","day":"2024-01-01","vo2_max":0}]}`),
	}
}

// FuzzNormalize feeds arbitrary Oura-like input to Normalize: it must never
// panic, every document it returns must encode (valid header, no NaN),
// and a second run must give the same bytes.
func FuzzNormalize(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, int16(i*90-120), i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, offsetMinutes int16, asOf bool) {
		var in Input
		if json.Unmarshal(data, &in) != nil {
			return
		}
		opt := Options{ClientUUID: testClient, UserID: testUser}
		if offsetMinutes%3 != 0 {
			opt.Location = time.FixedZone("", int(offsetMinutes)%(18*60)*60)
		}
		if asOf {
			opt.AsOf = "2024-01-01"
		}
		first, _ := Normalize(&in, opt)
		again, _ := Normalize(&in, opt)
		if len(first) != len(again) {
			t.Fatalf("%d documents, then %d", len(first), len(again))
		}
		for i, r := range first {
			a, err := health.Encode(r.Doc)
			if err != nil {
				t.Fatalf("%s %s: %v", r.Doc.DataStructure(), r.Key, err)
			}
			b, err := health.Encode(again[i].Doc)
			if err != nil {
				t.Fatal(err)
			}
			if r.Key != again[i].Key || !bytes.Equal(a.Body, b.Body) {
				t.Fatalf("%s %s differs between runs", r.Doc.DataStructure(), r.Key)
			}
		}
	})
}

// fuzzCollections are the collection names FuzzDocument picks from.
var fuzzCollections = func() []string {
	var out []string
	for _, c := range oura.Collections() {
		out = append(out, c.Name)
	}
	return out
}()

// FuzzDocument feeds one arbitrary document of one collection, in Oura's
// own JSON, next to a fixed night and a few heart-rate rows (so that joins
// and windows are exercised): Normalize must not panic and everything it
// returns must encode.
func FuzzDocument(f *testing.F) {
	index := map[string]int{}
	for i, c := range fuzzCollections {
		index[c] = i
	}
	files, _ := filepath.Glob("testdata/seed003/*.json")
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		docs, err := documents(body)
		if err != nil {
			f.Fatal(err)
		}
		coll := strings.TrimSuffix(filepath.Base(file), ".json")
		for _, d := range docs {
			f.Add(uint8(index[coll]), []byte(d))
		}
	}
	for coll, doc := range map[string]string{
		oura.CollSession:                `{"id":"s","day":"2024-03-05","start_datetime":"2024-03-05T21:56:11+01:00","end_datetime":"2024-03-05T22:08:13+01:00","type":"body_status","heart_rate":{"interval":5.0,"items":[null,84.3,84.4],"timestamp":"2024-03-05T21:56:11.000+01:00"},"heart_rate_variability":{"interval":5.0,"items":[18.0],"timestamp":"2024-03-05T21:56:11.000+01:00"},"mood":"good","motion_count":null}`,
		oura.CollDailySpO2:              `{"id":"b","day":"2024-03-05","spo2_percentage":{"average":98.072},"breathing_disturbance_index":15}`,
		oura.CollDailyStress:            `{"id":"e","day":"2024-03-05","stress_high":1800,"recovery_high":7200,"day_summary":"normal"}`,
		oura.CollDailyResilience:        `{"id":"r","day":"2024-03-05","contributors":{"sleep_recovery":46.2,"daytime_recovery":49.3,"stress":34.5},"level":"adequate"}`,
		oura.CollDailyCardiovascularAge: `{"day":"2024-03-05","vascular_age":39}`,
		oura.CollEnhancedTag:            `{"id":"t","tag_type_code":"tag_generic_fasting","start_time":"2024-03-05T20:15:01+02:00","end_time":null,"start_day":"2024-03-05","end_day":null,"comment":"","custom_name":null}`,
		oura.CollRestModePeriod:         `{"id":"m","end_day":"2024-03-06","end_time":"2024-03-06T11:57:26+00:00","episodes":[{"tags":["tag_generic_cold"],"timestamp":"2024-03-05T11:57:26.000+00:00"}],"start_day":"2024-03-05","start_time":"2024-03-05T11:57:26+00:00"}`,
		oura.CollRingConfiguration:      `{"id":"c","color":"stealth_black","design":"heritage","firmware_version":"2.9.32","hardware_type":"gen3","set_up_at":"1970-01-01T00:00:00+00:00","size":11}`,
		oura.CollRingBatteryLevel:       `{"timestamp":"2024-03-05T10:00:00+00:00","level":55,"charging":false,"in_charger":false}`,
		oura.CollPersonalInfo:           `{"id":"p","age":42,"weight":90.2,"height":1.8,"biological_sex":"male","email":"a@b.c"}`,
		oura.CollSleepTime:              `{"id":"st","day":"2024-03-05","optimal_bedtime":{"day_tz":3600,"end_offset":-1800,"start_offset":-3600},"recommendation":"earlier_bedtime","status":"optimal_found"}`,
		oura.CollVO2Max:                 `{"id":"v","day":"2024-03-05","timestamp":"2024-03-05T14:15:22Z","vo2_max":62}`,
	} {
		f.Add(uint8(index[coll]), []byte(doc))
	}
	night := period("n", oura.SleepTypeLongSleep, "2024-03-04T23:00:00+01:00", "2024-03-05T07:00:00+01:00")
	rows := []oura.HeartRate{{BPM: 60, Source: "sleep", Timestamp: "2024-03-05T01:00:00+00:00"}, {BPM: 80, Source: "awake", Timestamp: "2024-03-05T10:00:00+00:00"}}
	f.Fuzz(func(t *testing.T, coll uint8, data []byte) {
		in := Input{Sleep: []oura.Sleep{night}, HeartRate: rows}
		if in.Decode(fuzzCollections[int(coll)%len(fuzzCollections)], data, nil) != nil {
			return
		}
		res, _ := Normalize(&in, testOpt)
		for _, r := range res {
			if _, err := health.Encode(r.Doc); err != nil {
				t.Fatalf("%s %s: %v", r.Doc.DataStructure(), r.Key, err)
			}
		}
	})
}
