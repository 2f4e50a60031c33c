package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

// checkBackfill checks what a connection's backfill left in the store
// after a crash and a restart: the raw records are exactly clean (what
// the provider serves for the plan's days, read through a separate
// client), none stored twice, each collection of needed has some, and
// the health documents are exactly what n makes offline of the stored
// records. It returns the raw records per collection and the number of
// health documents, for the log.
func checkBackfill(t *testing.T, ctx context.Context, st store.Store, n provider.Normalizer, c store.Connection,
	clean []provider.Document, needed []string) (map[string]int, int) {
	t.Helper()
	who := c.UserID
	want := map[string][32]byte{}
	for _, d := range clean {
		id := d.ID
		if id == "" {
			// The engine stores a document without an id (WHOOP's body
			// measurement) as the one of its day.
			id = "day:" + d.Day
		}
		k := d.Collection + "/" + id + "/" + d.Day
		if _, dup := want[k]; dup {
			t.Fatalf("the clean simulator serves %s twice", k)
		}
		want[k] = sha256.Sum256(d.Raw)
	}
	raws, err := st.RawDocuments(ctx, c.ID, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][32]byte{}
	counts := map[string]int{}
	for _, r := range raws {
		k := r.Collection + "/" + r.ExternalID + "/" + r.Day
		if _, dup := got[k]; dup {
			t.Errorf("%s: %s stored twice", who, k)
		}
		got[k] = sha256.Sum256(r.Body)
		counts[r.Collection]++
	}
	var bad []string
	for k, h := range want {
		if g, ok := got[k]; !ok {
			bad = append(bad, "missing "+k)
		} else if g != h {
			bad = append(bad, "different "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			bad = append(bad, "not served "+k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("%s: %d raw records served, %d stored; %d wrong, the first: %v", who, len(want), len(got), len(bad), bad[:min(len(bad), 10)])
	}
	for _, coll := range needed {
		if counts[coll] == 0 {
			t.Errorf("%s: no %s records stored (%v)", who, coll, counts)
		}
	}

	// The health documents are exactly the offline normalization's.
	off := harness.Offline(t, ctx, st, n, c)
	hd, err := st.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: c.ClientUUID, UserID: c.UserID})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]store.HealthDocument{}
	for _, d := range hd {
		stored[d.DataStructure+"/"+d.Pillar+"/"+d.Key] = d
	}
	var diff []string
	for k, d := range off {
		g, ok := stored[k]
		if !ok {
			diff = append(diff, "made offline, not stored: "+k)
			continue
		}
		// The version is the store's; the rest is the normalizer's.
		d.Envelope().DocumentVersion = g.Version
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, g.Body) {
			diff = append(diff, fmt.Sprintf("%s differs\nstored:  %.400s\noffline: %.400s", k, g.Body, b))
		}
		if g.Day != d.Envelope().Day {
			diff = append(diff, fmt.Sprintf("%s stored under day %s, offline %s", k, g.Day, d.Envelope().Day))
		}
	}
	for k := range stored {
		if _, ok := off[k]; !ok {
			diff = append(diff, "stored, not made offline: "+k)
		}
	}
	if len(off) == 0 {
		t.Errorf("%s: no health documents from offline normalization", who)
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		t.Errorf("%s: %d health documents stored, %d from offline normalization; %d differences, the first:\n%s",
			who, len(stored), len(off), len(diff), strings.Join(diff[:min(len(diff), 5)], "\n"))
	}
	return counts, len(stored)
}
