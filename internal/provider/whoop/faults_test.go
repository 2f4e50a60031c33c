package whoop_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/store"
)

// TestWhoopNotificationBadInput: a notification whose signature does not
// verify (wrong secret, stale timestamp, none at all) is refused with 401
// and enqueues nothing; one of a type wearlink does not read is accepted
// and ignored; a good one enqueues a fetch (so the counting is real).
func TestWhoopNotificationBadInput(t *testing.T) {
	h := newHarness(t, harnessConfig{Seed: 11, Users: 1, BackfillDays: 3})
	conn := h.mustLink("whoop-user-0", 0)
	h.waitBackfilled("whoop-user-0")
	raws, err := h.st.RawDocuments(h.ctx, conn.ID, []string{whoop.CollSleep}, "", "")
	if err != nil || len(raws) == 0 {
		t.Fatalf("no sleep stored: %v", err)
	}
	uid := h.sim.Info().Users[0].UserID
	body := func(typ string) []byte {
		return fmt.Appendf(nil, `{"user_id":%d,"id":%q,"type":%q,"trace_id":"d3c0ffee-0000-4000-8000-000000000001"}`, uid, raws[0].ExternalID, typ)
	}
	secret := h.sim.ClientSecret()
	now := time.Now()
	jobs := h.ingestJobs(notifiedKinds...)
	for _, c := range []struct {
		name   string
		body   []byte
		secret string
		at     time.Time
		want   int
	}{
		{"wrong secret", body(sim.EventSleepUpdated), "not-the-client-secret", now, http.StatusUnauthorized},
		{"stale timestamp", body(sim.EventSleepUpdated), secret, now.Add(-10 * time.Minute), http.StatusUnauthorized},
		{"timestamp from the future", body(sim.EventSleepUpdated), secret, now.Add(10 * time.Minute), http.StatusUnauthorized},
		{"unknown resource", body("cycle.updated"), secret, now, http.StatusOK},
		{"unknown event", body("sleep.archived"), secret, now, http.StatusOK},
		{"no type", body(""), secret, now, http.StatusOK},
	} {
		if got := h.notify(c.body, c.secret, c.at); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
		if n := h.ingestJobs(notifiedKinds...); n != jobs {
			t.Errorf("%s: %d jobs enqueued", c.name, n-jobs)
		}
	}
	// A body changed after signing does not verify either.
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	signed := body(sim.EventSleepUpdated)
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodPost, h.base+"/webhooks/"+whoop.DataSource,
		bytes.NewReader(bytes.Replace(signed, []byte("sleep.updated"), []byte("sleep.deleted"), 1)))
	req.Header.Set(sim.HeaderSignatureTimestamp, ts)
	req.Header.Set(sim.HeaderSignature, sim.Sign(secret, ts, signed))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered body: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// No signature at all.
	req, _ = http.NewRequestWithContext(h.ctx, http.MethodPost, h.base+"/webhooks/"+whoop.DataSource, bytes.NewReader(signed))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if n := h.ingestJobs(notifiedKinds...); n != jobs {
		t.Fatalf("refused notifications enqueued %d jobs", n-jobs)
	}

	// The control: the same notification, rightly signed, is taken.
	if got := h.notify(body(sim.EventSleepUpdated), secret, time.Now()); got != http.StatusOK {
		t.Fatalf("good notification: %d", got)
	}
	if n := h.ingestJobs(notifiedKinds...); n != jobs+1 {
		t.Fatalf("good notification: %d jobs enqueued, want 1", n-jobs)
	}
	h.waitIdle("the good notification's fetch")
}

// TestWhoopLinkProfileWithoutUserID: when WHOOP's profile comes without
// user_id, wearlink cannot tell whose notifications are whose. Linking
// fails with a clear page, and nothing is left linked: no active
// connection and no tokens kept, nothing fetched, no job enqueued, and
// the source is not authorized for the user.
func TestWhoopLinkProfileWithoutUserID(t *testing.T) {
	strip := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/v2/user/profile/basic") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var m map[string]any
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				return
			}
			delete(m, "user_id")
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(m)
		})
	}
	h := newHarness(t, harnessConfig{Seed: 13, Users: 1, BackfillDays: 3, Wrap: strip})
	const user = "whoop-no-id"
	code, page := h.link(user, 0)
	if code != http.StatusBadGateway || !strings.Contains(page, "The connection could not be completed") ||
		!strings.Contains(page, "Nothing was connected") {
		t.Fatalf("linking ended with %d: %s", code, page)
	}
	conn, err := h.st.FindConnection(h.ctx, h.client, user, whoop.DataSource)
	switch {
	case health.ErrorCode(err) == health.ENOTFOUND:
	case err != nil:
		t.Fatal(err)
	default:
		// The link service keeps the row of a new connection that failed,
		// revoked and without tokens, rather than deleting it.
		t.Logf("connection row kept: status %q, last error %q", conn.Status, conn.LastError)
		if conn.Status == store.StatusActive || conn.Tokens.AccessToken != "" || conn.Tokens.RefreshToken != "" || conn.ExternalUserID != "" {
			t.Fatalf("half-linked connection left: %+v", conn)
		}
		if n, err := h.st.CountRawDocuments(h.ctx, conn.ID); err != nil || len(n) != 0 {
			t.Fatalf("raw documents of the failed link: %v %v", n, err)
		}
	}
	if n := h.ingestJobs(syncKinds...); n != 0 {
		t.Fatalf("the failed link enqueued %d jobs", n)
	}
	if code, body := h.get("/api/v2/user_id/" + user + "/data_sources/authorized"); code == 200 && strings.Contains(body, `{"data_source":"Whoop","status":true`) {
		t.Fatalf("authorized after a failed link: %s", body)
	}
}

// TestWhoopBackfillUnderFaults: a 30-day backfill of two users, with the
// simulator answering 10% of API requests 5xx, cutting 10% of bodies
// short and starting bursts of 429s, stores exactly the raw records of a
// clean run of the same simulated world (nothing lost, nothing duplicated,
// the same bytes), and the same health documents (bodies compared without
// their versions: a run with retries may write a day more than once).
func TestWhoopBackfillUnderFaults(t *testing.T) {
	users := []string{"whoop-user-0", "whoop-user-1"}
	run := func(faults sim.Faults) (*harness, []map[rawKey]string, []map[string]string) {
		h := newHarness(t, harnessConfig{Seed: 21, Users: 2, BackfillDays: 30, Faults: faults})
		conns := make([]store.Connection, len(users))
		for i, u := range users {
			conns[i] = h.mustLink(u, i)
		}
		h.waitBackfilled(users...)
		raws := make([]map[rawKey]string, len(users))
		docs := make([]map[string]string, len(users))
		for i, u := range users {
			raws[i] = h.rawRecords(conns[i].ID)
			docs[i] = map[string]string{}
			for k, d := range h.stored(u) {
				docs[i][k] = withoutVersions(t, d.Body)
			}
		}
		return h, raws, docs
	}
	_, cleanRaw, cleanDocs := run(sim.Faults{})
	faulty, gotRaw, gotDocs := run(sim.Faults{ErrorRate: 0.1, TruncateRate: 0.1, BurstRate: 0.05, BurstLength: 4,
		// Drawn faults depend on the order of concurrent requests; these
		// make sure each kind happens at least once whatever the order.
		Force429: 2, Force5xx: 2, ForceTruncate: 2})

	fc := faulty.sim.FaultsInjected()
	if fc.ServerError == 0 || fc.Truncated == 0 || fc.RateLimited == 0 {
		t.Fatalf("not every fault was injected: %+v", fc)
	}
	t.Logf("faults injected: %+v", fc)
	for i, u := range users {
		if len(cleanRaw[i]) < 60 {
			t.Fatalf("%s: only %d raw records in the clean run", u, len(cleanRaw[i]))
		}
		for k, hash := range cleanRaw[i] {
			switch g, ok := gotRaw[i][k]; {
			case !ok:
				t.Errorf("%s: raw %+v lost under faults", u, k)
			case g != hash:
				t.Errorf("%s: raw %+v differs under faults", u, k)
			}
		}
		for k := range gotRaw[i] {
			if _, ok := cleanRaw[i][k]; !ok {
				t.Errorf("%s: raw %+v only under faults", u, k)
			}
		}
		for k, b := range cleanDocs[i] {
			if gotDocs[i][k] != b {
				t.Errorf("%s: health document %s differs under faults:\nclean:  %s\nfaults: %s", u, k, b, gotDocs[i][k])
			}
		}
		for k := range gotDocs[i] {
			if _, ok := cleanDocs[i][k]; !ok {
				t.Errorf("%s: health document %s only under faults", u, k)
			}
		}
		t.Logf("%s: %d raw records and %d health documents equal", u, len(cleanRaw[i]), len(cleanDocs[i]))
	}
}

// withoutVersions is a health document's body without its version fields.
func withoutVersions(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "document_version")
	delete(m, "version")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
