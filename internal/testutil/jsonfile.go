package testutil

import (
	"encoding/json"
	"os"
	"testing"
)

// ReadJSONArray reads a file holding one JSON array and returns its
// elements as they are written.
func ReadJSONArray(t testing.TB, path string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(b, &docs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return docs
}
