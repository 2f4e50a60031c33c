package ingest

import (
	"strings"
	"time"
)

// Cursor keys in store.Connection.Cursors. The store merges them key by
// key, so concurrent jobs that write different keys never lose each
// other's progress.
const (
	// curBackfill is the backfill plan: "FROM/TO/WINDOWDAYS".
	curBackfill = "backfill"
	// curBackfillDone is the time the whole plan finished.
	curBackfillDone = "backfill_done"
	// curWebhookAt is the time of the connection's last notification.
	curWebhookAt = "webhook_at"
	// curNewest is the newest day of any stored document.
	curNewest = "newest_day"
	// curLinkedAt is when the connection was (re)linked; polls count
	// silence from it until the first notification.
	curLinkedAt = "linked_at"
	// curNewestAt is when curNewest last moved: the time of the sync
	// whose documents the gap check (see duePolls) expects.
	curNewestAt = "newest_at"
)

// curWindow marks one finished backfill window of a collection ("done"),
// or how far a time-series window has got ("through:DAY").
func curWindow(coll, from string) string { return "bf:" + coll + ":" + from }

// curWindowNormalized marks a backfill window whose days have been
// normalized after all its collections were stored.
func curWindowNormalized(from string) string { return "bfn:" + from }

// curSyncedTo is the newest day a read of coll has covered.
func curSyncedTo(coll string) string { return "to:" + coll }

// curSyncedAt is the time of the last read of coll.
func curSyncedAt(coll string) string { return "at:" + coll }

// curNotified is the time of the last notification for coll.
func curNotified(coll string) string { return "notified:" + coll }

// curUpdate marks a notified update of one document, read by id if the
// next range read does not return it.
func curUpdate(coll, id string) string { return "upd:" + coll + ":" + id }

// curDocDay is the newest day with a document of coll; curRun is how
// many days in a row up to it had one; curLag is how many days it trailed
// curNewest after its last read. Together they say which collections come
// with every sync, so that a missing one stands out (see duePolls).
func curDocDay(coll string) string { return "nd:" + coll }
func curRun(coll string) string    { return "run:" + coll }
func curLag(coll string) string    { return "lag:" + coll }

// curScope marks a collection the user did not grant the scope for.
func curScope(coll string) string { return "scope:" + coll }

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// keysWithPrefix lists the cursor keys that start with p.
func keysWithPrefix(c map[string]string, p string) []string {
	var out []string
	for k := range c {
		if strings.HasPrefix(k, p) {
			out = append(out, k)
		}
	}
	return out
}

func maxDay(a, b string) string {
	if a > b {
		return a
	}
	return b
}
