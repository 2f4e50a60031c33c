package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// TestNormalizerThroughTheSeam: the same raw documents given as the seam's
// documents normalize to byte-identical output, and a document that does
// not decode is named and left out without losing the rest.
func TestNormalizerThroughTheSeam(t *testing.T) {
	files, err := filepath.Glob("testdata/seed003/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed 003 fixtures: %v", err)
	}
	in := &Input{}
	var docs []provider.Document
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raws, err := documents(body)
		if err != nil {
			t.Fatal(err)
		}
		coll := strings.TrimSuffix(filepath.Base(f), ".json")
		for _, d := range raws {
			if err := in.Add(coll, d); err != nil {
				t.Fatal(err)
			}
			var k struct {
				ID        string `json:"id"`
				Timestamp string `json:"timestamp"`
			}
			_ = json.Unmarshal(d, &k)
			id := k.ID
			if id == "" {
				id = k.Timestamp
			}
			docs = append(docs, provider.Document{Collection: coll, ID: id, Raw: d})
		}
	}
	opt := Options{ClientUUID: testClient, UserID: testUser}
	want, err := Normalize(in, opt)
	if err != nil || len(want) == 0 {
		t.Fatalf("direct: %d documents, %v", len(want), err)
	}
	docs = append(docs, provider.Document{Collection: "sleep", ID: "broken", Raw: []byte(`{"day": 5}`)})
	got, err := Normalizer{}.Normalize(docs, provider.NormalizeOptions{ClientUUID: opt.ClientUUID, UserID: opt.UserID})
	var ie *provider.InputError
	if !errors.As(err, &ie) || ie.ID != "broken" {
		t.Fatalf("the broken document is not named: %v", err)
	}
	gotResults := make([]Result, len(got))
	for i, r := range got {
		gotResults[i] = Result{Key: r.Key, Doc: r.Doc}
	}
	if a, b := render(t, gotResults), render(t, want); !bytes.Equal(a, b) {
		t.Fatalf("through the seam the output differs: %s", firstDiff(a, b))
	}

	// The same with the models the provider's reader decoded: not decoded
	// again, and the same output.
	reader := &oura.Provider{}
	decoded := make([]provider.Document, len(docs))
	for i, d := range docs {
		read, _, _ := reader.ReadDocument(d.Collection, d.Raw, nil)
		d.Decoded = read.Decoded
		decoded[i] = d
	}
	if decoded[0].Decoded == nil {
		t.Fatal("the reader kept no decoded model")
	}
	got, _ = Normalizer{}.Normalize(decoded, provider.NormalizeOptions{ClientUUID: opt.ClientUUID, UserID: opt.UserID})
	for i, r := range got {
		gotResults[i] = Result{Key: r.Key, Doc: r.Doc}
	}
	if a, b := render(t, gotResults[:len(got)]), render(t, want); !bytes.Equal(a, b) {
		t.Fatalf("with the reader's models the output differs: %s", firstDiff(a, b))
	}
}
