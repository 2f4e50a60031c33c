package normalize

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCase is one input set with golden output.
type goldenCase struct {
	name  string
	input func(t testing.TB) (*Input, Options)
}

func goldenCases() []goldenCase {
	opt := Options{ClientUUID: testClient, UserID: testUser}
	cases := []goldenCase{
		{"seed003", func(t testing.TB) (*Input, Options) { return seed003Input(t), opt }},
		{"real-2024-12", func(t testing.TB) (*Input, Options) { return realInput(t), opt }},
	}
	// Two simulated users, ten days each: one with the zone given, one
	// without (offsets inferred from the documents).
	const start, days = "2024-03-25", 10
	w := simWorld(2, start, days)
	for _, u := range w.Users() {
		u := u
		o := opt
		o.UserID = fmt.Sprintf("sim-%d", u.Index)
		if u.Index == 0 {
			o.Location = u.Location
		}
		cases = append(cases, goldenCase{fmt.Sprintf("sim-user%d", u.Index), func(testing.TB) (*Input, Options) {
			return simInput(w, u, start, days), o
		}})
	}
	return cases
}

// goldenEntry is one result as the golden files record it: the envelope
// the store sees, then the published JSON.
type goldenEntry struct {
	Key           string          `json:"key"`
	Pillar        string          `json:"pillar"`
	DataStructure string          `json:"data_structure"`
	Day           string          `json:"day"`
	Document      json.RawMessage `json:"document"`
}

// render encodes results the way the golden files hold them.
func render(t testing.TB, results []Result) []byte {
	t.Helper()
	entries := make([]goldenEntry, 0, len(results))
	for _, r := range results {
		doc, err := health.Encode(r.Doc)
		if err != nil {
			t.Fatalf("encode %s %s: %v", r.Doc.DataStructure(), r.Key, err)
		}
		entries = append(entries, goldenEntry{r.Key, doc.Pillar, doc.DataStructure, doc.Day, doc.Body})
	}
	b, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pretty(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden maps each input set and compares the documents with
// testdata/golden/<name>.json (-update rewrites them).
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			in, opt := c.input(t)
			results, err := Normalize(in, opt)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if len(results) == 0 {
				t.Fatal("no documents")
			}
			got := render(t, results)
			path := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update and read the diff):\n%s", path, firstDiff(got, want))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return "(no difference)"
}

// pretty re-indents JSON for review: an object or array holding only
// scalars stays on one line, anything else gets one member per line. Key
// order and number spelling are kept.
func pretty(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := readNode(dec)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	v.write(&out, "")
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// node is a JSON value with its members in document order.
type node struct {
	delim byte // '{', '[' or 0 for a scalar
	keys  []string
	elems []*node
	raw   []byte
}

func readNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		n := &node{delim: byte(x)}
		for dec.More() {
			if n.delim == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			e, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			n.elems = append(n.elems, e)
		}
		if _, err := dec.Token(); err != nil && err != io.EOF {
			return nil, err
		}
		return n, nil
	default:
		raw, err := json.Marshal(x)
		return &node{raw: raw}, err
	}
}

func (n *node) flat() bool {
	for _, e := range n.elems {
		if e.delim != 0 {
			return false
		}
	}
	return true
}

func (n *node) write(w *bytes.Buffer, indent string) {
	if n.delim == 0 {
		w.Write(n.raw)
		return
	}
	closing := byte('}')
	if n.delim == '[' {
		closing = ']'
	}
	w.WriteByte(n.delim)
	if len(n.elems) == 0 {
		w.WriteByte(closing)
		return
	}
	inner := indent + "  "
	oneLine := n.flat()
	for i, e := range n.elems {
		if i > 0 {
			w.WriteByte(',')
			if oneLine {
				w.WriteByte(' ')
			}
		}
		if !oneLine {
			w.WriteString("\n" + inner)
		}
		if n.delim == '{' {
			k, _ := json.Marshal(n.keys[i])
			w.Write(k)
			w.WriteString(": ")
		}
		e.write(w, inner)
	}
	if !oneLine {
		w.WriteString("\n" + indent)
	}
	w.WriteByte(closing)
}

// TestDeterministic checks that input order does not show in the output:
// every collection reversed gives byte-identical documents, and so does a
// second run.
func TestDeterministic(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in, opt := c.input(t)
			first, err := Normalize(in, opt)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Normalize(in, opt)
			if err != nil {
				t.Fatal(err)
			}
			rev := reversed(in)
			revOut, err := Normalize(rev, opt)
			if err != nil {
				t.Fatal(err)
			}
			a := encodeAll(t, first)
			if b := encodeAll(t, again); !bytes.Equal(a, b) {
				t.Errorf("second run differs:\n%s", firstDiff(b, a))
			}
			if b := encodeAll(t, revOut); !bytes.Equal(a, b) {
				t.Errorf("reversed input differs:\n%s", firstDiff(b, a))
			}
		})
	}
}

// encodeAll is the results' keys and published JSON, one per line.
func encodeAll(t testing.TB, results []Result) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, r := range results {
		doc, err := health.Encode(r.Doc)
		if err != nil {
			t.Fatalf("encode %s %s: %v", r.Doc.DataStructure(), r.Key, err)
		}
		b.WriteString(r.Key + " " + doc.Pillar + " " + doc.DataStructure + " " + doc.Day + " ")
		b.Write(doc.Body)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// reversed copies in with every collection in reverse order, and each
// document repeated, which must not change anything either.
func reversed(in *Input) *Input {
	out := *in
	out.DailyActivity = revDup(in.DailyActivity)
	out.DailyCardiovascularAge = revDup(in.DailyCardiovascularAge)
	out.DailyReadiness = revDup(in.DailyReadiness)
	out.DailyResilience = revDup(in.DailyResilience)
	out.DailySleep = revDup(in.DailySleep)
	out.DailySpO2 = revDup(in.DailySpO2)
	out.DailyStress = revDup(in.DailyStress)
	out.EnhancedTag = revDup(in.EnhancedTag)
	out.HeartRate = revDup(in.HeartRate)
	out.PersonalInfo = revDup(in.PersonalInfo)
	out.RestModePeriod = revDup(in.RestModePeriod)
	out.RingBatteryLevel = revDup(in.RingBatteryLevel)
	out.RingConfiguration = revDup(in.RingConfiguration)
	out.Session = revDup(in.Session)
	out.Sleep = revDup(in.Sleep)
	out.SleepTime = revDup(in.SleepTime)
	out.Tag = revDup(in.Tag)
	out.VO2Max = revDup(in.VO2Max)
	out.Workout = revDup(in.Workout)
	return &out
}

func revDup[T any](s []T) []T {
	out := make([]T, 0, 2*len(s))
	for i := len(s) - 1; i >= 0; i-- {
		out = append(out, s[i], s[i])
	}
	return out
}
