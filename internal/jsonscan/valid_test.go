package jsonscan

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

var validCases = []string{
	``, ` `, `0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.5e10`, `2.e3`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `nullnull`, `NaN`, `Infinity`,
	`""`, `"`, `"abc`, `"a\"b"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u12"`, `"\x"`,
	"\"a\x01\"", "\"a\x7f\"", "\"\xff\xfe\"", "\"\t\"", `"é"`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a" : 1 , "b" : [ ] }`, `{a:1}`, `{"a"}`, `{"a":}`, `{"a":1 "b":2}`, `{,}`,
	`[]`, `[ ]`, `[1]`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[[[]]`, `[]]`, `{"a":[1,{"b":null}]}`,
	" \t\r\n{\"a\":1}\n ", `{"a":1} x`, `1 2`, "\v1", `{"a":1}}`,
}

func TestValidAsEncodingJSON(t *testing.T) {
	check := func(s string) {
		t.Helper()
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", s, got, want)
		}
	}
	for _, s := range validCases {
		check(s)
	}
	// Nesting at and beyond encoding/json's limit.
	for _, n := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		check(strings.Repeat("[", n) + strings.Repeat("]", n))
		check(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
	}
	// Every cut and every one-byte change of some documents, from a fixed
	// seed.
	docs := []string{
		`{"bpm":48,"source":"sleep","timestamp":"2025-12-05T00:04:43+00:00","timestamp_unix":1764893083000}`,
		`{"a":[1,-2.5e+3,true,false,null,"x\"\u00e9\\"],"b":{"c":{}},"d":[]}`,
	}
	alphabet := []byte(" \t\n{}[]:,\"\\u0123456789abcdefE+-.tfnrlse\x01\x7f\xff")
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range docs {
		for i := range len(d) + 1 {
			check(d[:i])
			for range 8 {
				b := []byte(d)
				if i < len(b) {
					b[i] = alphabet[r.IntN(len(alphabet))]
					check(string(b))
				}
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}
