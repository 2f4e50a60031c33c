package oura

import (
	"encoding/json"
	"strings"
	"testing"
)

// benchPage builds a list response of n documents by repeating the real
// documents of one recorded response.
func benchPage(b *testing.B, fixture string, n int) []byte {
	b.Helper()
	rec, ok := loadRecorded(b)[fixture]
	if !ok {
		b.Skipf("fixture %s not present", fixture)
	}
	var p struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(rec.Body, &p); err != nil || len(p.Data) == 0 {
		b.Fatalf("fixture %s: %v", fixture, err)
	}
	docs := make([]string, n)
	for i := range docs {
		docs[i] = string(p.Data[i%len(p.Data)])
	}
	return []byte(`{"data":[` + strings.Join(docs, ",") + `],"next_token":null}`)
}

// benchDecode compares the client's page decoding (typed model plus the raw
// bytes of every document) with plain encoding/json into the same model.
func benchDecode[T any](b *testing.B, fixture string) {
	const n = 100
	body := benchPage(b, fixture, n)
	b.Run("client", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			docs, _, err := decodePage[T](body)
			if err != nil || len(docs) != n {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "docs/s")
	})
	b.Run("plain", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var p page[T]
			if err := json.Unmarshal(body, &p); err != nil || len(p.Data) != n {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "docs/s")
	})
}

func BenchmarkDecodeSleep(b *testing.B) { benchDecode[Sleep](b, "multiple_sleep.json") }
func BenchmarkDecodeDailyActivity(b *testing.B) {
	benchDecode[DailyActivity](b, "multiple_daily_activity.json")
}
