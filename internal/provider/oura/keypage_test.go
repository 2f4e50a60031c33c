package oura

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The plain reading of a page's keys gives what encoding/json's does, for
// the pages it takes, and leaves the others to it.
func TestDecodeKeyPageAsDecoding(t *testing.T) {
	row := `{"bpm":48,"source":"sleep","timestamp":"2025-12-05T00:04:43+00:00","timestamp_unix":1764893083000}`
	doc := `{"id":"a-1","day":"2025-12-05","score":80,"contributors":{"day":1,"id":[2]},"timestamp":"2025-12-05T00:00:00+00:00"}`
	plain := []string{
		`{"data":[],"next_token":null}`,
		`{"data":[` + row + `,` + row + `],"next_token":"abc"}`,
		`{"next_token":"x","data":[` + doc + `]}`,
		` { "data" : [ ` + doc + ` , {"start_day":"2025-01-01","id":null} ] , "other": {"Data":1} } `,
		`{"data":[{"id":"x","day":null}],"extra":[1,2]}`,
		`{"data":[{"ID2":"x","dayx":"y","time":"z"}]}`,
		`{}`,
	}
	other := []string{
		`{"data":[` + row, `[]`, `null`, `{"data":null}`, `{"data":[1]}`, `{"data":[null]}`,
		`{"data":[],"data":[]}`, `{"Data":[]}`, `{"data":[],"Next_Token":"x"}`, `{"data":[],"next_token":5}`,
		`{"data":[],"next_token":"\u0041"}`, `{"data":[],"next_token":"a","next_token":"b"}`,
		`{"data":[{"id":5}]}`, `{"data":[{"id":"a","id":"b"}]}`, `{"data":[{"ID":"a"}]}`, `{"data":[{"Day":"a"}]}`,
		`{"data":[{"id":"\u00e9"}]}`, `{"data":[{"id":"é"}]}`, `{"data":[{"\u0069d":"a"}]}`, `{"data":[{"ſtart_day":"a"}]}`,
		`{"data":[{"timestamp":true}]}`, `{"dat\u0061":[]}`,
	}
	for _, body := range append(append([]string(nil), plain...), other...) {
		wantDocs, wantNext, wantErr := decodePageJSON[docKey]([]byte(body))
		gotDocs, gotNext, ok := decodeKeyPage([]byte(body))
		if !ok {
			continue
		}
		if wantErr != nil || !reflect.DeepEqual(gotDocs, wantDocs) || !reflect.DeepEqual(gotNext, wantNext) {
			t.Errorf("%s:\n got %+v %v\nwant %+v %v %v", body, gotDocs, fmt.Sprint(gotNext), wantDocs, fmt.Sprint(wantNext), wantErr)
		}
		for i := range gotDocs {
			if cap(gotDocs[i].Raw) != len(gotDocs[i].Raw) {
				t.Errorf("%s: row %d's bytes may be appended to over the page", body, i)
			}
		}
	}
	for _, body := range plain {
		if _, _, ok := decodeKeyPage([]byte(body)); !ok {
			t.Errorf("%s: not read plainly", body)
		}
	}
	for _, body := range other {
		if _, _, ok := decodeKeyPage([]byte(body)); ok {
			t.Errorf("%s: read plainly, but decoding may read it differently", body)
		}
	}
	// A page of a thousand rows, as the simulator sends them.
	big := `{"data":[` + strings.TrimSuffix(strings.Repeat(row+",", 1000), ",") + `],"next_token":"t"}`
	if docs, _, ok := decodeKeyPage([]byte(big)); !ok || len(docs) != 1000 {
		t.Errorf("a page of 1000 rows: %d, %v", len(docs), ok)
	}
}

func FuzzDecodeKeyPage(f *testing.F) {
	f.Add([]byte(`{"data":[{"id":"a","day":"2025-12-05","x":[1,{"id":2}]},{"timestamp":"t","start_day":null}],"next_token":"n"}`))
	f.Add([]byte(`{"data":[],"next_token":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		gotDocs, gotNext, ok := decodeKeyPage(body)
		if !ok {
			return
		}
		wantDocs, wantNext, err := decodePageJSON[docKey](body)
		if err != nil || !reflect.DeepEqual(gotDocs, wantDocs) || !reflect.DeepEqual(gotNext, wantNext) {
			t.Errorf("%q: got %+v %v, want %+v %v %v", body, gotDocs, gotNext, wantDocs, wantNext, err)
		}
	})
}
