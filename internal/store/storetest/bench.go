package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/wearlink/wearlink/internal/store"
)

// BenchData is what the store benchmarks write, as the sync engine
// stores it: raw documents in one batch per day, and their normalized
// documents in one call. internal/testutil/benchdata makes it from a
// simulated user, so that the store's test support names no provider.
type BenchData struct {
	Client, User string
	RawDays      [][]store.RawDocument // ConnectionID 0, set per run
	Health       []store.HealthInput
}

type benchSet = BenchData

func benchSetup(b *testing.B, s store.Store, data *BenchData) (*benchSet, store.Connection) {
	b.Helper()
	ctx := b.Context()
	if err := s.CreateClient(ctx, store.Client{UUID: data.Client}); err != nil {
		b.Fatal(err)
	}
	c, err := s.CreateConnection(ctx, store.Connection{ClientUUID: data.Client, UserID: data.User, DataSource: "oura", Tokens: store.Tokens{AccessToken: "a"}})
	if err != nil {
		b.Fatal(err)
	}
	return data, c
}

// BenchPutRaw measures PutRawDocuments with one day of raw documents per
// call: new documents (insert), then the same bytes again (unchanged).
// It reports documents per second.
func BenchPutRaw(b *testing.B, newStore func(testing.TB) store.Store, data *BenchData) {
	b.Run("insert", func(b *testing.B) {
		s := newStore(b)
		data, c := benchSetup(b, s, data)
		n := 0
		for i := 0; b.Loop(); i++ {
			// Fresh ids each round, so that every document is new.
			day := data.RawDays[i%len(data.RawDays)]
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
		data, c := benchSetup(b, s, data)
		days := make([][]store.RawDocument, len(data.RawDays))
		for i, day := range data.RawDays {
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
func BenchApplyHealth(b *testing.B, newStore func(testing.TB) store.Store, data *BenchData) {
	b.Run("insert", func(b *testing.B) {
		s := newStore(b)
		data, _ := benchSetup(b, s, data)
		n := 0
		for i := 0; b.Loop(); i++ {
			// Fresh keys each round, so that every document is new.
			in := make([]store.HealthInput, len(data.Health))
			for j, r := range data.Health {
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
		b.ReportMetric(float64(bodyBytes(data.Health))/float64(len(data.Health)), "bytes/doc")
	})
	b.Run("unchanged", func(b *testing.B) {
		s := newStore(b)
		data, _ := benchSetup(b, s, data)
		in := make([]store.HealthInput, len(data.Health))
		for j, r := range data.Health {
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

func bodyBytes(rs []store.HealthInput) int {
	n := 0
	for _, r := range rs {
		b, _ := json.Marshal(r.Doc)
		n += len(b)
	}
	return n
}
