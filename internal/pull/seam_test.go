package pull_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/pull"
	"github.com/wearlink/wearlink/internal/testutil"
)

// band is a provider known only to this test: a daily collection, a time
// series, a profile and a table of its own. pull must serve it through the
// seam alone.
type band struct {
	// pull fetches windows in parallel: the counts are guarded.
	mu      sync.Mutex
	fetches map[string]int
	scoped  bool // the token lacks the time series' scope
}

func (b *band) count(what string) {
	b.mu.Lock()
	b.fetches[what]++
	b.mu.Unlock()
}

func (b *band) Info() provider.Info { return provider.Info{DataSource: "band", Name: "Band"} }

func (b *band) Collections() []provider.Collection {
	return []provider.Collection{
		{Name: "recovery", Range: provider.RangeDays},
		{Name: "pulse", Range: provider.RangeInstants, TimeSeries: true},
		{Name: "profile", Range: provider.RangeSingleton},
	}
}

func (b *band) Fetch(_ context.Context, a provider.Auth, coll string, w provider.Window) ([]provider.Document, error) {
	b.count(coll)
	if tok, _ := a.AccessToken(context.Background()); tok != "band-token" {
		return nil, &provider.Error{Kind: provider.KindInvalidToken, Err: errors.New("band: bad token")}
	}
	if coll == "profile" {
		return []provider.Document{{Collection: "profile", ID: "u1", Raw: json.RawMessage(`{"uid":"u1","name":"Ada"}`)}}, nil
	}
	if coll == "pulse" && b.scoped {
		return nil, &provider.Error{Kind: provider.KindMissingScope, Err: errors.New("band: no pulse scope")}
	}
	from, _ := time.Parse(time.DateOnly, w.From)
	to, _ := time.Parse(time.DateOnly, w.To)
	var out []provider.Document
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		switch coll {
		case "recovery":
			raw := fmt.Sprintf(`{"rid":"r-%s","date":"%s","score":%d}`, day, day, d.Day())
			out = append(out, provider.Document{Collection: coll, ID: "r-" + day, Day: day, Raw: json.RawMessage(raw)})
		case "pulse":
			// Two rows a day, newest first: the file sorts them.
			for _, h := range []int{20, 8} {
				at := time.Date(d.Year(), d.Month(), d.Day(), h, 0, 0, 0, w.Loc).UTC().Format(time.RFC3339)
				raw := fmt.Sprintf(`{"at":"%s","bpm":%d}`, at, 50+h)
				out = append(out, provider.Document{Collection: coll, ID: at, Day: day, Raw: json.RawMessage(raw)})
			}
		default:
			return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("band: %s is not fetched", coll)}
		}
	}
	return out, nil
}

func (b *band) Identify(context.Context, provider.Auth) (provider.Account, error) {
	b.count("identify")
	return provider.Account{ExternalUserID: "u1",
		Documents: []provider.Document{{Collection: "profile", ID: "u1", Raw: json.RawMessage(`{"uid":"u1","name":"Ada"}`)}}}, nil
}

func (b *band) ReadDocument(coll string, raw json.RawMessage, loc *time.Location) (provider.Document, time.Time, error) {
	var f struct{ RID, UID, Date, At string }
	err := json.Unmarshal(raw, &f)
	d := provider.Document{Collection: coll, Raw: raw}
	var at time.Time
	switch coll {
	case "recovery":
		d.ID, d.Day = f.RID, f.Date
	case "pulse":
		at, _ = time.Parse(time.RFC3339, f.At)
		d.ID, d.Day = f.At, at.In(loc).Format(time.DateOnly)
	case "profile":
		d.ID = f.UID
	}
	return d, at, err
}

func (b *band) Normalize(docs []provider.Document, opt provider.NormalizeOptions) ([]provider.Normalized, error) {
	var out []provider.Normalized
	for _, d := range docs {
		if d.Collection != "recovery" {
			continue
		}
		out = append(out, provider.Normalized{Key: d.ID, Doc: &bandDoc{Structure: health.SleepSummary, Day: d.Day, User: opt.UserID}})
	}
	return out, nil
}

// bandDoc is the least a ROOK document is.
type bandDoc struct {
	Structure string `json:"data_structure"`
	Day       string `json:"day"`
	User      string `json:"user_id"`
}

func (d *bandDoc) DataStructure() string    { return d.Structure }
func (d *bandDoc) Pillar() string           { return "sleep_health" }
func (d *bandDoc) Envelope() *health.Header { return &health.Header{} }

func (b *band) Tables(docs []provider.Document, _ *time.Location) []provider.Table {
	t := provider.Table{Name: "band_pulse", Columns: []string{"id", "bpm"}}
	for _, d := range docs {
		if d.Collection == "pulse" {
			var f struct{ BPM int }
			_ = json.Unmarshal(d.Raw, &f)
			t.Rows = append(t.Rows, []provider.Cell{{Kind: provider.CellString, Text: d.ID}, {Kind: provider.CellNumber, Text: fmt.Sprint(f.BPM)}})
		}
	}
	return []provider.Table{t}
}

func TestPullServesAnyProviderThroughTheSeam(t *testing.T) {
	b := &band{fetches: map[string]int{}}
	out := t.TempDir()
	ctx := context.Background()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	opt := pull.Options{Provider: b, Auth: provider.StaticToken("band-token"), Out: out, Since: "2024-01-01", Until: "2024-03-31", Location: berlin}
	sum, err := pull.Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	// 91 days: 2 windows of recovery, 4 of pulse, and the profile read once
	// by itself: the account (Identify) would read more than the profile.
	if sum.Windows != 7 || b.fetches["recovery"] != 2 || b.fetches["pulse"] != 4 || b.fetches["identify"] != 0 || b.fetches["profile"] != 1 {
		t.Errorf("%d windows, calls %v", sum.Windows, b.fetches)
	}
	recovery := testutil.ReadJSONArray(t, filepath.Join(out, "band-recovery.json"))
	pulse := testutil.ReadJSONArray(t, filepath.Join(out, "band-pulse.json"))
	profile := testutil.ReadJSONArray(t, filepath.Join(out, "band-profile.json"))
	if len(recovery) != 91 || len(pulse) != 182 || len(profile) != 1 {
		t.Errorf("%d recovery, %d pulse, %d profile documents", len(recovery), len(pulse), len(profile))
	}
	var first, second struct{ At string }
	_ = json.Unmarshal(pulse[0], &first)
	_ = json.Unmarshal(pulse[1], &second)
	if first.At >= second.At {
		t.Errorf("pulse rows not sorted by time: %s before %s", first.At, second.At)
	}
	for _, f := range []string{"csv/band-recovery.csv", "parquet/band-pulse.parquet", "csv/band-profile.csv", "rook/sleep_summary.json",
		"csv/rook-sleep_summary.csv", "csv/band_pulse.csv", "parquet/band_pulse.parquet", pull.StateFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
		if f != pull.StateFile && !slices.Contains(sum.Files, f) && !slices.Contains(sum.Files, filepath.FromSlash(f)) {
			t.Errorf("%s not among the files written: %v", f, sum.Files)
		}
	}
	if n := len(testutil.ReadJSONArray(t, filepath.Join(out, "rook", "sleep_summary.json"))); n != 91 {
		t.Errorf("%d sleep summaries for 91 days", n)
	}

	// A second run reads the last two days again and changes nothing.
	before := testutil.Snapshot(t, out)
	b.fetches = map[string]int{}
	if _, err := pull.Run(ctx, pull.Options{Provider: b, Auth: provider.StaticToken("band-token"), Out: out, Location: berlin, Until: "2024-03-31"}); err != nil {
		t.Fatal(err)
	}
	if b.fetches["recovery"] != 1 || b.fetches["pulse"] != 1 {
		t.Errorf("second run calls %v", b.fetches)
	}
	after := testutil.Snapshot(t, out)
	if len(after) != len(before) {
		t.Errorf("the second run left %d files, the first %d", len(after), len(before))
	}
	for name, data := range after {
		if string(before[name]) != string(data) {
			t.Errorf("%s changed in the second run", name)
		}
	}

	// A collection outside the token's scopes is skipped, not fatal; a
	// refused token names the provider and its variable.
	b.scoped = true
	sum, err = pull.Run(ctx, pull.Options{Provider: b, Auth: provider.StaticToken("band-token"), Out: t.TempDir(), Since: "2024-01-01", Until: "2024-01-03"})
	if err != nil || sum.Skipped["pulse"] == "" {
		t.Errorf("without the pulse scope: %v, skipped %v", err, sum.Skipped)
	}
	_, err = pull.Run(ctx, pull.Options{Provider: b, Auth: provider.StaticToken("nope"), Out: t.TempDir(), Since: "2024-01-01", Until: "2024-01-03"})
	if !errors.Is(err, pull.ErrUnauthorized) || !strings.Contains(err.Error(), "Band") || !strings.Contains(err.Error(), "BAND_TOKEN") {
		t.Errorf("refused token: %v", err)
	}
}

// scale is a provider whose one collection is a singleton without an id,
// whose value changes between reads.
type scale struct{ weight float64 }

func (s *scale) Info() provider.Info { return provider.Info{DataSource: "scale", Name: "Scale"} }

func (s *scale) Collections() []provider.Collection {
	return []provider.Collection{{Name: "body", Range: provider.RangeSingleton}}
}

func (s *scale) Fetch(context.Context, provider.Auth, string, provider.Window) ([]provider.Document, error) {
	return []provider.Document{{Collection: "body", Raw: json.RawMessage(fmt.Sprintf(`{"weight":%g}`, s.weight))}}, nil
}

func (s *scale) Identify(context.Context, provider.Auth) (provider.Account, error) {
	return provider.Account{ExternalUserID: "u"}, nil
}

func (s *scale) ReadDocument(coll string, raw json.RawMessage, _ *time.Location) (provider.Document, time.Time, error) {
	return provider.Document{Collection: coll, Raw: raw}, time.Time{}, nil
}

// A singleton's file holds the document as last read, even when it has no
// id to replace the old one by.
func TestSingletonWithoutIDIsReplaced(t *testing.T) {
	dir := t.TempDir()
	s := &scale{weight: 80.5}
	for _, w := range []float64{80.5, 79.9} {
		s.weight = w
		if _, err := pull.Run(context.Background(), pull.Options{Provider: s, Auth: provider.StaticToken("x"), Out: dir, Since: "2024-01-01", Until: "2024-01-02"}); err != nil {
			t.Fatal(err)
		}
	}
	docs := testutil.ReadJSONArray(t, filepath.Join(dir, "scale-body.json"))
	if len(docs) != 1 || string(docs[0]) != `{"weight":79.9}` {
		t.Errorf("scale-body.json holds %s, want only the last reading", docs)
	}
}
