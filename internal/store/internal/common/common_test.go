package common

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// TestEncodeEqualsMarshal: the body Encode derives from the hashed bytes is
// exactly json.Marshal of the document at that version, for every
// structure and for client and user values that mimic the field.
func TestEncodeEqualsMarshal(t *testing.T) {
	clients := []string{"c1", `x","document_version":0,"y`, `\"document_version\":0`, "<&>"}
	for _, st := range health.Structures() {
		for _, client := range clients {
			d := st.New()
			*d.Envelope() = health.Header{ClientUUID: client, UserID: "u-1", Day: "2024-01-01", DocumentVersion: 5}
			in, err := PrepareHealth([]store.HealthInput{{Key: "k", Doc: d}})
			if err != nil {
				t.Fatalf("%s: %v", st.Name, err)
			}
			if d.Envelope().DocumentVersion != 5 {
				t.Fatalf("%s: hashing changed the caller's version", st.Name)
			}
			if _, ok := withVersion(in[0].body0, 1); !ok {
				t.Fatalf("%s (client %q): the fast path does not apply", st.Name, client)
			}
			for _, v := range []int{1, 2, 9, 10, 123456} {
				got, err := in[0].Encode(v)
				if err != nil {
					t.Fatal(err)
				}
				want, err := json.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s v%d (client %q):\n got %s\nwant %s", st.Name, v, client, got, want)
				}
			}
		}
	}
}

func TestWithVersionRefusesOtherShapes(t *testing.T) {
	for _, b := range []string{
		`{"a":1}`,
		`{"client_uuid":"c","document_version":01}`,
		`{"client_uuid":"c","document_version":0`,
		`{"client_uuid":"c"}`,
	} {
		if out, ok := withVersion([]byte(b), 3); ok {
			t.Fatalf("withVersion(%s) = %s, want a refusal", b, out)
		}
	}
}

func TestHashIgnoresVersion(t *testing.T) {
	d := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: "c", UserID: "u", Day: "2024-01-01"}}
	a, err := PrepareHealth([]store.HealthInput{{Key: "k", Doc: d}})
	if err != nil {
		t.Fatal(err)
	}
	d.DocumentVersion = 7
	b, err := PrepareHealth([]store.HealthInput{{Key: "k", Doc: d}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a[0].Hash, b[0].Hash) {
		t.Fatal("the hash depends on document_version")
	}
	d.Summary.Duration.SleepDurationSeconds = new(int)
	c, _ := PrepareHealth([]store.HealthInput{{Key: "k", Doc: d}})
	if bytes.Equal(a[0].Hash, c[0].Hash) {
		t.Fatal("the hash ignores the content")
	}
}
