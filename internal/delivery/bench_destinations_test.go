package delivery

// Documents per second to each destination kind against webhook delivery
// in the same run, on SQLite and (with WEARLINK_TEST_POSTGRES_URL) on
// PostgreSQL:
//
//	go test ./internal/delivery -run '^$' -bench Destinations -benchtime 2000x

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/delivery/destination"
	"github.com/wearlink/wearlink/internal/delivery/destination/desttest"
	"github.com/wearlink/wearlink/internal/testutil"
)

// countingWriter counts the distinct document versions written.
type countingWriter struct {
	destination.Writer
	mu  *sync.Mutex
	ids map[string]bool
}

func (w countingWriter) Write(ctx context.Context, d destination.Doc) error {
	if err := w.Writer.Write(ctx, d); err != nil {
		return err
	}
	w.mu.Lock()
	w.ids[d.WebhookID] = true
	w.mu.Unlock()
	return nil
}

// BenchmarkDestinations: b.N documents already stored and one target,
// then River started: documents/s from the outbox into the target, for a
// webhook (the local receiver of BenchmarkDeliveries) and each
// destination kind against its test server on loopback (gofakes3 behind
// the signature check, kfake with SCRAM and synced writes, the test
// PostgreSQL).
func BenchmarkDestinations(b *testing.B) {
	for _, mk := range benchDBs() {
		for _, target := range []string{"webhook", destination.KindS3, destination.KindKafka, destination.KindPostgres} {
			b.Run(mk.name+"/"+target, func(b *testing.B) {
				var settings string
				switch target {
				case destination.KindS3:
					s := desttest.StartS3(b)
					settings = mustJSON(destination.S3Settings{Endpoint: "http://" + s.Addr, Region: "us-east-1", Bucket: s.Bucket,
						PathStyle: true, AccessKeyID: s.Key, SecretAccessKey: s.Secret})
				case destination.KindKafka:
					k := desttest.StartKafka(b)
					settings = mustJSON(destination.KafkaSettings{Brokers: []string{k.Addr}, Topic: k.Topic,
						SASL: &destination.KafkaSASL{Mechanism: destination.SASLScramSHA256, Username: k.User, Password: k.Pass}})
				case destination.KindPostgres:
					settings = mustJSON(destination.PostgresSettings{DSN: testutil.PostgresSchemaURL(b, "dest_bench")})
				}
				db := mk.make(b)
				benchSetup(b, db.st)
				var mu sync.Mutex
				ids := map[string]bool{}
				svc, err := New(Config{Store: db.st, Logger: quiet, AllowPrivate: true, Jitter: -1, FanoutInterval: 100 * time.Millisecond,
					NewWriter: func(s destination.Settings, o destination.Options) (destination.Writer, error) {
						w, err := destination.New(s, o)
						return countingWriter{Writer: w, mu: &mu, ids: ids}, err
					}})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { svc.Close() })
				count := func() int {
					mu.Lock()
					defer mu.Unlock()
					return len(ids)
				}
				if target == "webhook" {
					rcv, url := newCountingReceiver(b)
					if _, err := svc.AddEndpoint(context.Background(), EndpointInput{ClientUUID: testClient, URL: url}); err != nil {
						b.Fatal(err)
					}
					count = rcv.count
				} else {
					d, err := svc.AddDestination(context.Background(), DestinationInput{ClientUUID: testClient, Kind: target, Settings: json.RawMessage(settings)})
					if err != nil {
						b.Fatal(err)
					}
					// Connections and the postgres table made before the clock starts.
					if r, err := svc.TestDestination(context.Background(), testClient, d.ID); err != nil || !r.Succeeded {
						b.Fatalf("test: %+v %v", r, err)
					}
				}
				for i := 0; i < b.N; i += 500 {
					applyDocs(b, db.st, i, min(500, b.N-i))
				}
				w := river.NewWorkers()
				setup := svc.Register(w)
				b.ResetTimer()
				c, stop := db.start(b, w, setup)
				svc.Attach(c)
				waitCount(b, "documents", 10*time.Minute, b.N, count)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
				stop()
			})
		}
	}
}
