package harness

import (
	"context"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// Offline normalizes a connection's stored raw records all at once with
// n and the options the engine uses: the user's zone (none when not set:
// the records' offsets decide) and, for the records of no day, the day of
// the newest of them. It returns the documents by DocKey, with the store's
// key (under the connection's data source, as every provider's documents
// are stored).
func Offline(t testing.TB, ctx context.Context, st store.Store, n provider.Normalizer, c store.Connection) map[string]health.Doc {
	t.Helper()
	raws, err := st.RawDocuments(ctx, c.ID, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.GetUser(ctx, c.ClientUUID, c.UserID)
	if err != nil {
		t.Fatal(err)
	}
	var loc *time.Location
	if u.TimeZone != "" {
		if loc, err = time.LoadLocation(u.TimeZone); err != nil {
			t.Fatal(err)
		}
	}
	docs := make([]provider.Document, len(raws))
	var newest time.Time
	for i, d := range raws {
		docs[i] = provider.Document{Collection: d.Collection, ID: d.ExternalID, Day: d.Day, Raw: d.Body}
		if d.Day == "" && d.UpdatedAt.After(newest) {
			newest = d.UpdatedAt
		}
	}
	asOf := ""
	if !newest.IsZero() {
		if loc == nil {
			asOf = newest.UTC().Format(time.DateOnly)
		} else {
			asOf = newest.In(loc).Format(time.DateOnly)
		}
	}
	res, err := n.Normalize(docs, provider.NormalizeOptions{ClientUUID: c.ClientUUID, UserID: c.UserID, Location: loc, AsOf: asOf})
	if err != nil {
		t.Fatalf("offline normalization of %s: %v", c.UserID, err)
	}
	out := make(map[string]health.Doc, len(res))
	for _, r := range res {
		k := DocKey(r.Doc.DataStructure(), r.Doc.Pillar(), store.HealthKey(c.DataSource, r.Key))
		if _, dup := out[k]; dup {
			t.Fatalf("offline normalization gave %s twice", k)
		}
		out[k] = r.Doc
	}
	return out
}

// DocKey names a health document by data structure, pillar and store key.
func DocKey(ds, pillar, key string) string { return ds + "/" + pillar + "/" + key }
