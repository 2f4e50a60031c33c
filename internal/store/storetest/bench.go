package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/oura/normalize"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/store"
)

// Benchmark data: 30 days of one simulated user, as the sync engine
// stores them: raw documents in one batch per day (heart rate every five
// minutes makes most of them), and the month's normalized documents in one
// call.

const (
	benchClient = "bench-client"
	benchUser   = "bench-user"
	benchStart  = "2024-03-01"
	benchDays   = 30
)

type benchSet struct {
	rawDays [][]store.RawDocument // ConnectionID 0, set per run
	health  []normalize.Result
}

var benchData = sync.OnceValues(func() (*benchSet, error) {
	start, _ := time.Parse(time.DateOnly, benchStart)
	now := start.AddDate(0, 0, benchDays+2)
	w := ourasim.NewWorld(ourasim.WorldConfig{Seed: 7, Users: 1, HistoryStart: benchStart, Now: func() time.Time { return now }})
	u := w.Users()[0]
	set := &benchSet{}
	in := &normalize.Input{PersonalInfo: []oura.PersonalInfo{w.PersonalInfo(u)}, RingConfiguration: w.RingConfigurations(u)}
	for i := range benchDays {
		day := start.AddDate(0, 0, i).Format(time.DateOnly)
		d := w.Day(u, oura.Date(day))
		var docs []store.RawDocument
		add := func(coll string, v any) error {
			body, err := json.Marshal(v)
			if err != nil {
				return err
			}
			var id struct {
				ID        string `json:"id"`
				Timestamp string `json:"timestamp"`
			}
			if err := json.Unmarshal(body, &id); err != nil {
				return err
			}
			if id.ID == "" {
				id.ID = id.Timestamp
			}
			docs = append(docs, store.RawDocument{Collection: coll, ExternalID: id.ID, Day: day, Body: body})
			return nil
		}
		var errs []error
		each := func(coll string, n int, at func(int) any) {
			for j := range n {
				errs = append(errs, add(coll, at(j)))
			}
		}
		one := func(coll string, ok bool, v any) {
			if ok {
				errs = append(errs, add(coll, v))
			}
		}
		each(oura.CollSleep, len(d.Sleep), func(j int) any { return d.Sleep[j] })
		one(oura.CollDailySleep, d.DailySleep != nil, d.DailySleep)
		one(oura.CollDailyReadiness, d.DailyReadiness != nil, d.DailyReadiness)
		one(oura.CollDailyActivity, d.DailyActivity != nil, d.DailyActivity)
		one(oura.CollDailySpO2, d.DailySpO2 != nil, d.DailySpO2)
		one(oura.CollDailyStress, d.DailyStress != nil, d.DailyStress)
		each(oura.CollWorkout, len(d.Workouts), func(j int) any { return d.Workouts[j] })
		each(oura.CollSession, len(d.Sessions), func(j int) any { return d.Sessions[j] })
		each(oura.CollHeartRate, len(d.HeartRate), func(j int) any { return d.HeartRate[j] })
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		set.rawDays = append(set.rawDays, docs)

		in.Sleep = append(in.Sleep, d.Sleep...)
		if d.DailySleep != nil {
			in.DailySleep = append(in.DailySleep, *d.DailySleep)
		}
		if d.DailyReadiness != nil {
			in.DailyReadiness = append(in.DailyReadiness, *d.DailyReadiness)
		}
		if d.DailyActivity != nil {
			in.DailyActivity = append(in.DailyActivity, *d.DailyActivity)
		}
		if d.DailySpO2 != nil {
			in.DailySpO2 = append(in.DailySpO2, *d.DailySpO2)
		}
		if d.DailyStress != nil {
			in.DailyStress = append(in.DailyStress, *d.DailyStress)
		}
		in.Workout = append(in.Workout, d.Workouts...)
		in.Session = append(in.Session, d.Sessions...)
		in.HeartRate = append(in.HeartRate, d.HeartRate...)
	}
	res, err := normalize.Normalize(in, normalize.Options{ClientUUID: benchClient, UserID: benchUser, Location: u.Location})
	if err != nil {
		return nil, err
	}
	set.health = res
	return set, nil
})

func benchSetup(b *testing.B, s store.Store) (*benchSet, store.Connection) {
	b.Helper()
	data, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if err := s.CreateClient(ctx, store.Client{UUID: benchClient}); err != nil {
		b.Fatal(err)
	}
	c, err := s.CreateConnection(ctx, store.Connection{ClientUUID: benchClient, UserID: benchUser, Tokens: store.Tokens{AccessToken: "a"}})
	if err != nil {
		b.Fatal(err)
	}
	return data, c
}

// BenchPutRaw measures PutRawDocuments with one day of raw documents per
// call: new documents (insert), then the same bytes again (unchanged).
// It reports documents per second.
func BenchPutRaw(b *testing.B, newStore func(testing.TB) store.Store) {
	b.Run("insert", func(b *testing.B) {
		s := newStore(b)
		data, c := benchSetup(b, s)
		n := 0
		for i := 0; b.Loop(); i++ {
			// Fresh ids each round, so that every document is new.
			day := data.rawDays[i%len(data.rawDays)]
			docs := make([]store.RawDocument, len(day))
			for j, d := range day {
				d.ConnectionID = c.ID
				d.ExternalID = fmt.Sprintf("%s#%d", d.ExternalID, i)
				docs[j] = d
			}
			w, err := s.PutRawDocuments(b.Context(), docs)
			if err != nil {
				b.Fatal(err)
			}
			if w.Inserted != len(docs) {
				b.Fatalf("inserted %d of %d", w.Inserted, len(docs))
			}
			n += len(docs)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
		b.ReportMetric(float64(n)/float64(b.N), "docs/op")
	})
	b.Run("unchanged", func(b *testing.B) {
		s := newStore(b)
		data, c := benchSetup(b, s)
		days := make([][]store.RawDocument, len(data.rawDays))
		for i, day := range data.rawDays {
			days[i] = make([]store.RawDocument, len(day))
			for j, d := range day {
				d.ConnectionID = c.ID
				days[i][j] = d
			}
			if _, err := s.PutRawDocuments(b.Context(), days[i]); err != nil {
				b.Fatal(err)
			}
		}
		n := 0
		for i := 0; b.Loop(); i++ {
			docs := days[i%len(days)]
			w, err := s.PutRawDocuments(b.Context(), docs)
			if err != nil {
				b.Fatal(err)
			}
			if w.Unchanged != len(docs) {
				b.Fatalf("unchanged %d of %d", w.Unchanged, len(docs))
			}
			n += len(docs)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
		b.ReportMetric(float64(n)/float64(b.N), "docs/op")
	})
}

// BenchApplyHealth measures ApplyHealthDocuments with a month of one
// user's normalized documents per call: new documents (insert, with their
// outbox records), then the same content again (unchanged: hashing and
// one read). It reports documents per second.
func BenchApplyHealth(b *testing.B, newStore func(testing.TB) store.Store) {
	b.Run("insert", func(b *testing.B) {
		s := newStore(b)
		data, _ := benchSetup(b, s)
		n := 0
		for i := 0; b.Loop(); i++ {
			// Fresh keys each round, so that every document is new.
			in := make([]store.HealthInput, len(data.health))
			for j, r := range data.health {
				in[j] = store.HealthInput{Key: fmt.Sprintf("%s#%d", r.Key, i), Doc: r.Doc}
			}
			w, err := s.ApplyHealthDocuments(b.Context(), in)
			if err != nil {
				b.Fatal(err)
			}
			if w.Inserted != len(in) {
				b.Fatalf("inserted %d of %d", w.Inserted, len(in))
			}
			n += len(in)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
		b.ReportMetric(float64(n)/float64(b.N), "docs/op")
		b.ReportMetric(float64(bodyBytes(data.health))/float64(len(data.health)), "bytes/doc")
	})
	b.Run("unchanged", func(b *testing.B) {
		s := newStore(b)
		data, _ := benchSetup(b, s)
		in := make([]store.HealthInput, len(data.health))
		for j, r := range data.health {
			in[j] = store.HealthInput{Key: r.Key, Doc: r.Doc}
		}
		if _, err := s.ApplyHealthDocuments(b.Context(), in); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			w, err := s.ApplyHealthDocuments(b.Context(), in)
			if err != nil {
				b.Fatal(err)
			}
			if w.Unchanged != len(in) {
				b.Fatalf("unchanged %d of %d", w.Unchanged, len(in))
			}
			n += len(in)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
		b.ReportMetric(float64(n)/float64(b.N), "docs/op")
	})
}

func bodyBytes(rs []normalize.Result) int {
	n := 0
	for _, r := range rs {
		b, _ := json.Marshal(r.Doc)
		n += len(b)
	}
	return n
}
