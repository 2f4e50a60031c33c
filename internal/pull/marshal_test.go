package pull

import (
	"bytes"
	"encoding/json"
	"testing"
)

// rawMarshaler marshals itself as its bytes.
type rawMarshaler string

func (r rawMarshaler) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// marshalDoc gives what json.Marshal gives, whether or not the document's
// own MarshalJSON leaves something for json.Marshal to change.
func TestMarshalDocAsJSONMarshal(t *testing.T) {
	for _, doc := range []any{
		rawMarshaler(`{"a":"b c","n":[1,2]}`),
		rawMarshaler(`{"a": 1}`),
		rawMarshaler("{\"a\":\"x<y & z\"}"),
		rawMarshaler("{\"a\":\"\u2028\"}"),
		rawMarshaler(`{"a":"q\"  \\"}`),
		map[string]int{"z": 1, "a": 2},
		(*rawMarshalerPtr)(nil),
	} {
		want, werr := json.Marshal(doc)
		got, err := marshalDoc(doc)
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
			t.Errorf("%#v: %s, %v; json.Marshal: %s, %v", doc, got, err, want, werr)
		}
	}
}

type rawMarshalerPtr struct{}

func (*rawMarshalerPtr) MarshalJSON() ([]byte, error) { return []byte(`{}`), nil }
