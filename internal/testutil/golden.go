package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// GoldenDoc is one document of the Oura normalizer's golden files.
type GoldenDoc struct {
	Key           string          `json:"key"`
	Pillar        string          `json:"pillar"`
	DataStructure string          `json:"data_structure"`
	Day           string          `json:"day"`
	Document      json.RawMessage `json:"document"`
}

// OuraGolden reads the golden file name (without .json) of
// internal/provider/oura/normalize: the documents it normalizes from the
// simulator's and the recorded Oura data.
func OuraGolden(t testing.TB, name string) []GoldenDoc {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(moduleRoot(t), "internal", "provider", "oura", "normalize", "testdata", "golden", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var docs []GoldenDoc
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatalf("golden file %s: %v", name, err)
	}
	return docs
}

// moduleRoot is the directory of go.mod, above the test's working
// directory.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("module root not found from the working directory")
		}
		dir = parent
	}
}
