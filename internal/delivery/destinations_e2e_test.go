package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/delivery/destination"
	"github.com/wearlink/wearlink/internal/delivery/destination/desttest"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
)

// The destinations end to end: documents go through the outbox, River
// jobs and the kind's writer to a server that speaks the kind's protocol,
// started here on loopback; what the server holds is read back with the
// system's own client and compared with the store.

// destHarness is one destination kind against its server.
type destHarness struct {
	kind string
	// settings work; wrong has credentials the server refuses, with the
	// class and words the refusal must carry, and the secret that must
	// never show.
	settings, wrong   string
	wrongClass        string
	wrongSays, secret string
	// stop and start take the server down and bring it back with its data.
	stop, start func()
	// hold makes the server take after document writes and hold the later
	// ones until released (see desttest.Hold).
	hold func(t *testing.T, after int) (held func() bool, release func())
	// newest reads back the newest version the server holds of each
	// document, by document identity (docIdentity).
	newest func(t *testing.T) map[string]heldDoc
}

type heldDoc struct {
	version int
	body    []byte
}

// docOf is the destination document of a stored one.
func docOf(h store.HealthDocument) destination.Doc {
	return destination.Doc{ClientUUID: h.ClientUUID, UserID: h.UserID, Pillar: h.Pillar, DataStructure: h.DataStructure,
		Day: h.Day, Key: h.Key, Version: h.Version, Body: h.Body}
}

// docIdentity names a document whatever its version.
func docIdentity(d destination.Doc) string { return destination.RecordKey(d) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func s3Harness(t *testing.T) destHarness {
	s := desttest.StartS3(t)
	const prefix = "lake/wearlink"
	set := func(secret string) string {
		return mustJSON(destination.S3Settings{Endpoint: "http://" + s.Addr, Region: "us-east-1", Bucket: s.Bucket, Prefix: prefix,
			PathStyle: true, AccessKeyID: s.Key, SecretAccessKey: secret})
	}
	return destHarness{kind: destination.KindS3, settings: set(s.Secret), wrong: set("not-the-right-secret"),
		wrongClass: "auth", wrongSays: "SignatureDoesNotMatch", secret: "not-the-right-secret",
		stop: s.Stop, start: s.Start,
		hold: func(t *testing.T, after int) (func() bool, func()) {
			h := s.HoldWrites(t, after)
			return h.Held, h.Release
		},
		newest: func(t *testing.T) map[string]heldDoc {
			out := map[string]heldDoc{}
			for key, body := range s.Objects(t) {
				if strings.HasSuffix(key, ".wearlink-test.json") {
					continue
				}
				rest, ok := strings.CutPrefix(key, prefix+"/")
				parts := strings.Split(rest, "/")
				if !ok || len(parts) != 5 {
					t.Fatalf("object %s is not at {prefix}/{client}/{structure}/{user}/{day}/{key}.v{n}.json", key)
				}
				name, vs, ok := strings.Cut(strings.TrimSuffix(parts[4], ".json"), ".v")
				v, err := strconv.Atoi(vs)
				if !ok || err != nil {
					t.Fatalf("object %s has no version", key)
				}
				d := destination.Doc{ClientUUID: unescape(t, parts[0]), DataStructure: unescape(t, parts[1]), UserID: unescape(t, parts[2]),
					Day: unescape(t, parts[3]), Key: unescape(t, name)}
				if d.Day == "_" { // no day
					d.Day = ""
				}
				if id := docIdentity(d); v > out[id].version {
					out[id] = heldDoc{version: v, body: body}
				}
			}
			return out
		},
	}
}

func unescape(t *testing.T, s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func kafkaHarness(t *testing.T) destHarness {
	k := desttest.StartKafka(t)
	set := func(pass string) string {
		return mustJSON(destination.KafkaSettings{Brokers: []string{k.Addr}, Topic: k.Topic,
			SASL: &destination.KafkaSASL{Mechanism: destination.SASLScramSHA256, Username: k.User, Password: pass}})
	}
	return destHarness{kind: destination.KindKafka, settings: set(k.Pass), wrong: set("not-the-password"),
		wrongClass: "auth", wrongSays: "SASL", secret: "not-the-password",
		stop: k.Stop, start: k.Start,
		hold: func(t *testing.T, after int) (func() bool, func()) {
			h := k.HoldWrites(t, after)
			return h.Held, h.Release
		},
		newest: func(t *testing.T) map[string]heldDoc {
			out := map[string]heldDoc{}
			for _, r := range k.Records(t) {
				v, err := strconv.Atoi(desttest.Header(r, destination.HeaderDocumentVersion))
				if err != nil {
					t.Fatalf("record %s without document_version", r.Key)
				}
				// The newest version wins, as a consumer keeping
				// document_version does.
				if id := string(r.Key); v > out[id].version {
					out[id] = heldDoc{version: v, body: r.Value}
				}
			}
			return out
		},
	}
}

func postgresHarness(t *testing.T) destHarness {
	dsn := testutil.PostgresSchemaURL(t, "dest_e2e")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := desttest.NewProxy(t, u.Host)
	via := *u
	via.Host = p.Addr
	wrong := via
	wrong.User = url.UserPassword("wl_e2e_nobody", "db-e2e-password")
	return destHarness{kind: destination.KindPostgres, settings: mustJSON(destination.PostgresSettings{DSN: via.String()}),
		wrong: mustJSON(destination.PostgresSettings{DSN: wrong.String()}), wrongClass: "auth",
		wrongSays: `role "wl_e2e_nobody" does not exist`, secret: "db-e2e-password",
		stop: p.Stop, start: p.Start,
		hold: func(t *testing.T, after int) (func() bool, func()) { return holdPostgresWrites(t, dsn, after) },
		newest: func(t *testing.T) map[string]heldDoc {
			ctx := context.Background()
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			rows, err := c.Query(ctx, `SELECT client_uuid, user_id, pillar, data_structure, key, coalesce(day::text, ''), document_version, document::text
				FROM wearlink_documents`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string]heldDoc{}
			for rows.Next() {
				var d destination.Doc
				var body string
				if err := rows.Scan(&d.ClientUUID, &d.UserID, &d.Pillar, &d.DataStructure, &d.Key, &d.Day, &d.Version, &body); err != nil {
					t.Fatal(err)
				}
				out[docIdentity(d)] = heldDoc{version: d.Version, body: []byte(body)}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		},
	}
}

// holdPostgresWrites makes the destination's table take after row writes
// and hold the later ones until released: a trigger counts the writes on
// a sequence and, past after, waits for an advisory lock this test's
// session holds until the release. The table must exist (the
// destination tested once).
func holdPostgresWrites(t *testing.T, dsn string, after int) (held func() bool, release func()) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := c.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	// A key of this test's own: other tests share the server.
	key := rand.Int64N(1<<31) + 1
	q := func(s string) string { return pgx.Identifier{schema, s}.Sanitize() }
	for _, s := range []string{
		fmt.Sprintf("SELECT pg_advisory_lock(%d)", key),
		"CREATE SEQUENCE " + q("e2e_writes"),
		fmt.Sprintf(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF nextval('%s') > %d THEN
		PERFORM pg_advisory_xact_lock_shared(%d);
	END IF;
	RETURN NEW;
END $$`, q("e2e_hold"), q("e2e_writes"), after, key),
		fmt.Sprintf("CREATE TRIGGER e2e_hold BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s()", q("wearlink_documents"), q("e2e_hold")),
	} {
		if _, err := c.Exec(ctx, s); err != nil {
			c.Close(ctx)
			t.Fatalf("%s: %v", s, err)
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := c.Exec(ctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
				t.Errorf("release the held writes: %v", err)
			}
			c.Close(ctx)
		})
	}
	t.Cleanup(release)
	obs, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { obs.Close(ctx) })
	held = func() bool {
		var n int
		// A bigint key is classid (high half), objid (low half), objsubid 1.
		err := obs.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid = 0 AND objid = $1 AND objsubid = 1`, key).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	return held, release
}

var destHarnesses = []struct {
	name string
	make func(t *testing.T) destHarness
}{
	{"s3", s3Harness},
	{"kafka", kafkaHarness},
	{"postgres", postgresHarness},
}

// e2eService is a service for River whose retries span schedule.
func e2eService(t testing.TB, st *sqlite.Store, schedule []time.Duration) *Service {
	t.Helper()
	svc, err := New(Config{Store: st, Logger: testLogger(t), AllowPrivate: true, Schedule: schedule, Jitter: -1,
		FanoutInterval: 50 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// applyVersions stores new content for the sleep summaries first to
// first+n-1 of applyDocs, which makes a newer version of each.
func applyVersions(t testing.TB, st store.Store, first, n, content int) {
	t.Helper()
	var in []store.HealthInput
	for i := first; i < first+n; i++ {
		day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%3000).Format(time.DateOnly)
		in = append(in, store.HealthInput{Key: fmt.Sprint("night-", i), Doc: sleepDoc(testClient, testUser, day, content+i)})
	}
	w, err := st.ApplyHealthDocuments(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if w.Updated != n {
		t.Fatalf("applied %+v, want %d updated", w, n)
	}
}

// deliverJobs counts the unfinished River jobs of a delivery.
func deliverJobs(t testing.TB, st *sqlite.Store, id int64) int {
	t.Helper()
	var n int
	err := st.Writer().QueryRowContext(context.Background(), `SELECT count(*) FROM river_job WHERE kind = ?
		AND state NOT IN ('completed', 'cancelled', 'discarded') AND json_extract(args, '$.delivery_id') = ?`,
		DeliverArgs{}.Kind(), id).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// applyGolden stores the normalized documents of golden files of
// internal/provider/oura/normalize (the simulator's users, every data
// structure), as the test client's, and returns how many it stored.
func applyGolden(t testing.TB, st store.Store, names ...string) int {
	t.Helper()
	ctx := context.Background()
	var in []store.HealthInput
	for _, name := range names {
		for _, it := range testutil.OuraGolden(t, name) {
			d, err := health.Parse(it.Document)
			if err != nil {
				t.Fatal(err)
			}
			h := d.Envelope()
			h.ClientUUID, h.Day = testClient, it.Day
			if _, err := st.UpsertUser(ctx, store.User{ClientUUID: testClient, UserID: h.UserID}); err != nil {
				t.Fatal(err)
			}
			in = append(in, store.HealthInput{Key: it.Key, Doc: d})
		}
	}
	w, err := st.ApplyHealthDocuments(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if w.Inserted != len(in) {
		t.Fatalf("applied %+v, want %d inserted", w, len(in))
	}
	return len(in)
}

// destDeliveries lists every delivery to a destination.
func destDeliveries(t testing.TB, st store.DeliveryStore, id string) []store.Delivery {
	t.Helper()
	var all []store.Delivery
	for after := int64(0); ; {
		page, err := st.ListDeliveries(context.Background(), store.DeliveryQuery{EndpointID: id, AfterID: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
}

// waitDelivered waits until the destination has want deliveries, all
// succeeded; a dead one fails the test at once.
func waitDelivered(t testing.TB, st store.DeliveryStore, id string, want int, limit time.Duration) {
	t.Helper()
	defer func() {
		if t.Failed() {
			for _, d := range destDeliveries(t, st, id) {
				if d.Status != store.DeliverySucceeded {
					t.Logf("delivery %d: %s, %d attempts, next %v, last error %q", d.ID, d.Status, d.Attempts, d.NextAttemptAt, d.LastError)
				}
			}
		}
	}()
	testutil.WaitFor(t, limit, fmt.Sprintf("%d deliveries to %s succeeded", want, id), func() bool {
		ds := destDeliveries(t, st, id)
		ok := 0
		for _, d := range ds {
			switch d.Status {
			case store.DeliveryDead:
				t.Fatalf("delivery %d died: %s", d.ID, d.LastError)
			case store.DeliverySucceeded:
				ok++
			}
		}
		return len(ds) == want && ok == want
	})
}

// checkHoldsNewest: the destination holds every stored document, at its
// current version, with its body.
func checkHoldsNewest(t *testing.T, st store.Store, h destHarness) {
	t.Helper()
	docs, err := st.GetHealthDocuments(context.Background(), store.HealthQuery{ClientUUID: testClient})
	if err != nil {
		t.Fatal(err)
	}
	held := h.newest(t)
	if len(held) != len(docs) {
		t.Errorf("the destination holds %d documents, the store %d", len(held), len(docs))
	}
	for _, hd := range docs {
		d := docOf(hd)
		got, ok := held[docIdentity(d)]
		switch {
		case !ok:
			t.Errorf("%s is missing", docIdentity(d))
		case got.version != d.Version:
			t.Errorf("%s: version %d held, %d stored", docIdentity(d), got.version, d.Version)
		case !jsonEqual(t, got.body, d.Body):
			t.Errorf("%s v%d: the body held differs from the stored one:\n%s\n%s", docIdentity(d), d.Version, got.body, d.Body)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// TestDestinationsEndToEnd, for each kind: the documents (the
// simulator's users' of every data structure, and generated nights)
// arrive complete and the newest version wins; the destination going down and coming
// back loses nothing; a dead letter is replayed once it is back; wrong
// credentials are a clear error from test, in the attempts and in the
// delivery rejected event.
func TestDestinationsEndToEnd(t *testing.T) {
	for _, k := range destHarnesses {
		t.Run(k.name, func(t *testing.T) {
			h := k.make(t)
			ctx := t.Context()
			st := openStore(t, newDB(t))
			setupClient(t, st)
			notify := newReceiver(t)

			// Retries quick at first, then a tail of 500 ms waits that
			// lasts far longer than every wait of this test together:
			// however long the destination takes to come back (kfake's
			// restart, the client's reconnect backoff on a loaded
			// machine), the delivery cannot run out of attempts and die
			// during the outage.
			svc := e2eService(t, st, append(slices.Repeat([]time.Duration{100 * time.Millisecond}, 20),
				slices.Repeat([]time.Duration{500 * time.Millisecond}, 2000)...))
			if _, err := svc.AddEndpoint(ctx, EndpointInput{ClientUUID: testClient, URL: notify.URL, Kind: store.EndpointNotification}); err != nil {
				t.Fatal(err)
			}
			d, err := svc.AddDestination(ctx, DestinationInput{ClientUUID: testClient, Kind: h.kind, Settings: json.RawMessage(h.settings)})
			if err != nil {
				t.Fatal(err)
			}
			if tr, err := svc.TestDestination(ctx, testClient, d.ID); err != nil || !tr.Succeeded {
				t.Fatalf("test: %+v %v", tr, err)
			}
			c := startRiver(t, st, svc)

			const n = 60
			applyDocs(t, st, 0, n)
			// The simulator's users' documents of every data structure, as
			// the demo stores them.
			g := applyGolden(t, st, "sim-user0", "sim-user1")
			waitDelivered(t, st, d.ID, n+g, 60*time.Second)
			checkHoldsNewest(t, st, h)

			// Down while newer versions and new documents come.
			h.stop()
			applyVersions(t, st, 0, n/2, 1000)
			applyDocs(t, st, n, n/2)
			testutil.WaitFor(t, 30*time.Second, "a failed attempt while the destination is down", func() bool {
				return slices.ContainsFunc(destDeliveries(t, st, d.ID), func(d store.Delivery) bool {
					return d.Status == store.DeliveryPending && d.Attempts > 0
				})
			})
			h.start()
			waitDelivered(t, st, d.ID, 2*n+g, 60*time.Second)
			checkHoldsNewest(t, st, h)
			stopRiver(t, c)

			// A dead letter, replayed once the destination is back.
			short := e2eService(t, st, []time.Duration{10 * time.Millisecond})
			c = startRiver(t, st, short)
			defer func() { stopRiver(t, c) }()
			h.stop()
			applyVersions(t, st, 0, 1, 2000)
			var dead []int64
			testutil.WaitFor(t, 30*time.Second, "a dead letter", func() bool {
				dead = dead[:0]
				for _, x := range destDeliveries(t, st, d.ID) {
					if x.Status == store.DeliveryDead {
						dead = append(dead, x.ID)
					}
				}
				return len(dead) == 1
			})
			// The job that recorded the death must have finished, or the
			// replay's job is taken for it and dropped (the maintenance
			// would queue it again, but only after OverdueAfter).
			testutil.WaitFor(t, 30*time.Second, "the dead letter's job to finish", func() bool { return deliverJobs(t, st, dead[0]) == 0 })
			h.start()
			if n, err := short.Replay(ctx, testClient, store.ReplayQuery{IDs: dead}); err != nil || n != 1 {
				t.Fatalf("replay: %d %v", n, err)
			}
			waitDelivered(t, st, d.ID, 2*n+g+1, 60*time.Second)
			checkHoldsNewest(t, st, h)

			// Wrong credentials: test says so in the system's words, and
			// a document becomes a dead letter the client hears of.
			bad, err := short.AddDestination(ctx, DestinationInput{ClientUUID: testClient, Kind: h.kind, Settings: json.RawMessage(h.wrong)})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := short.TestDestination(ctx, testClient, bad.ID)
			t.Logf("test with wrong credentials: %+v", tr)
			if err != nil || tr.Succeeded || tr.ErrorClass != h.wrongClass || !strings.Contains(tr.Error, h.wrongSays) || strings.Contains(tr.Error, h.secret) {
				t.Fatalf("test with wrong credentials: %+v %v, want class %s saying %q", tr, err, h.wrongClass, h.wrongSays)
			}
			applyDocs(t, st, 2*n, 1)
			var rejected map[string]any
			testutil.WaitFor(t, 30*time.Second, "the delivery rejected event", func() bool {
				for _, hit := range notify.got() {
					ev := eventOf(t, hit.body)
					if data, _ := ev["data"].(map[string]any); ev["type"] == EventDeliveryRejected && data["endpoint_id"] == bad.ID {
						rejected = data
						return true
					}
				}
				return false
			})
			if rejected["error_class"] != h.wrongClass || rejected["destination"] != h.kind ||
				!strings.Contains(fmt.Sprint(rejected["last_error"]), h.wrongSays) || strings.Contains(fmt.Sprint(rejected), h.secret) {
				t.Fatalf("delivery rejected data = %v", rejected)
			}
			if v, err := short.GetDestination(ctx, testClient, bad.ID); err != nil || v.Status != DestinationFailing {
				t.Fatalf("the bad destination: %+v %v", v, err)
			}

			// The credentials corrected, its dead letter replays.
			badDead := destDeliveries(t, st, bad.ID)
			if len(badDead) != 1 || badDead[0].Status != store.DeliveryDead {
				t.Fatalf("the bad destination's deliveries: %+v", badDead)
			}
			if _, err := short.UpdateDestination(ctx, testClient, bad.ID, DestinationUpdate{Settings: json.RawMessage(h.settings)}); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, 30*time.Second, "the dead letter's job to finish", func() bool { return deliverJobs(t, st, badDead[0].ID) == 0 })
			if n, err := short.Replay(ctx, testClient, store.ReplayQuery{IDs: []int64{badDead[0].ID}}); err != nil || n != 1 {
				t.Fatalf("replay: %d %v", n, err)
			}
			waitDelivered(t, st, bad.ID, 1, 60*time.Second)
			waitDelivered(t, st, d.ID, 2*n+g+2, 60*time.Second)
			checkHoldsNewest(t, st, h)
		})
	}
}

// TestDestinationCrashLosesNothing, for each kind: wearlink killed with
// SIGKILL while it writes to the destination loses nothing once it runs
// again (TestHelperDeliveryProcess is the process killed).
func TestDestinationCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	for _, k := range destHarnesses {
		t.Run(k.name, func(t *testing.T) {
			h := k.make(t)
			path := newDB(t)
			st := openStore(t, path)
			setupClient(t, st)
			svc := riverService(t, st)
			d, err := svc.AddDestination(t.Context(), DestinationInput{ClientUUID: testClient, Kind: h.kind, Settings: json.RawMessage(h.settings)})
			if err != nil {
				t.Fatal(err)
			}
			// Tested once, as a client does: the PostgreSQL table the
			// hold's trigger goes on exists from here.
			if tr, err := svc.TestDestination(t.Context(), testClient, d.ID); err != nil || !tr.Succeeded {
				t.Fatalf("test: %+v %v", tr, err)
			}
			const n = 400
			applyDocs(t, st, 0, n)
			succeeded := func() int {
				k := 0
				for _, x := range destDeliveries(t, st, d.ID) {
					if x.Status == store.DeliverySucceeded {
						k++
					}
				}
				return k
			}
			// The destination takes a quarter of the documents and holds
			// the rest until the helper process is killed: the kill lands
			// in the middle of the writes however fast they go.
			held, release := h.hold(t, n/4)
			killHelper(t, st, path, "a write held after some written by the helper process", func() bool { return held() && succeeded() > 0 })
			before := succeeded()
			release()
			if before >= n {
				t.Fatalf("all %d written before the kill, although the destination held the writes after %d", before, n/4)
			}
			orphans := freeOrphans(t, st)
			c := startRiver(t, st, riverService(t, st))
			defer stopRiver(t, c)
			waitDelivered(t, st, d.ID, n, 90*time.Second)
			checkHoldsNewest(t, st, h)
			t.Logf("killed after %d of %d written with %d jobs running", before, n, orphans)
		})
	}
}
