package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/fhir"
	"github.com/wearlink/wearlink/internal/fhir/fhirtest"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/postgres"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

// fhirEnv is an API server on 127.0.0.1 over a real store holding two
// clients: a has user sim-0 with ten days of a simulated Oura user's
// documents and a linked Oura account; b has its own sim-0 (one day of
// another simulated user) and a user only b has.
type fhirEnv struct {
	t    *testing.T
	st   store.Full
	url  string
	a, b creds
}

// fhirStores runs a test on SQLite and, when WEARLINK_TEST_POSTGRES_URL is
// set, on PostgreSQL.
func fhirStores(t *testing.T, test func(t *testing.T, e *fhirEnv)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, newFHIREnv(t, harness.SQLite(t, harness.StoreOptions{Logger: quietLogger()})))
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv("WEARLINK_TEST_POSTGRES_URL") == "" {
			t.Skip("WEARLINK_TEST_POSTGRES_URL is not set")
		}
		u := testutil.PostgresSchemaURL(t, "wearlink_fhir")
		key, _ := secret.NewKey()
		sealer, _ := secret.NewSealer(key)
		pg, err := postgres.New(context.Background(), postgres.Options{URL: u, Sealer: sealer, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pg.Close() })
		if err := pg.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		test(t, newFHIREnv(t, pg))
	})
}

func newFHIREnv(t *testing.T, st store.Full) *fhirEnv {
	t.Helper()
	ctx := context.Background()
	e := &fhirEnv{t: t, st: st}
	newClient := func(name string) creds {
		sec, err := secret.NewAPISecret()
		if err != nil {
			t.Fatal(err)
		}
		uuid := fmt.Sprintf("%08x-0000-4000-8000-%012x", len(name), time.Now().UnixNano()%1e12)
		if err := st.CreateClient(ctx, store.Client{UUID: uuid, Name: name, SecretHash: secret.HashAPISecret(sec)}); err != nil {
			t.Fatal(err)
		}
		return creds{uuid: uuid, secret: sec}
	}
	e.a, e.b = newClient("a"), newClient("bb")
	put := func(c creds, user, golden string, days int) {
		var in []store.HealthInput
		first := ""
		for _, g := range testutil.OuraGolden(t, golden) {
			if first == "" || g.Day < first {
				first = g.Day
			}
		}
		last := addDay(first, days-1)
		for _, g := range testutil.OuraGolden(t, golden) {
			if g.Day > last {
				continue
			}
			d, err := health.Decode(health.Document{DataStructure: g.DataStructure, Pillar: g.Pillar, Day: g.Day, Body: g.Document})
			if err != nil {
				t.Fatal(err)
			}
			h := d.Envelope()
			h.ClientUUID, h.UserID = c.uuid, user
			in = append(in, store.HealthInput{Key: store.HealthKey("oura", g.Key), Doc: d})
		}
		if _, err := st.UpsertUser(ctx, store.User{ClientUUID: c.uuid, UserID: user}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ApplyHealthDocuments(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	put(e.a, "sim-0", "sim-user0", 10)
	put(e.b, "sim-0", "sim-user1", 1)
	put(e.b, "b-only", "sim-user1", 1)
	if _, err := st.CreateConnection(ctx, store.Connection{ClientUUID: e.a.uuid, UserID: "sim-0", DataSource: "oura", Status: store.StatusActive,
		Tokens: store.Tokens{AccessToken: "a", RefreshToken: "r", Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 4, 10, 12, 0, 0, 0, time.UTC)
	api, err := New(Config{Store: st, Sources: []Source{{DataSource: "oura", Name: "Oura"}}, Logger: quietLogger(),
		Now: func() time.Time { return now }, AuthCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func addDay(day string, n int) string {
	d, _ := time.Parse(time.DateOnly, day)
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

type fhirResp struct {
	status int
	header http.Header
	body   []byte
}

// get requests a FHIR route with c's credentials (none when c is nil).
func (e *fhirEnv) get(c *creds, target string) fhirResp {
	e.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = e.url + target
	}
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if c != nil {
		req.SetBasicAuth(c.uuid, c.secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return fhirResp{status: res.StatusCode, header: res.Header, body: b}
}

// resource checks a 200 FHIR JSON response against the schema and
// decodes it.
func (e *fhirEnv) resource(r fhirResp, v any) {
	e.t.Helper()
	e.decode(r, v)
	fhirtest.Validate(e.t, r.body)
}

// decode checks a 200 FHIR JSON response and decodes it.
func (e *fhirEnv) decode(r fhirResp, v any) {
	e.t.Helper()
	if r.status != 200 || r.header.Get("Content-Type") != "application/fhir+json" {
		e.t.Fatalf("status %d, %s: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		e.t.Fatal(err)
	}
}

// outcome checks an error response: the status, and an OperationOutcome
// that says something.
func (e *fhirEnv) outcome(r fhirResp, status int, code string) fhir.OperationOutcome {
	e.t.Helper()
	if r.status != status || r.header.Get("Content-Type") != "application/fhir+json" {
		e.t.Fatalf("status %d (%s), want %d OperationOutcome: %s", r.status, r.header.Get("Content-Type"), status, r.body)
	}
	fhirtest.Validate(e.t, r.body)
	var oo fhir.OperationOutcome
	if err := json.Unmarshal(r.body, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 {
		e.t.Fatalf("not an OperationOutcome: %s", r.body)
	}
	if oo.Issue[0].Code != code || len(oo.Issue[0].Diagnostics) < 15 {
		e.t.Errorf("issue %+v, want code %s and a sentence", oo.Issue[0], code)
	}
	return oo
}

// stored is every Observation of a client's user, ranked, from the store
// through the mapping.
func (e *fhirEnv) stored(c creds, user string) []fhir.Ranked {
	e.t.Helper()
	docs, err := e.st.GetHealthDocuments(context.Background(), store.HealthQuery{ClientUUID: c.uuid, UserID: user})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []fhir.Ranked
	for _, d := range docs {
		_, key, _ := strings.Cut(d.Key, ":")
		obs, err := fhir.Observations(fhir.Document{UserID: d.UserID, DataSource: d.DataSource(), SourceName: "Oura", Key: key,
			Pillar: d.Pillar, DataStructure: d.DataStructure, Day: d.Day, Version: d.Version, Body: d.Body})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, fhir.Rank(obs)...)
	}
	return out
}

// pages follows the next links from target and returns the ids in the
// order served. The first two pages are checked against the schema (a
// Bundle's entries validate against every resource type in turn, which is
// slow); the others are decoded.
func (e *fhirEnv) pages(c creds, target string) []string {
	e.t.Helper()
	var ids []string
	var last time.Time
	for n := 0; target != ""; n++ {
		if n > 500 {
			e.t.Fatal("more than 500 pages")
		}
		var b fhir.Bundle
		if n < 2 {
			e.resource(e.get(&c, target), &b)
		} else {
			e.decode(e.get(&c, target), &b)
		}
		if b.Type != "searchset" {
			e.t.Fatalf("Bundle type %s", b.Type)
		}
		target = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				target = l.URL
			}
		}
		for _, en := range b.Entry {
			var o fhir.Observation
			if err := json.Unmarshal(en.Resource, &o); err != nil {
				e.t.Fatal(err)
			}
			s, _, ok := o.Range()
			if !ok || s.Before(last) {
				e.t.Fatalf("%s starts %v, before the previous %v", o.ID, s, last)
			}
			last = s
			if en.FullURL != e.url+"/fhir/R4/Observation/"+o.ID {
				e.t.Errorf("fullUrl %s", en.FullURL)
			}
			ids = append(ids, o.ID)
		}
	}
	return ids
}

// TestFHIRSearchPagesAndDates: paging with _count returns every matching
// Observation exactly once, in order; a date range keeps exactly the
// Observations that overlap it (ge and le inclusive, a night that began
// the evening before included); code and category filter.
func TestFHIRSearchPagesAndDates(t *testing.T) {
	fhirStores(t, func(t *testing.T, e *fhirEnv) {
		all := e.stored(e.a, "sim-0")
		tests := []struct {
			name, query string
			keep        func(fhir.Ranked) bool
		}{
			{"all", "", func(fhir.Ranked) bool { return true }},
			{"one per page", "&date=ge2024-03-28T06:00:00Z&date=le2024-03-28T12:00:00Z", func(o fhir.Ranked) bool {
				lo, hi := time.Date(2024, 3, 28, 6, 0, 0, 0, time.UTC), time.Date(2024, 3, 28, 12, 0, 1, 0, time.UTC)
				return o.End.After(lo) && o.Start.Before(hi)
			}},
			{"two days", "&date=ge2024-03-27&date=le2024-03-28", func(o fhir.Ranked) bool {
				lo, hi := time.Date(2024, 3, 27, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 29, 0, 0, 0, 0, time.UTC)
				return o.End.After(lo) && o.Start.Before(hi)
			}},
			{"instant bounds", "&date=ge2024-03-27T22:00:00%2B02:00&date=lt2024-03-28T06:00:00%2B02:00", func(o fhir.Ranked) bool {
				lo, hi := time.Date(2024, 3, 27, 20, 0, 0, 0, time.UTC), time.Date(2024, 3, 28, 4, 0, 0, 0, time.UTC)
				return o.End.After(lo) && o.Start.Before(hi)
			}},
			{"heart rate", "&code=http://loinc.org|8867-4&_format=json", func(o fhir.Ranked) bool { return o.Code.Has(fhir.LOINC, "8867-4") }},
			{"vital signs of a day", "&category=vital-signs&date=2024-03-28", func(o fhir.Ranked) bool {
				lo, hi := time.Date(2024, 3, 28, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 29, 0, 0, 0, 0, time.UTC)
				return o.HasCategory(fhir.CategoryVitalSigns) && !o.Start.Before(lo) && !o.End.After(hi)
			}},
		}
		for _, tt := range tests {
			var want []string
			spans := 0
			for _, o := range all {
				if tt.keep(o) {
					want = append(want, o.ID)
					if tt.query != "" && o.EffectivePeriod != nil && o.Start.Format(time.DateOnly) != o.End.Add(-time.Nanosecond).Format(time.DateOnly) {
						spans++
					}
				}
			}
			if len(want) == 0 {
				t.Fatalf("%s: nothing matches: the case proves nothing", tt.name)
			}
			for _, count := range []int{len(want)/5 + 1, 1000} {
				if count > 1000 {
					count = 1000
				}
				got := e.pages(e.a, fmt.Sprintf("/fhir/R4/Observation?patient=sim-0&_count=%d%s", count, tt.query))
				seen := map[string]bool{}
				for _, id := range got {
					if seen[id] {
						t.Errorf("%s, _count=%d: %s returned twice", tt.name, count, id)
					}
					seen[id] = true
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s, _count=%d: %d Observations, want %d", tt.name, count, len(got), len(want))
				}
			}
			t.Logf("%s: %d Observations (%d periods across midnight)", tt.name, len(want), spans)
		}
		if got := e.pages(e.a, "/fhir/R4/Observation?patient=sim-0&date=ge2024-03-30&date=le2024-03-26"); len(got) != 0 {
			t.Errorf("dates that exclude each other: %d Observations", len(got))
		}
	})
}

// TestFHIRReadsAndExport: metadata, Patient, Device and Observation reads
// validate; $everything exports every resource as NDJSON.
func TestFHIRReadsAndExport(t *testing.T) {
	fhirStores(t, func(t *testing.T, e *fhirEnv) {
		var cs map[string]any
		e.resource(e.get(nil, "/fhir/R4/metadata"), &cs)
		if cs["resourceType"] != "CapabilityStatement" || cs["fhirVersion"] != "4.0.1" {
			t.Errorf("metadata: %v", cs)
		}
		var p fhir.Patient
		e.resource(e.get(&e.a, "/fhir/R4/Patient/sim-0"), &p)
		if p.ID != "sim-0" || len(p.Identifier) != 1 || p.Identifier[0].Value != "sim-0" || !strings.HasSuffix(p.Identifier[0].System, e.a.uuid) {
			t.Errorf("Patient %+v", p)
		}
		var d fhir.Device
		e.resource(e.get(&e.a, "/fhir/R4/Device/sim-0.oura"), &d)
		if d.Manufacturer != "Oura" || d.Patient.Reference != "Patient/sim-0" {
			t.Errorf("Device %+v", d)
		}
		e.outcome(e.get(&e.a, "/fhir/R4/Device/sim-0.whoop"), 404, "not-found")

		all := e.stored(e.a, "sim-0")
		for _, o := range []fhir.Ranked{all[0], all[len(all)/2], all[len(all)-1]} {
			var got fhir.Observation
			e.resource(e.get(&e.a, "/fhir/R4/Observation/"+o.ID), &got)
			if !bytes.Equal(mustMarshal(t, got), mustMarshal(t, o.Observation)) {
				t.Errorf("Observation %s read back differs", o.ID)
			}
		}
		e.outcome(e.get(&e.a, "/fhir/R4/Observation/20240328-06-00000000000000000000000000000000"), 404, "not-found")
		e.outcome(e.get(&e.a, "/fhir/R4/Observation/nonsense"), 404, "not-found")

		r := e.get(&e.a, "/fhir/R4/Patient/sim-0/$everything")
		if r.status != 200 || r.header.Get("Content-Type") != "application/fhir+ndjson" {
			t.Fatalf("$everything: %d %s", r.status, r.header.Get("Content-Type"))
		}
		types := map[string]int{}
		sc := bufio.NewScanner(bytes.NewReader(r.body))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			line := sc.Bytes()
			var head struct{ ResourceType string }
			if err := json.Unmarshal(line, &head); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if types[head.ResourceType] < 3 {
				fhirtest.Validate(t, line)
			}
			types[head.ResourceType]++
		}
		if types["Patient"] != 1 || types["Device"] != 1 || types["Observation"] != len(all) {
			t.Errorf("$everything: %v, want 1 Patient, 1 Device, %d Observations", types, len(all))
		}
	})
}

// TestFHIRErrorsAndTenancy: bad searches are 400 OperationOutcomes, a
// missing login 401, another client's patients and Observations 404; the
// same user_id at two clients is two Patients.
func TestFHIRErrorsAndTenancy(t *testing.T) {
	fhirStores(t, func(t *testing.T, e *fhirEnv) {
		for _, q := range []string{
			"patient=sim-0&subject=Patient/sim-0",
			"patient=sim-0&_sort=date",
			"patient=sim-0&date=yesterday",
			"patient=sim-0&date=ap2024-03-01",
			"patient=sim-0&_count=0",
			"patient=sim-0&_count=many",
			"patient=sim-0&_cursor=x",
			"patient=sim-0&code=",
			"date=ge2024-03-01",
			"patient=sim-0&patient=b-only",
			"patient=sim-0&_format=xml",
		} {
			oo := e.outcome(e.get(&e.a, "/fhir/R4/Observation?"+q), 400, "invalid")
			t.Logf("%s: %s", q, oo.Issue[0].Diagnostics)
		}
		r := e.get(nil, "/fhir/R4/Observation?patient=sim-0")
		e.outcome(r, 401, "security")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		e.outcome(e.get(&creds{uuid: e.a.uuid, secret: "wrong"}, "/fhir/R4/Patient/sim-0"), 401, "security")

		// b-only is b's: a does not see it.
		e.outcome(e.get(&e.a, "/fhir/R4/Patient/b-only"), 404, "not-found")
		e.outcome(e.get(&e.a, "/fhir/R4/Observation?patient=b-only"), 404, "not-found")
		e.outcome(e.get(&e.a, "/fhir/R4/Patient/b-only/$everything"), 404, "not-found")
		bObs := e.stored(e.b, "b-only")
		if len(bObs) == 0 {
			t.Fatal("b has no Observations")
		}
		e.outcome(e.get(&e.a, "/fhir/R4/Observation/"+bObs[0].ID), 404, "not-found")
		var o fhir.Observation
		e.resource(e.get(&e.b, "/fhir/R4/Observation/"+bObs[0].ID), &o)

		// sim-0 at b is b's own user: b's search never shows a's.
		aIDs, bIDs := e.pages(e.a, "/fhir/R4/Observation?patient=sim-0&_count=1000"), e.pages(e.b, "/fhir/R4/Observation?patient=sim-0&_count=1000")
		if len(bIDs) == 0 || len(bIDs) >= len(aIDs) {
			t.Fatalf("a has %d, b %d Observations of its sim-0", len(aIDs), len(bIDs))
		}
		for _, id := range bIDs {
			if slices.Contains(aIDs, id) && !slices.ContainsFunc(e.stored(e.b, "sim-0"), func(r fhir.Ranked) bool { return r.ID == id }) {
				t.Errorf("b sees %s, which only a has", id)
			}
		}
		var p fhir.Patient
		e.resource(e.get(&e.b, "/fhir/R4/Patient/sim-0"), &p)
		if !strings.HasSuffix(p.Identifier[0].System, e.b.uuid) {
			t.Errorf("b's Patient in namespace %s", p.Identifier[0].System)
		}

		e.outcome(e.get(&e.a, "/fhir/R4/Encounter"), 404, "not-found")
		req, _ := http.NewRequest("POST", e.url+"/fhir/R4/Observation", strings.NewReader("{}"))
		req.SetBasicAuth(e.a.uuid, e.a.secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		e.outcome(fhirResp{status: res.StatusCode, header: res.Header, body: b}, 405, "not-supported")
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
