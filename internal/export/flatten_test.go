package export

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestFlattenGolden flattens each testdata/flatten/<case>.json (an array of
// documents) and compares the CSV with <case>.csv.
func TestFlattenGolden(t *testing.T) {
	for _, name := range []string{"nested", "arrays", "mixed"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "flatten", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var docs []json.RawMessage
			if err := json.Unmarshal(in, &docs); err != nil {
				t.Fatal(err)
			}
			tab, err := FlattenAll(docs)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteCSV(&got, tab); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "flatten", name+".csv")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("CSV differs from %s:\n got:\n%s\nwant:\n%s", golden, got.Bytes(), want)
			}
			checkParquet(t, tab)
		})
	}
}

// checkParquet writes the table and reads it back: same row count, same
// column names, and the same text in every non-null cell.
func checkParquet(t *testing.T, tab *Table) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteParquet(&buf, tab); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != int64(len(tab.Rows)) {
		t.Fatalf("parquet has %d rows, table %d", f.NumRows(), len(tab.Rows))
	}
	fields := f.Schema().Fields()
	if len(fields) != len(tab.Columns) {
		t.Fatalf("parquet has %d columns, table %d", len(fields), len(tab.Columns))
	}
	col := map[string]int{}
	for j, c := range tab.Columns {
		col[c] = j
	}
	rows := make([]parquet.Row, len(tab.Rows))
	r := parquet.NewReader(bytes.NewReader(buf.Bytes()))
	defer r.Close()
	if n, _ := r.ReadRows(rows); n != len(rows) {
		t.Fatalf("read %d rows back, want %d", n, len(rows))
	}
	for i, row := range rows {
		for k, v := range row {
			want := tab.Rows[i][col[fields[k].Name()]]
			if v.IsNull() != (want.Kind == Null) {
				t.Errorf("row %d %s: null %v, want %v", i, fields[k].Name(), v.IsNull(), want.Kind == Null)
				continue
			}
			if want.Kind == String || want.Kind == JSON || want.Kind == Bool {
				if got := v.String(); got != want.Text {
					t.Errorf("row %d %s: %q, want %q", i, fields[k].Name(), got, want.Text)
				}
			}
		}
	}
}

func TestFlattenRejectsNonObjects(t *testing.T) {
	for _, doc := range []string{`[1,2]`, `"x"`, ``, `{"a":`} {
		if _, err := Flatten([]byte(doc)); err == nil {
			t.Errorf("Flatten(%q) gave no error", doc)
		}
	}
}

func TestFlattenKeepsKeyOrderAndDigits(t *testing.T) {
	got, err := Flatten([]byte(`{"z": 1.50, "a": {"y": 2, "b": [1, {"c": 3}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{"z", Num("1.50")}, {"a.y", Num("2")}, {"a.b", Value{Kind: JSON, Text: `[1,{"c":3}]`}}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// An object keyed by numbers is a series of samples (Withings' sleep heart
// rate keyed by epoch second): one cell of JSON, not a column per sample;
// an object with any other key is walked as fields.
func TestFlattenKeepsSeriesWhole(t *testing.T) {
	got, err := Flatten([]byte(`{"hr": {"1700000000": 61, "1700000060": 60}, "x": {"1": 2, "b": 3}, "e": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{"hr", Value{Kind: JSON, Text: `{"1700000000":61,"1700000060":60}`}}, {"x.1", Num("2")}, {"x.b", Num("3")}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// The keys of a series are read as JSON strings (escapes included) and its
// values skipped whole, whatever they hold; a cell already compact is kept
// as it is and one with spaces compacted.
func TestFlattenSeriesKeysAndValues(t *testing.T) {
	got, err := Flatten([]byte(`{"s": {"\u0031": {"a": [1, 2]}, "2.5": "}"}, "t": {"1": 1, "n\u0031": 2}, "c": [1,"a b"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{"s", Value{Kind: JSON, Text: `{"\u0031":{"a":[1,2]},"2.5":"}"}`}}, {"t.1", Num("1")}, {"t.n1", Num("2")}, {"c", Value{Kind: JSON, Text: `[1,"a b"]`}}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// Both ways give one document per line, each as given, in one array.
func TestJSONArrayLayout(t *testing.T) {
	for _, c := range []struct {
		docs []json.RawMessage
		want string
	}{
		{nil, "[]\n"},
		{[]json.RawMessage{json.RawMessage(`{"a":1}`)}, "[\n{\"a\":1}\n]\n"},
		{[]json.RawMessage{json.RawMessage(`{}`), json.RawMessage(`[1]`), json.RawMessage(`"x"`)}, "[\n{},\n[1],\n\"x\"\n]\n"},
	} {
		var got bytes.Buffer
		if err := WriteJSONArray(&got, c.docs); err != nil {
			t.Fatal(err)
		}
		if got.String() != c.want {
			t.Errorf("WriteJSONArray: %q, want %q", got.String(), c.want)
		}
		if got := JSONArray(c.docs); string(got) != c.want {
			t.Errorf("JSONArray: %q, want %q", got, c.want)
		}
	}
}
