package normalize

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// BenchmarkCollections compares, per collection, normalizing a month of
// one simulated user's documents with decoding the same documents from
// JSON, in the same run. Both report docs/s; normalizing should not be
// slower than decoding. "all" is every collection together.
//
//	go test ./internal/provider/oura/normalize -run '^$' -bench Collections -benchmem
func BenchmarkCollections(b *testing.B) {
	w := simWorld(1, "2024-03-01", 30)
	full := simInput(w, w.Users()[0], "2024-03-01", 30)
	opt := Options{ClientUUID: testClient, UserID: testUser, Location: w.Users()[0].Location, AsOf: "2024-03-30"}

	type coll struct {
		name string
		raw  []byte // the documents as a JSON object of Input
		n    int
	}
	var colls []coll
	v := reflect.ValueOf(full).Elem()
	total := 0
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Len() == 0 {
			continue
		}
		one := reflect.New(v.Type()).Elem()
		one.Field(i).Set(f)
		raw, err := json.Marshal(one.Addr().Interface())
		if err != nil {
			b.Fatal(err)
		}
		colls = append(colls, coll{v.Type().Field(i).Name, raw, f.Len()})
		total += f.Len()
	}
	raw, err := json.Marshal(full)
	if err != nil {
		b.Fatal(err)
	}
	colls = append(colls, coll{"all", raw, total})

	for _, c := range colls {
		var in Input
		if err := json.Unmarshal(c.raw, &in); err != nil {
			b.Fatal(err)
		}
		// The sync engine and the CLI pass the bytes Oura sent; so does the
		// benchmark, so attachments cost what they cost in production.
		in.Raw = rawIndex(b, &in)
		b.Run(c.name+"/decode", func(b *testing.B) {
			b.SetBytes(int64(len(c.raw)))
			for b.Loop() {
				var x Input
				if err := json.Unmarshal(c.raw, &x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.n*b.N)/b.Elapsed().Seconds(), "docs/s")
		})
		b.Run(c.name+"/normalize", func(b *testing.B) {
			b.SetBytes(int64(len(c.raw)))
			for b.Loop() {
				if _, err := Normalize(&in, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.n*b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// rawIndex builds Input.Raw from the documents of in, keyed as the sync
// engine keys them (id, or timestamp for time-series rows).
func rawIndex(tb testing.TB, in *Input) map[string]json.RawMessage {
	idx := map[string]json.RawMessage{}
	v := reflect.ValueOf(in).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Slice {
			continue
		}
		for j := 0; j < f.Len(); j++ {
			doc, err := json.Marshal(f.Index(j).Interface())
			if err != nil {
				tb.Fatal(err)
			}
			var k struct {
				ID        string `json:"id"`
				Timestamp string `json:"timestamp"`
			}
			_ = json.Unmarshal(doc, &k)
			c := collectionOfModel(f.Type().Elem())
			key := k.ID
			if key == "" || c.Key == oura.KeyTimestamp {
				key = k.Timestamp
			}
			idx[RawKey(c.Name, key)] = doc
		}
	}
	return idx
}

// collectionOfModel is the collection whose documents decode to model.
func collectionOfModel(model reflect.Type) oura.Collection {
	for _, c := range oura.Collections() {
		if c.Model == model {
			return c
		}
	}
	return oura.Collection{}
}
