package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// Distinctive values of the erased user: none may be left anywhere.
const (
	victimUser = "victim-7f3a2c"
	victimOura = "oura-acct-5e71d0"
	victimTok  = "victim-access-token-c3d4"
)

func victimMarker(i int) string { return fmt.Sprintf("vmark-%04d-qz", i) }
func victimValue(i int) int     { return 913377000 + i }

// seedYear gives a user a year of raw documents (3 collections a day)
// and health documents (2 a day).
func seedYear(t *testing.T, ctx context.Context, st store.Store, client, user, ouraID, tok string, victim bool) {
	t.Helper()
	if _, err := st.UpsertUser(ctx, store.User{ClientUUID: client, UserID: user, TimeZone: "Europe/Paris", Info: json.RawMessage(`{"note":"` + user + `"}`)}); err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateConnection(ctx, store.Connection{ClientUUID: client, UserID: user, DataSource: "oura",
		Status: store.StatusRevoked, Tokens: store.Tokens{AccessToken: tok, RefreshToken: tok + "-refresh"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetExternalUserID(ctx, c.ID, ouraID); err != nil {
		t.Fatal(err)
	}
	if err := st.SetCursors(ctx, c.ID, map[string]string{"backfill": ouraID}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var raws []store.RawDocument
	var docs []store.HealthInput
	for i := range 365 {
		day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
		mark, val := user+"-"+day, 1000+i
		if victim {
			mark, val = victimMarker(i), victimValue(i)
		}
		for _, coll := range []string{"daily_sleep", "daily_activity", "daily_readiness"} {
			raws = append(raws, store.RawDocument{ConnectionID: c.ID, Collection: coll, ExternalID: coll + "-" + day, Day: day,
				Body: json.RawMessage(fmt.Sprintf(`{"id":%q,"day":%q,"marker":%q,"score":%d}`, coll+"-"+day, day, mark, val))})
		}
		d := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: client, UserID: user, Day: day}}
		dt := day + "T07:00:00.000000Z"
		d.Summary.Metadata.Datetime = &dt
		d.Summary.Metadata.SourcesOfData = []string{"Oura"}
		d.Summary.Duration.SleepDurationSeconds = &val
		p := &health.PhysicalSummaryDocument{Header: health.Header{ClientUUID: client, UserID: user, Day: day}}
		p.Summary.Metadata.Datetime = &dt
		p.Summary.Metadata.SourcesOfData = []string{"Oura"}
		steps := val + 1
		p.Summary.Distance.Steps = &steps
		docs = append(docs, store.HealthInput{Key: day, Doc: d}, store.HealthInput{Key: day, Doc: p})
	}
	if _, err := st.PutRawDocuments(ctx, raws); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyHealthDocuments(ctx, docs); err != nil {
		t.Fatal(err)
	}
}

// userCounts counts a user's rows through the store.
func userCounts(t *testing.T, ctx context.Context, st store.Store, client, user string) string {
	t.Helper()
	var raw int
	if c, err := st.FindConnection(ctx, client, user, "oura"); err == nil {
		m, err := st.CountRawDocuments(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range m {
			raw += n
		}
	}
	docs, err := st.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: client, UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	var dels int
	if ds, ok := st.(store.DeliveryStore); ok {
		ls, err := ds.ListDeliveries(ctx, store.DeliveryQuery{ClientUUID: client, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ls {
			if d.UserID == user {
				dels++
			}
		}
	}
	return fmt.Sprintf("raw=%d health=%d deliveries=%d", raw, len(docs), dels)
}

var servingURL = regexp.MustCompile(`wearlink serving" url=(http://\S+)`)

func (p *serveProc) url(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingURL.FindStringSubmatch(p.log()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the server did not start:\n%s", p.log())
	return ""
}

// TestKillMidErasure erases a user with a year of data through the real
// binary, kills it with SIGKILL after the first batches are committed,
// starts it again and checks that the erasure completes: the token was
// revoked at Oura, another user's data is untouched, and neither any
// table nor the database file (after a checkpoint and VACUUM) holds any
// of the erased user's ids or values.
func TestKillMidErasure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := binary(t)
	var mu sync.Mutex
	var revoked []string
	oura := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/revoke" {
			mu.Lock()
			revoked = append(revoked, r.URL.Query().Get("access_token")+r.FormValue("token"))
			mu.Unlock()
			return
		}
		http.Error(w, "not here", http.StatusNotFound)
	}))
	defer oura.Close()

	dir := t.TempDir()
	ctx := context.Background()
	st, err := app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sec, _ := secret.NewAPISecret()
	if err := st.Store.CreateClient(ctx, store.Client{UUID: "client-1", Name: "app", SecretHash: secret.HashAPISecret(sec)}); err != nil {
		t.Fatal(err)
	}
	// A data endpoint (that never answers) gives the documents messages
	// and deliveries.
	if _, err := st.Store.(store.DeliveryStore).CreateEndpoint(ctx, store.WebhookEndpoint{ClientUUID: "client-1", Kind: store.EndpointData,
		URL: "http://127.0.0.1:9/hook", Secret: "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdA", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	seedYear(t, ctx, st.Store, "client-1", victimUser, victimOura, victimTok, true)
	seedYear(t, ctx, st.Store, "client-1", "bystander-9c1d", "oura-other-22", "other-token", false)
	// Fan the whole outbox out now: a record left for the server's pump
	// would add deliveries to the bystander after its counts are taken.
	for {
		r, err := st.Store.(store.DeliveryStore).FanOut(ctx, 365, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.Records == 0 {
			break
		}
	}
	bystander := userCounts(t, ctx, st.Store, "client-1", "bystander-9c1d")
	t.Logf("victim %s; bystander %s", userCounts(t, ctx, st.Store, "client-1", victimUser), bystander)
	es := st.Store.(interface {
		GetErasure(ctx context.Context, clientUUID, id string) (store.Erasure, error)
	})

	env := []string{"WEARLINK_DATA=" + dir, "WEARLINK_OURA_API_URL=" + oura.URL, "WEARLINK_OURA_AUTH_URL=" + oura.URL + "/oauth/authorize",
		"WEARLINK_OURA_TOKEN_URL=" + oura.URL + "/oauth/token", "WEARLINK_OURA_REVOKE_URL=" + oura.URL + "/oauth/revoke",
		"WEARLINK_OURA_CLIENT_ID=id", "WEARLINK_OURA_CLIENT_SECRET=secret", "WEARLINK_OURA_MANAGE_WEBHOOKS=false"}
	// Small batches with a pause: the erasure would take minutes, so the
	// kill lands in its middle. The restarted server takes large batches.
	first := startServe(t, bin, append(env, "WEARLINK_ERASE_BATCH_SIZE=5", "WEARLINK_ERASE_BATCH_PAUSE=50ms"))
	defer func() { _ = first.cmd.Process.Kill(); _ = first.cmd.Wait() }()
	req, _ := http.NewRequest("DELETE", first.url(t)+"/api/v1/user_id/"+victimUser, nil)
	req.SetBasicAuth("client-1", sec)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var er struct {
		ID string `json:"erasure_id"`
	}
	if res.StatusCode != 202 || json.Unmarshal(body, &er) != nil {
		t.Fatalf("DELETE: %d %s", res.StatusCode, body)
	}
	deleted := func(e store.Erasure) (n int64) {
		for _, k := range e.Counts {
			n += k
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, err := es.GetErasure(ctx, "client-1", er.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != store.ErasureRunning {
			t.Fatalf("the erasure ended before the kill: %+v", e)
		}
		if deleted(e) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the erasure did not start\n%s", first.log())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	mid, err := es.GetErasure(ctx, "client-1", er.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.State != store.ErasureRunning {
		t.Fatalf("after the kill: %+v", mid)
	}
	t.Logf("killed with %d rows deleted, at step %s", deleted(mid), mid.Step)

	second := startServe(t, bin, append(env, "WEARLINK_ERASE_BATCH_SIZE=300"))
	defer func() { _ = second.cmd.Process.Signal(syscall.SIGTERM); _ = second.cmd.Wait() }()
	var done store.Erasure
	deadline = time.Now().Add(90 * time.Second)
	for {
		if done, err = es.GetErasure(ctx, "client-1", er.ID); err != nil {
			t.Fatal(err)
		}
		if done.State == store.ErasureCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the erasure did not complete after the restart: %+v\n%s", done, second.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("completed after the restart: %v", done.Counts)
	if done.Counts["raw_documents"] != 3*365 || done.Counts["health_documents"] != 2*365 || done.Counts["users"] != 1 {
		t.Fatalf("counts %v", done.Counts)
	}
	if got := userCounts(t, ctx, st.Store, "client-1", "bystander-9c1d"); got != bystander {
		t.Fatalf("bystander: %s, was %s", got, bystander)
	}
	mu.Lock()
	if len(revoked) != 1 || !strings.Contains(revoked[0], victimTok) {
		t.Errorf("revoked at Oura: %q", revoked)
	}
	mu.Unlock()
	_ = second.cmd.Process.Signal(syscall.SIGTERM)
	_ = second.cmd.Wait()
	st.Close()
	for _, l := range []string{first.log(), second.log()} {
		for _, s := range []string{victimUser, victimOura, victimTok} {
			if strings.Contains(l, s) {
				t.Errorf("the log names %s", s)
			}
		}
	}

	needles := []string{victimUser, victimOura, victimTok}
	for _, i := range []int{0, 1, 100, 200, 364} {
		needles = append(needles, victimMarker(i), fmt.Sprint(victimValue(i)))
	}
	scanErased(t, filepath.Join(dir, sqlite.FileName), needles)
}

// scanErased reads every row of every table, then checkpoints and
// vacuums the file and reads its bytes: none may hold a needle.
func scanErased(t *testing.T, path string, needles []string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tb := range tables {
		r, err := db.Query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		n := 0
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := fmt.Sprint(vals...)
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					row += " " + cols[i] + "=" + string(b)
				}
			}
			for _, s := range needles {
				if strings.Contains(row, s) {
					t.Errorf("table %s still holds %q: %.300s", tb, s, row)
				}
			}
			n++
		}
		r.Close()
		t.Logf("table %s: %d rows scanned", tb, n)
	}
	for _, q := range []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range needles {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s still holds %q after VACUUM", filepath.Base(f), s)
			}
		}
		t.Logf("%s: %d bytes scanned", filepath.Base(f), len(b))
	}
}
