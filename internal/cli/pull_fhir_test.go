package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/fhir/fhirtest"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// fhirNDJSON reads a file of one JSON object a line and counts its
// resourceTypes; the first lines of each type are checked against the FHIR
// schema.
func fhirNDJSON(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	types := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r struct {
			ResourceType string
			Subject      struct{ Reference string }
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: a line is not JSON: %v", path, err)
		}
		if r.ResourceType == "Observation" && r.Subject.Reference != "Patient/me" {
			t.Errorf("%s: subject %q", path, r.Subject.Reference)
		}
		if types[r.ResourceType] < 5 {
			fhirtest.Validate(t, sc.Bytes())
		}
		types[r.ResourceType]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return types
}

// TestPullFormatFHIR: --format fhir writes the Patient, the Device and the
// Observations as NDJSON, for each provider.
func TestPullFormatFHIR(t *testing.T) {
	t.Run("oura", func(t *testing.T) {
		sim, url := simtest.Simulator(t, ourasim.Config{Users: 1})
		since, until := lastDays(sim, 0, 3)
		out := filepath.Join(t.TempDir(), "oura")
		t.Setenv("OURA_TOKEN", sim.Tokens()[0].AccessToken)
		if _, stderr, err := runCLI(t, "pull", "--base-url", url, "--since", since, "--until", until, "--out", out, "--format", "fhir"); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		checkFHIRFiles(t, out, "Oura")
	})
	t.Run("whoop", func(t *testing.T) {
		info := whoopSimulator(t, 1, whoopSimNow.AddDate(0, 0, -20))
		out := filepath.Join(t.TempDir(), "whoop")
		t.Setenv("WHOOP_TOKEN", "")
		if _, stderr, err := runCLI(t, "pull", "--data-source", "whoop", "--token", info.Users[0].AccessToken, "--base-url", info.APIBaseURL,
			"--since", whoopSimNow.AddDate(0, 0, -6).Format(time.DateOnly), "--until", whoopSimNow.Format(time.DateOnly), "--out", out, "--format", "fhir"); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		checkFHIRFiles(t, out, "Whoop")
	})
	t.Run("unknown format", func(t *testing.T) {
		_, _, err := runCLI(t, "pull", "--base-url", "http://127.0.0.1:1", "--token", "x", "--since", "2024-01-01", "--out", t.TempDir(), "--format", "xml")
		if err == nil || !strings.Contains(err.Error(), "fhir") {
			t.Fatalf("--format xml: %v", err)
		}
	})
}

func checkFHIRFiles(t *testing.T, out, manufacturer string) {
	t.Helper()
	p := fhirNDJSON(t, filepath.Join(out, "fhir", "Patient.ndjson"))
	d := fhirNDJSON(t, filepath.Join(out, "fhir", "Device.ndjson"))
	o := fhirNDJSON(t, filepath.Join(out, "fhir", "Observation.ndjson"))
	if p["Patient"] != 1 || d["Device"] != 1 || o["Observation"] == 0 || len(o) != 1 {
		t.Errorf("Patient.ndjson %v, Device.ndjson %v, Observation.ndjson %v", p, d, o)
	}
	b, err := os.ReadFile(filepath.Join(out, "fhir", "Device.ndjson"))
	if err != nil || !strings.Contains(string(b), `"manufacturer":"`+manufacturer+`"`) {
		t.Errorf("Device: %s (%v)", b, err)
	}
}
