package oura

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestSplitRawDataMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		`{"data":[],"next_token":null}`,
		`{"next_token":"a]b}","data":[{"id":"1"},{"id":"2"}]}`,
		`{ "data" : [ {"s":"quote \" and ] and } and [ and {"}, {"n":[1,[2,{"x":"\\"}]]} , 3, "str", null, true ] }`,
		"{\n\t\"other\": {\"data\": [9]},\n\t\"data\": [ -1.5e3 ,{\"a\":{}}]\n}",
		`{"detail":"no data here"}`,
	}
	for _, c := range cases {
		var want struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(c), &want); err != nil {
			t.Fatalf("case %s is not valid JSON: %v", c, err)
		}
		got, err := splitRawData([]byte(c))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if len(got) != len(want.Data) {
			t.Fatalf("%s: got %d elements, want %d", c, len(got), len(want.Data))
		}
		for i := range got {
			if !bytes.Equal(got[i], want.Data[i]) {
				t.Errorf("%s: element %d = %s, want %s", c, i, got[i], want.Data[i])
			}
		}
	}
}

func FuzzSplitRawData(f *testing.F) {
	f.Add([]byte(`{"data":[{"id":"1","s":"a\"]"},2],"next_token":null}`))
	f.Add([]byte(`{"data":[1],"data":[2,3]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var want struct {
			Data []json.RawMessage `json:"data"`
		}
		if json.Unmarshal(b, &want) != nil {
			return
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(b, &top) != nil {
			return
		}
		if d, ok := top["data"]; !ok || len(d) == 0 || d[0] != '[' {
			return
		}
		got, err := splitRawData(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want.Data) {
			t.Fatalf("got %d elements, want %d", len(got), len(want.Data))
		}
		for i := range got {
			if !bytes.Equal(got[i], want.Data[i]) {
				t.Fatalf("element %d = %s, want %s", i, got[i], want.Data[i])
			}
		}
	})
}
