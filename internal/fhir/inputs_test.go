package fhir_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/fhir"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ouranorm "github.com/wearlink/wearlink/internal/provider/oura/normalize"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	whoopnorm "github.com/wearlink/wearlink/internal/provider/whoop/normalize"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/provider/withings"
	withingsnorm "github.com/wearlink/wearlink/internal/provider/withings/normalize"
	withingssim "github.com/wearlink/wearlink/internal/provider/withings/sim"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

const testClient = "6f1a3c52-9d4e-4b7a-8c21-0e5d9f3a7b10"

// input is one user's health documents, as the store holds them.
type input struct {
	name       string
	userID     string
	dataSource string
	docs       []fhir.Document
	// noHRV: the documents hold no heart rate variability.
	noHRV bool
}

// inputs are the documents of simulated users of every provider and of
// the real recorded Oura responses (normalized here by the Oura
// normalizer), read once per test binary.
func inputs(t *testing.T) []input {
	t.Helper()
	cache.Do(func() { cache.in = readInputs(t) })
	if cache.in == nil {
		t.Fatal("the inputs could not be read (see the first test that failed)")
	}
	return cache.in
}

var cache struct {
	sync.Once
	in []input
}

func readInputs(t *testing.T) []input {
	t.Helper()
	var out []input
	// The Oura normalizer's own golden files: a fixed simulated world, and
	// the recorded responses of shared/reference normalized as they are.
	for _, name := range []string{"sim-user0", "sim-user1"} {
		out = append(out, ouraGolden(t, name))
	}
	if real, ok := realOura(t); ok {
		out = append(out, real)
	}
	out = append(out, whoopSimulated(t))
	out = append(out, withingsSimulated(t))
	if real, ok := realWithings(t); ok {
		out = append(out, real)
	}
	out = append(out, bodyMeasurements(t))
	return out
}

// bodyMeasurements are documents of a scale and a cuff, which neither
// simulated provider has yet: blood pressure, a body temperature that is
// not a skin reading, and a weighing.
func bodyMeasurements(t *testing.T) input {
	t.Helper()
	const user, day = "scale-user-1", "2025-01-10"
	h := health.Header{ClientUUID: testClient, UserID: user, DocumentVersion: 3, Day: day}
	at := func(s string) *string { return health.String(s) }
	bp := &health.BloodPressureEventDocument{Header: h, AutoDetected: health.Bool(false), Events: []health.BloodPressureEventRecord{{
		NonStructuredData: health.NonStructuredData{json.RawMessage(`{"source":"scale","collection":"measure","document":{"id":"m-1"}}`)},
		Metadata:          health.EventMetadata{Metadata: health.Metadata{Datetime: at("2025-01-10T07:30:00.000000+01:00"), SourcesOfData: []string{"Test"}}},
		BloodPressure: health.BloodPressure{
			BloodPressureAvg: &health.BloodPressureValue{SystolicMmHg: health.Int(121), DiastolicMmHg: health.Int(79)},
			BloodPressureGranularData: []health.BloodPressureSample{
				{Datetime: at("2025-01-10T07:30:00.000000+01:00"), SystolicMmHg: health.Int(124), DiastolicMmHg: health.Int(80)},
				{Datetime: at("2025-01-10T07:32:00.000000+01:00"), SystolicMmHg: health.Int(118), DiastolicMmHg: health.Int(78)},
			},
		},
	}}}
	body := &health.BodySummaryDocument{Header: h}
	body.Summary.BodyMetrics = health.BodyMetrics{WeightKg: health.Float(71.35), HeightCm: health.Int(178), BMI: health.Float(22.5)}
	body.Summary.Temperature.TemperatureAvg = &health.TemperatureValue{TemperatureCelsius: health.Float(36.8), MeasurementType: health.String("oral")}
	body.Summary.BloodPressure.BloodPressureAvg = &health.BloodPressureValue{SystolicMmHg: health.Int(121), DiastolicMmHg: nil}
	in := input{name: "synthetic-body", userID: user, dataSource: "scale", noHRV: true}
	for _, d := range []health.Doc{bp, body} {
		in.docs = append(in.docs, encoded(t, user, "scale", "Scale", day, d))
	}
	return in
}

func ouraGolden(t *testing.T, name string) input {
	in := input{name: "oura-" + name, dataSource: "oura"}
	for _, g := range testutil.OuraGolden(t, name) {
		var h struct {
			UserID  string `json:"user_id"`
			Version int    `json:"document_version"`
		}
		if err := json.Unmarshal(g.Document, &h); err != nil {
			t.Fatal(err)
		}
		in.userID = h.UserID
		in.docs = append(in.docs, fhir.Document{UserID: h.UserID, DataSource: "oura", SourceName: "Oura", Key: g.Key,
			Pillar: g.Pillar, DataStructure: g.DataStructure, Day: g.Day, Version: h.Version, Body: g.Document})
	}
	return in
}

// realResponses is the file of real Oura responses recorded in December
// 2024, beside the repository (see shared/reference).
const realResponses = "../../../shared/reference/oura-real-responses-2024-12.json"

// realOura normalizes every successful recorded response with the Oura
// normalizer; ok is false when the file is absent.
func realOura(t *testing.T) (input, bool) {
	t.Helper()
	body, err := os.ReadFile(realResponses)
	if errors.Is(err, os.ErrNotExist) {
		t.Logf("%s is absent: the real Oura responses are left out", realResponses)
		return input{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Responses map[string]struct {
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(f.Responses))
	in := &ouranorm.Input{}
	for _, name := range names {
		r := f.Responses[name]
		if r.Status != 200 {
			continue
		}
		var list struct {
			Data *[]json.RawMessage `json:"data"`
		}
		docs := []json.RawMessage{r.Body}
		if json.Unmarshal(r.Body, &list) == nil && list.Data != nil {
			docs = *list.Data
		}
		for _, d := range docs {
			if err := in.Decode(recordedCollection(name), d, nil); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	const user = "oura-real"
	results, err := ouranorm.Normalize(in, ouranorm.Options{ClientUUID: testClient, UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	out := input{name: "oura-real-2024-12", userID: user, dataSource: "oura"}
	for _, r := range results {
		out.docs = append(out.docs, encoded(t, user, "oura", "Oura", r.Key, r.Doc))
	}
	return out, true
}

// recordedCollection is the collection of a recorded response's name
// (multiple_daily_sp02.json, single_heart_rate.json ...).
func recordedCollection(name string) string {
	c := strings.TrimSuffix(name, ".json")
	c = strings.TrimPrefix(strings.TrimPrefix(c, "multiple_"), "single_")
	c = strings.TrimSuffix(strings.TrimSuffix(c, "_invalid_arguments"), "_non_existing")
	switch c {
	case "daily_sp02":
		return oura.CollDailySpO2
	case "heart_rate":
		return oura.CollHeartRate
	case "vo2_max":
		return oura.CollVO2Max
	}
	return c
}

// encoded is a normalized document as the store would hold it.
func encoded(t *testing.T, user, dataSource, name, key string, doc health.Doc) fhir.Document {
	t.Helper()
	d, err := health.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	return fhir.Document{UserID: user, DataSource: dataSource, SourceName: name, Key: key,
		Pillar: d.Pillar, DataStructure: d.DataStructure, Day: d.Day, Version: d.DocumentVersion, Body: d.Body}
}

// whoopSimulated reads ten days of one simulated WHOOP member through the
// provider and normalizes them, as the ingest engine does.
func whoopSimulated(t *testing.T) input {
	t.Helper()
	now := time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC)
	sim := simtest.Whoop(t, whoopsim.Config{Seed: 5, Users: 1, HistoryStart: now.AddDate(0, 0, -12), ScanInterval: -1, DisableRateLimit: true,
		Clock: whoopsim.NewClock(now, 0, nil)})
	info := sim.Info()
	client, err := whoop.New(whoop.ClientConfig{BaseURL: info.APIBaseURL, Now: sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := whoop.NewProvider(whoop.Config{Client: client, OAuthBaseURL: info.BaseURL, Normalizer: whoopnorm.Normalizer{}})
	if err != nil {
		t.Fatal(err)
	}
	auth := provider.StaticToken(info.Users[0].AccessToken)
	var raw []provider.Document
	for _, c := range p.Collections() {
		docs, err := p.Fetch(context.Background(), auth, c.Name, provider.Window{From: "2025-10-04", To: "2025-10-13", Loc: time.UTC})
		var pe *provider.Error
		if errors.As(err, &pe) && (pe.Kind == provider.KindMissingScope || pe.Kind == provider.KindForbidden) {
			continue
		}
		if err != nil {
			t.Fatalf("fetch %s: %v", c.Name, err)
		}
		raw = append(raw, docs...)
	}
	const user = "whoop-sim-0"
	results, err := whoopnorm.Normalizer{}.Normalize(raw, provider.NormalizeOptions{ClientUUID: testClient, UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	in := input{name: "whoop-sim-user0", userID: user, dataSource: "whoop"}
	for _, r := range results {
		in.docs = append(in.docs, encoded(t, user, "whoop", "Whoop", r.Key, r.Doc))
	}
	if len(in.docs) == 0 {
		t.Fatal("the WHOOP simulator gave no documents")
	}
	return in
}

// withingsSimulated reads ten days of one simulated Withings user (a
// scale, a cuff, a sleep analyzer) through the provider and normalizes
// them, as the ingest engine does.
func withingsSimulated(t *testing.T) input {
	t.Helper()
	now := time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC)
	sim, err := withingssim.New(withingssim.Config{Seed: 5, Users: 1, Days: 12, RateLimit: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); _ = sim.Close() })
	client, err := withings.New(withings.ClientConfig{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p, err := withings.NewProvider(withings.Config{Client: client, AuthURL: srv.URL, Normalizer: withingsnorm.Normalizer{}})
	if err != nil {
		t.Fatal(err)
	}
	auth := provider.StaticToken(sim.Tokens()[0].AccessToken)
	loc, err := time.LoadLocation(sim.Info().Users[0].Timezone)
	if err != nil {
		t.Fatal(err)
	}
	var raw []provider.Document
	for _, c := range p.Collections() {
		docs, err := p.Fetch(context.Background(), auth, c.Name, provider.Window{From: "2025-10-04", To: "2025-10-13", Loc: loc})
		if err != nil {
			t.Fatalf("fetch %s: %v", c.Name, err)
		}
		raw = append(raw, docs...)
	}
	const user = "withings-sim-0"
	results, err := withingsnorm.Normalizer{}.Normalize(raw, provider.NormalizeOptions{ClientUUID: testClient, UserID: user, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	in := input{name: "withings-sim-user0", userID: user, dataSource: "withings"}
	for _, r := range results {
		in.docs = append(in.docs, encoded(t, user, "withings", "Withings", r.Key, r.Doc))
	}
	if len(in.docs) == 0 {
		t.Fatal("the Withings simulator gave no documents")
	}
	return in
}

// realWithingsDir holds the recorded Withings responses, in shared/reference
// beside the checkout.
const realWithingsDir = "../../../shared/reference/providers/withings/fixtures/recorded"

// realWithings normalizes the recorded Withings responses of
// shared/reference (the answers that carry health data).
func realWithings(t *testing.T) (input, bool) {
	t.Helper()
	var raw []provider.Document
	for _, name := range []string{"measurement.json", "measurement_list_2.json", "activity.json", "workouts.json", "sleep_summary_no_datafields.json", "sleep_no_datafields.json"} {
		path := realWithingsDir + "/" + name
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			// Not a skip: the inputs are read once for every test.
			t.Logf("%s is absent: the real Withings responses are left out", path)
			return input{}, false
		}
		if err != nil {
			t.Fatal(err)
		}
		coll, docs, ok, err := withings.SplitAnswer(b)
		if !ok || err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ds, err := withings.Documents(coll, docs, time.UTC)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw = append(raw, ds...)
	}
	// The recordings hold a workout twice; the store keeps one document
	// per id.
	seen := map[string]bool{}
	kept := raw[:0]
	for _, d := range raw {
		if k := d.Collection + "/" + d.ID; !seen[k] {
			seen[k] = true
			kept = append(kept, d)
		}
	}
	raw = kept
	const user = "withings-recorded"
	results, err := withingsnorm.Normalizer{}.Normalize(raw, provider.NormalizeOptions{ClientUUID: testClient, UserID: user, Location: time.UTC})
	if err != nil {
		t.Logf("recorded Withings responses: %v", err)
	}
	// The recordings were made without the HRV data fields.
	in := input{name: "withings-recorded", userID: user, dataSource: "withings", noHRV: true}
	for _, r := range results {
		in.docs = append(in.docs, encoded(t, user, "withings", "Withings", r.Key, r.Doc))
	}
	return in, len(in.docs) > 0
}

// mapped is an input's resources.
type mapped struct {
	patient fhir.Patient
	devices []fhir.Device
	obs     []fhir.Observation
	// from is the document each Observation came from, by id.
	from map[string]fhir.Document
}

func mapInput(t *testing.T, in input) mapped {
	t.Helper()
	m := mapped{patient: fhir.NewPatient(testClient, in.userID), from: map[string]fhir.Document{}}
	m.devices = []fhir.Device{fhir.NewDevice(in.userID, in.dataSource, in.docs[0].SourceName, "")}
	for _, d := range in.docs {
		obs, err := fhir.Observations(d)
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		for _, o := range obs {
			if prev, dup := m.from[o.ID]; dup {
				t.Fatalf("%s: Observation id %s from %s %s and %s %s", in.name, o.ID, prev.DataStructure, prev.Key, d.DataStructure, d.Key)
			}
			m.from[o.ID] = d
		}
		m.obs = append(m.obs, obs...)
	}
	return m
}

func (m mapped) resources() []any {
	out := []any{m.patient}
	for _, d := range m.devices {
		out = append(out, d)
	}
	for _, o := range m.obs {
		out = append(out, o)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func describe(o fhir.Observation) string {
	return fmt.Sprintf("Observation %s (%s)", o.ID, o.Code.Text)
}
