package export

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// WriteCSV writes what encoding/csv's Writer writes, for every kind of
// field it treats apart.
func TestWriteCSVAsEncodingCSV(t *testing.T) {
	fields := []string{"", "a", `\.`, `\.x`, "a,b", `say "hi"`, `"`, `""`, "a\nb", "a\rb", "a\r\nb", " lead", "\tlead", "\u00a0lead",
		"trail ", "\xff", `{"a":[1,2],"b":"c"}`, "é", "\u2028x", "x\u2028"}
	var tab Table
	tab.Columns = []string{"c", "d,e", `"f"`}
	for _, a := range fields {
		for _, b := range fields {
			tab.Rows = append(tab.Rows, []Value{Str(a), Str(b)})
		}
	}
	var want bytes.Buffer
	cw := csv.NewWriter(&want)
	cw.Write(tab.Columns)
	for _, row := range tab.Rows {
		rec := []string{row[0].Text, row[1].Text, ""}
		cw.Write(rec)
	}
	cw.Flush()
	var got bytes.Buffer
	if err := WriteCSV(&got, &tab); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("got:\n%q\nwant:\n%q", got.String(), want.String())
	}
}

func FuzzWriteCSV(f *testing.F) {
	f.Add("a", `b"c`)
	f.Add(" x", "\r\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		tab := Table{Columns: []string{a, b}, Rows: [][]Value{{Str(a), Str(b)}, {Str(b)}}}
		var want bytes.Buffer
		cw := csv.NewWriter(&want)
		cw.Write(tab.Columns)
		cw.Write([]string{a, b})
		cw.Write([]string{b, ""})
		cw.Flush()
		var got bytes.Buffer
		if err := WriteCSV(&got, &tab); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("got %q, want %q", got.String(), want.String())
		}
	})
}
