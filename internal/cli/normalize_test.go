package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/whoop"
)

const normalizeTestdata = "testdata/normalize"

func td(parts ...string) string {
	return filepath.Join(append([]string{normalizeTestdata}, parts...)...)
}

// inputCounts gives the number of documents of each collection.
func inputCounts(docs []provider.Document) map[string]int {
	counts := map[string]int{}
	for _, d := range docs {
		counts[d.Collection]++
	}
	return counts
}

// ouraFiles is the provider the tests read files with.
func ouraFiles(t *testing.T) fileProvider {
	t.Helper()
	p, err := normalizingProvider(oura.DataSource)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ofCollection decodes the documents of one collection into its model.
func ofCollection[T any](t *testing.T, docs []provider.Document, coll string) []T {
	t.Helper()
	var out []T
	for _, d := range docs {
		if d.Collection != coll {
			continue
		}
		var v T
		if err := json.Unmarshal(d.Raw, &v); err != nil {
			t.Fatalf("%s %s: %v", coll, d.ID, err)
		}
		out = append(out, v)
	}
	return out
}

func TestNormalizeReadInput(t *testing.T) {
	tests := []struct {
		name       string
		paths      []string
		collection string
		want       map[string]int
		wantNote   string
	}{
		{"list response", []string{td("daily_activity.json")}, "", map[string]int{"daily_activity": 1}, ""},
		{"list response heartrate", []string{td("heartrate.json")}, "", map[string]int{"heartrate": 3}, ""},
		{"list response vO2_max", []string{td("vO2_max.json")}, "", map[string]int{"vO2_max": 1}, ""},
		{"bare array", []string{td("oura-v2-workout.json")}, "", map[string]int{"workout": 3}, ""},
		{"single object", []string{td("personal_info.json")}, "", map[string]int{"personal_info": 1}, ""},
		{"collection flag", []string{td("export-1.json")}, "sleep_time", map[string]int{"sleep_time": 3}, ""},
		{"collection flag by data type", []string{td("vO2_max.json")}, "vo2_max", map[string]int{"vO2_max": 1}, ""},
		{"several files", []string{td("daily_activity.json"), td("oura-v2-workout.json"), td("personal_info.json")}, "",
			map[string]int{"daily_activity": 1, "workout": 3, "personal_info": 1}, ""},
		{"open humans directory", []string{td("openhumans")}, "",
			map[string]int{"sleep": 2, "daily_sleep": 1, "daily_readiness": 1, "daily_spo2": 1, "workout": 3, "tag": 2},
			"skipping " + td("openhumans", "oura-data.json")},
		{"directory and file", []string{td("openhumans"), td("personal_info.json")}, "",
			map[string]int{"sleep": 2, "daily_sleep": 1, "daily_readiness": 1, "daily_spo2": 1, "workout": 3, "tag": 2, "personal_info": 1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var notes bytes.Buffer
			in, _, err := readNormalizeInput(ouraFiles(t), tt.paths, tt.collection, nil, &notes)
			if err != nil {
				t.Fatal(err)
			}
			if got := inputCounts(in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("documents per collection = %v, want %v", got, tt.want)
			}
			if !strings.Contains(notes.String(), tt.wantNote) {
				t.Errorf("notes %q do not contain %q", notes.String(), tt.wantNote)
			}
			if strings.Contains(notes.String(), "notes.txt") {
				t.Errorf("a non-JSON file was mentioned: %q", notes.String())
			}
		})
	}
}

// The documents decode into the models field by field, not just in number.
func TestNormalizeReadInputValues(t *testing.T) {
	docs, _, err := readNormalizeInput(ouraFiles(t), []string{td("openhumans"), td("personal_info.json")}, "", nil, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	s := ofCollection[oura.Sleep](t, docs, oura.CollSleep)[0]
	if s.ID != "96e7772a-64a7-4342-9c5f-3e5ed9e64d6d" || s.TimeInBed != 28933 || s.HeartRate == nil || len(s.HeartRate.Items) == 0 {
		t.Errorf("sleep decoded as %+v", s)
	}
	if tags := ofCollection[oura.Tag](t, docs, oura.CollTag); tags[1].ID != "" || len(tags[1].Tags) != 3 {
		t.Errorf("tag without id decoded as %+v", tags[1])
	}
	if p := ofCollection[oura.PersonalInfo](t, docs, oura.CollPersonalInfo)[0]; p.Age == nil || *p.Age != 42 || p.Height == nil || *p.Height != 1.8 {
		t.Errorf("personal_info decoded as %+v", p)
	}
}

func TestNormalizeCollectionFromFile(t *testing.T) {
	tests := map[string]string{
		"oura-v2-sleep.json":              oura.CollSleep,
		"sleep.json":                      oura.CollSleep,
		"dir/daily_activity.json":         oura.CollDailyActivity,
		"heartrate.json":                  oura.CollHeartRate,
		"heart_rate.json":                 oura.CollHeartRate,
		"vO2_max.json":                    oura.CollVO2Max,
		"vo2_max.json":                    oura.CollVO2Max,
		"oura-v2-vO2_max.json":            oura.CollVO2Max,
		"DAILY_SPO2.JSON":                 oura.CollDailySpO2,
		"oura-v2-personal_info.json":      oura.CollPersonalInfo,
		"oura-v2-ring_battery_level.json": oura.CollRingBatteryLevel,
		"oura-data.json":                  "",
		"meals.json":                      "",
		"sleep-2024.json":                 "",
	}
	for file, want := range tests {
		got, ok := collectionFromFile(ouraFiles(t), file)
		if got != want || ok != (want != "") {
			t.Errorf("collectionFromFile(%q) = %q, %v; want %q", file, got, ok, want)
		}
	}
}

func TestNormalizeReadInputErrors(t *testing.T) {
	// The error names the id of the bad document, whatever the fixture holds.
	var workouts []struct {
		ID string `json:"id"`
	}
	b, err := os.ReadFile(td("bad", "wrong-type", "oura-v2-workout.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &workouts); err != nil {
		t.Fatal(err)
	}
	badWorkout := `(id "` + workouts[1].ID + `")`

	tests := []struct {
		name       string
		paths      []string
		collection string
		want       []string // substrings of the error
	}{
		{"unknown collection flag", []string{td("export-1.json")}, "meals", []string{`--collection "meals"`, "unknown collection"}},
		{"unknown collection file name", []string{td("bad", "unknown-name", "oura-v2-meals.json")}, "", []string{"oura-v2-meals.json", "cannot tell the collection"}},
		{"collection flag with directory", []string{td("openhumans")}, "sleep", []string{"openhumans", "directory"}},
		{"directory without collections", []string{td("bad", "unknown-name")}, "", []string{"unknown-name", "no *.json file"}},
		{"missing file", []string{td("nope.json")}, "", []string{"nope.json"}},
		{"malformed JSON", []string{td("bad", "malformed", "daily_spo2.json")}, "", []string{"daily_spo2.json", "malformed JSON", "line "}},
		{"wrong type", []string{td("bad", "wrong-type", "oura-v2-workout.json")}, "",
			[]string{"oura-v2-workout.json", "document [1]", badWorkout, "calories"}},
		{"wrong collection", []string{td("bad", "wrong-collection", "daily_sleep.json")}, "",
			[]string{"daily_sleep.json", "document data[0]", `missing "day"`}},
		{"bad timestamp", []string{td("bad", "bad-time", "daily_readiness.json")}, "",
			[]string{"daily_readiness.json", "document data[1]", `(id "d90a1159-664e-49e4-b668-78ebf7463f8a")`, "timestamp", "yesterday"}},
		{"good then bad", []string{td("personal_info.json"), td("bad", "wrong-type", "oura-v2-workout.json")}, "",
			[]string{"oura-v2-workout.json", "document [1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readNormalizeInput(ouraFiles(t), tt.paths, tt.collection, nil, new(bytes.Buffer))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNormalizeOutFileName(t *testing.T) {
	seen := map[string]string{}
	for _, s := range health.Structures() {
		name := outFileName(s.Pillar, s.Name)
		if prev, dup := seen[name]; dup {
			t.Errorf("%s/%s and %s share the file %s", s.Pillar, s.Name, prev, name)
		}
		seen[name] = s.Pillar + "/" + s.Name
	}
	for name, want := range map[string]string{
		"sleep_summary.json":                     "sleep_health/sleep_summary",
		"activity_event.json":                    "physical_health/activity_event",
		"user_info.json":                         "user_information/user_info",
		"physical_health.heart_rate_event.json":  "physical_health/heart_rate_event",
		"body_health.heart_rate_event.json":      "body_health/heart_rate_event",
		"physical_health.oxygenation_event.json": "physical_health/oxygenation_event",
		"body_health.oxygenation_event.json":     "body_health/oxygenation_event",
	} {
		if seen[name] != want {
			t.Errorf("file %s is for %q, want %q", name, seen[name], want)
		}
	}
}

// runNormalizeCmd runs wearlink with args in-process.
func runNormalizeCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"normalize"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// ndjson parses stdout into one generic document per line.
func ndjson(t *testing.T, s string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("line %d is not a JSON object: %v", n, err)
		}
		if ds, _ := d["data_structure"].(string); ds == "" {
			t.Fatalf("line %d has no data_structure: %s", n, sc.Bytes())
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// dig follows a path of object keys through a generic document.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func structuresOf(docs []map[string]any) map[string]int {
	n := map[string]int{}
	for _, d := range docs {
		n[d["data_structure"].(string)]++
	}
	return n
}

func TestNormalizeStdout(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // data structures that must be present
	}{
		{"list response", []string{td("daily_activity.json")}, []string{health.PhysicalSummary}},
		{"bare array", []string{td("oura-v2-workout.json")}, []string{health.ActivityEvent}},
		{"single object", []string{"--as-of", "2024-12-13", td("personal_info.json")}, []string{health.UserInfo, health.BodyMetricsEvent}},
		{"single object with dated files", []string{td("personal_info.json"), td("heartrate.json")}, []string{health.UserInfo, health.HeartRateEvent}},
		{"heart rate", []string{td("heartrate.json")}, []string{health.HeartRateEvent}},
		{"collection flag", []string{"--collection", "workout", td("oura-v2-workout.json")}, []string{health.ActivityEvent}},
		{"open humans directory", []string{td("openhumans")}, []string{health.SleepSummary, health.ActivityEvent}},
		{"time zone and owner", []string{"--time-zone", "Europe/Berlin", "--client-uuid", "c-1", "--user-id", "user-7", td("oura-v2-workout.json")},
			[]string{health.ActivityEvent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runNormalizeCmd(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			docs := ndjson(t, stdout)
			got := structuresOf(docs)
			for _, w := range tt.want {
				if got[w] == 0 {
					t.Errorf("no %s among %v", w, got)
				}
			}
			wantClient, wantUser := "local", "me"
			for i, a := range tt.args {
				switch a {
				case "--client-uuid":
					wantClient = tt.args[i+1]
				case "--user-id":
					wantUser = tt.args[i+1]
				}
			}
			for _, d := range docs {
				if d["client_uuid"] != wantClient || d["user_id"] != wantUser {
					t.Errorf("%s: client_uuid %v, user_id %v; want %s, %s", d["data_structure"], d["client_uuid"], d["user_id"], wantClient, wantUser)
				}
				b, _ := json.Marshal(d)
				if _, err := health.Parse(b); err != nil {
					t.Errorf("%s does not parse as a ROOK document: %v", d["data_structure"], err)
				}
			}
		})
	}
}

// The four collections of one night, read from one directory, make one
// sleep_summary that carries something from each of them.
func TestNormalizeSleepSummaryWhole(t *testing.T) {
	code, stdout, stderr := runNormalizeCmd(t, td("openhumans"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "oura-data.json") {
		t.Errorf("the skipped V1 file is not noted: %q", stderr)
	}
	var summaries []map[string]any
	for _, d := range ndjson(t, stdout) {
		if d["data_structure"] == health.SleepSummary {
			summaries = append(summaries, d)
		}
	}
	if len(summaries) != 1 {
		t.Fatalf("%d sleep_summary documents, want 1 (one night)", len(summaries))
	}
	s := dig(summaries[0], "sleep_health", "summary", "sleep_summary")
	for _, c := range []struct {
		from string
		path []string
	}{
		{"sleep", []string{"duration", "sleep_date_string"}},
		{"sleep", []string{"duration", "sleep_duration_seconds_int"}},
		{"sleep", []string{"heart_rate", "hrv_avg_rmssd_float"}},
		{"daily_readiness", []string{"temperature", "temperature_delta_object", "temperature_celsius_float"}},
		{"daily_spo2", []string{"breathing", "saturation_avg_percentage_int"}},
	} {
		if dig(s, c.path...) == nil {
			t.Errorf("%s (from %s) is null", strings.Join(c.path, "."), c.from)
		}
	}
	if dig(s, "duration", "sleep_date_string") != "2024-10-10" {
		t.Errorf("sleep_date_string = %v", dig(s, "duration", "sleep_date_string"))
	}
	// daily_sleep's score and the second, shorter period of the day travel
	// as attached documents.
	attached := map[string]bool{}
	nsd, _ := dig(s, "non_structured_data_array").([]any)
	for _, it := range nsd {
		c, _ := dig(it, "collection").(string)
		r, _ := dig(it, "role").(string)
		attached[c+"/"+r] = true
	}
	for _, want := range []string{"daily_sleep/", "daily_readiness/", "sleep/main", "sleep/nap"} {
		if !attached[want] {
			t.Errorf("no %s item in non_structured_data_array (have %v)", want, attached)
		}
	}
}

func TestNormalizeOutDir(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runNormalizeCmd(t, "--out", out, td("openhumans"), td("personal_info.json"), td("heartrate.json"), td("daily_activity.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout with --out: %q", stdout)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, want := range []string{"sleep_summary.json", "activity_event.json", "user_info.json", "physical_summary.json"} {
		if _, err := os.Stat(filepath.Join(out, want)); err != nil {
			t.Errorf("%s missing among %v", want, names)
		}
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		var docs []json.RawMessage
		if err := json.Unmarshal(b, &docs); err != nil {
			t.Fatalf("%s is not a JSON array: %v", name, err)
		}
		if len(docs) == 0 {
			t.Errorf("%s is empty", name)
		}
		for i, raw := range docs {
			d, err := health.Parse(raw)
			if err != nil {
				t.Fatalf("%s[%d]: %v", name, i, err)
			}
			if want := outFileName(d.Pillar(), d.DataStructure()); want != name {
				t.Errorf("%s[%d] is a %s/%s document, which belongs in %s", name, i, d.Pillar(), d.DataStructure(), want)
			}
		}
	}
	if strings.Contains(strings.Join(names, " "), ".wearlink-normalize-") {
		t.Errorf("temporary directory left behind: %v", names)
	}
	// The temporary directory lives next to out and must be gone.
	siblings, _ := os.ReadDir(filepath.Dir(out))
	if len(siblings) != 1 {
		t.Errorf("beside out: %v", siblings)
	}

	// A second run into the existing directory replaces the files it makes
	// and keeps the others.
	keep := filepath.Join(out, "keep.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runNormalizeCmd(t, "--out", out, td("oura-v2-workout.json")); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("an unrelated file in --out was removed: %v", err)
	}
	var docs []json.RawMessage
	b, _ := os.ReadFile(filepath.Join(out, "activity_event.json"))
	if err := json.Unmarshal(b, &docs); err != nil || len(docs) == 0 {
		t.Errorf("activity_event.json after the second run: %v, %d documents", err, len(docs))
	}
}

// Same input, same bytes: the output can be diffed and committed.
func TestNormalizeDeterministic(t *testing.T) {
	args := []string{td("openhumans"), td("personal_info.json"), td("daily_activity.json")}
	_, first, _ := runNormalizeCmd(t, args...)
	_, second, _ := runNormalizeCmd(t, args...)
	if first == "" || first != second {
		t.Errorf("two runs differ or are empty (%d and %d bytes)", len(first), len(second))
	}
}

func TestNormalizeCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no arguments", nil, []string{"arg"}},
		{"unknown collection", []string{"--collection", "meals", td("export-1.json")}, []string{"meals", "unknown collection"}},
		{"malformed JSON", []string{td("bad", "malformed", "daily_spo2.json")}, []string{"daily_spo2.json", "malformed JSON"}},
		{"wrong shape", []string{td("openhumans"), td("bad", "wrong-type", "oura-v2-workout.json")}, []string{"oura-v2-workout.json", "document [1]"}},
		{"wrong collection", []string{td("bad", "wrong-collection", "daily_sleep.json")}, []string{"daily_sleep.json", "document data[0]"}},
		{"bad time zone", []string{"--time-zone", "Mars/Olympus_Mons", td("oura-v2-workout.json")}, []string{"--time-zone", "Mars/Olympus_Mons"}},
		{"Local time zone", []string{"--time-zone", "Local", td("oura-v2-workout.json")}, []string{"--time-zone", "IANA"}},
		{"bad user id", []string{"--user-id", "me@example.com", td("oura-v2-workout.json")}, []string{"--user-id", "me@example.com"}},
		{"long user id", []string{"--user-id", strings.Repeat("a", 51), td("oura-v2-workout.json")}, []string{"--user-id"}},
		{"empty client uuid", []string{"--client-uuid", "", td("oura-v2-workout.json")}, []string{"--client-uuid"}},
		{"bad as-of", []string{"--as-of", "13.12.2024", td("personal_info.json")}, []string{"--as-of", "13.12.2024"}},
		{"undated alone", []string{td("personal_info.json")}, []string{"--as-of"}},
		{"rejected by the normalizer", []string{td("oura-v2-workout.json"), td("bad", "zero-bpm", "heartrate.json")},
			[]string{filepath.Join("zero-bpm", "heartrate.json"), "heartrate", "1 rows"}},
	}
	for _, tt := range tests {
		for _, mode := range []string{"stdout", "out"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				parent := t.TempDir()
				out := filepath.Join(parent, "out")
				args := tt.args
				if mode == "out" {
					args = append([]string{"--out", out}, args...)
				}
				code, stdout, stderr := runNormalizeCmd(t, args...)
				if code == 0 {
					t.Fatal("exit 0")
				}
				if stdout != "" {
					t.Errorf("output despite the error: %q", stdout)
				}
				for _, w := range tt.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr %q does not contain %q", stderr, w)
					}
				}
				entries, err := os.ReadDir(parent)
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 0 {
					var names []string
					for _, e := range entries {
						names = append(names, e.Name())
					}
					sort.Strings(names)
					t.Errorf("files created despite the error: %v", names)
				}
			})
		}
	}
}

// An existing --out directory keeps its content when the run fails.
func TestNormalizeOutUntouchedOnError(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "sleep_summary.json"), []byte("[]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, _ := runNormalizeCmd(t, "--out", out, td("openhumans"), td("bad", "bad-time", "daily_readiness.json"))
	if code == 0 {
		t.Fatal("exit 0")
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("--out changed: %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "sleep_summary.json")); string(b) != "[]\n" {
		t.Errorf("sleep_summary.json rewritten: %q", b)
	}
	siblings, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range siblings {
		if strings.HasPrefix(e.Name(), ".wearlink-normalize-") {
			t.Errorf("temporary directory left behind: %s", e.Name())
		}
	}
}

func TestNormalizeOutIsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runNormalizeCmd(t, "--out", f, td("oura-v2-workout.json"))
	if code == 0 || !strings.Contains(stderr, "not a directory") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// A file whose name names no collection is recognised by its documents,
// and a page of records is read like a page of data.
func TestNormalizeRecognisesTheCollectionByShape(t *testing.T) {
	var notes bytes.Buffer
	docs, _, err := readNormalizeInput(ouraFiles(t), []string{td("export-1.json")}, "", nil, &notes)
	if err != nil {
		t.Fatal(err)
	}
	if got := inputCounts(docs); !reflect.DeepEqual(got, map[string]int{"sleep_time": 3}) {
		t.Errorf("export-1.json read as %v", got)
	}

	dir := t.TempDir()
	b, err := os.ReadFile(td("oura-v2-workout.json"))
	if err != nil {
		t.Fatal(err)
	}
	page := append(append([]byte(`{"records": `), b...), []byte(`, "next_token": null}`)...)
	if err := os.WriteFile(filepath.Join(dir, "page-7.json"), page, 0o644); err != nil {
		t.Fatal(err)
	}
	docs, _, err = readNormalizeInput(ouraFiles(t), []string{dir}, "", nil, &notes)
	if err != nil {
		t.Fatal(err)
	}
	if got := inputCounts(docs); !reflect.DeepEqual(got, map[string]int{"workout": 3}) {
		t.Errorf("a records page read as %v", got)
	}
}

func TestNormalizeUnknownDataSource(t *testing.T) {
	code, _, stderr := runNormalizeCmd(t, "--data-source", "fitbitz", td("oura-v2-workout.json"))
	if code == 0 || !strings.Contains(stderr, "fitbitz") || !strings.Contains(stderr, "oura") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// saveWhoopPages saves every page the API answers for path (all of the
// user's history: no start and no end) into dir as export-<n>.json, and
// returns the number of records.
func saveWhoopPages(t *testing.T, api, token, path, dir string, n *int) int {
	t.Helper()
	records := 0
	next := ""
	for {
		url := api + path
		if next != "" {
			url += "?nextToken=" + next
		}
		b := whoopGet(t, url, token)
		var page struct {
			Records   []json.RawMessage `json:"records"`
			NextToken *string           `json:"next_token"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		records += len(page.Records)
		*n++
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("export-%d.json", *n)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if page.NextToken == nil || *page.NextToken == "" {
			return records
		}
		next = *page.NextToken
	}
}

func whoopGet(t *testing.T, url, token string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", url, resp.StatusCode, err, b)
	}
	return b
}

// wearlink normalize on the WHOOP API's own answers, saved under names
// that say nothing (several pages per collection, the profile and the body
// measurement as single objects), gives exactly what the provider's
// normalizer gives for the same records fetched through the provider.
func TestNormalizeWhoopSavedAnswers(t *testing.T) {
	info := whoopSimulator(t, 1, whoopSimNow.AddDate(0, 0, -30))
	token := info.Users[0].AccessToken
	p, err := registeredProvider(whoop.DataSource, info.APIBaseURL)
	if err != nil {
		t.Fatal(err)
	}
	// The window covers the whole history, as the saved answers do.
	docs := whoopFetch(t, p, token, provider.Window{From: whoopSimNow.AddDate(0, 0, -40).Format(time.DateOnly), To: whoopSimNow.Format(time.DateOnly)})
	want, err := p.(provider.Normalizer).Normalize(docs, provider.NormalizeOptions{ClientUUID: "local", UserID: "me"})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	n, records := 0, 0
	for _, path := range []string{"/v2/cycle", "/v2/activity/sleep", "/v2/recovery", "/v2/activity/workout"} {
		records += saveWhoopPages(t, info.APIBaseURL, token, path, dir, &n)
	}
	for _, path := range []string{"/v2/user/profile/basic", "/v2/user/measurement/body"} {
		n++
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("export-%d.json", n)), whoopGet(t, info.APIBaseURL+path, token), 0o644); err != nil {
			t.Fatal(err)
		}
		records++
	}
	if records != len(docs) {
		t.Fatalf("the saved answers hold %d records, the provider fetched %d", records, len(docs))
	}
	if n < 10 {
		t.Fatalf("only %d files: want several pages per collection", n)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	slices.Reverse(files) // the order of the files does not matter

	args := append([]string{"--data-source", "whoop"}, files...)
	code, stdout, stderr := runNormalizeCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var wantOut bytes.Buffer
	for _, r := range want {
		b, err := json.Marshal(r.Doc)
		if err != nil {
			t.Fatal(err)
		}
		wantOut.Write(b)
		wantOut.WriteByte('\n')
	}
	if stdout != wantOut.String() {
		t.Errorf("normalize of the saved answers differs from the provider's:\n got %d lines\nwant %d lines", strings.Count(stdout, "\n"), len(want))
	}
	structures := structuresOf(ndjson(t, stdout))
	for _, s := range []string{"sleep_summary", "physical_summary", "activity_event", "body_summary"} {
		if structures[s] == 0 {
			t.Errorf("no %s in %v", s, structures)
		}
	}

	// The same files in a directory, with --out.
	out := filepath.Join(t.TempDir(), "rook")
	if code, _, stderr := runNormalizeCmd(t, "--data-source", "whoop", "--out", out, dir); code != 0 {
		t.Fatalf("directory: exit %d: %s", code, stderr)
	}
	for name, b := range rookFiles(t, want) {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s differs from the provider's normalization (%v)", name, err)
		}
	}
}

// A WHOOP document that does not read is named by the id the provider
// reads (a cycle's is a number), and one of another collection is refused.
func TestNormalizeWhoopBadDocuments(t *testing.T) {
	dir := t.TempDir()
	cycles := filepath.Join(dir, "cycles.json")
	if err := os.WriteFile(cycles, []byte(`{"records":[{"id":42,"start":"yesterday","timezone_offset":"+01:00","score_state":"PENDING_SCORE"}],"next_token":null}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runNormalizeCmd(t, "--data-source", "whoop", cycles)
	if code == 0 || !strings.Contains(stderr, `records[0] (id "42")`) || !strings.Contains(stderr, `start: "yesterday"`) {
		t.Errorf("exit %d: %s", code, stderr)
	}
	body := filepath.Join(dir, "b.json")
	if err := os.WriteFile(body, []byte(`{"height_meter":1.8,"weight_kilogram":80.5,"max_heart_rate":190}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runNormalizeCmd(t, "--data-source", "whoop", "--collection", "profile/basic", body)
	if code == 0 || !strings.Contains(stderr, `missing "user_id"`) {
		t.Errorf("a body measurement read as a profile: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runNormalizeCmd(t, "--data-source", "whoop", "--as-of", "2025-01-02", body)
	if code != 0 || structuresOf(ndjson(t, stdout))["body_summary"] != 1 {
		t.Errorf("a body measurement alone: exit %d: %s%s", code, stdout, stderr)
	}
}
