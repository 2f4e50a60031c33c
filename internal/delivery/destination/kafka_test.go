package destination

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wearlink/wearlink/internal/delivery/destination/desttest"
)

const (
	kafkaPlainU = "plainuser"
	kafkaPlainP = "plain-secret-4567"
	kafkaReader = "reader"
	kafkaReadP  = "reader-secret-89"
)

// kafkaServer is desttest's kfake broker (the Kafka protocol on
// 127.0.0.1 with SASL and ACLs, kept on disk so a restart on the same
// port keeps the records), with a PLAIN superuser and a user that may
// only read the topic besides its SCRAM superuser.
type kafkaServer struct{ *desttest.Kafka }

func startKafka(t testing.TB) *kafkaServer {
	t.Helper()
	topic := "wearlink-e2e"
	acl := func(op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: topic, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
	}
	k := desttest.StartKafka(t, kfake.Superuser("PLAIN", kafkaPlainU, kafkaPlainP),
		kfake.User("SCRAM-SHA-256", kafkaReader, kafkaReadP, acl(kmsg.ACLOperationDescribe), acl(kmsg.ACLOperationRead)))
	if k.Topic != topic {
		t.Fatalf("desttest's topic is %s", k.Topic)
	}
	return &kafkaServer{k}
}

func (k *kafkaServer) stop()  { k.Stop() }
func (k *kafkaServer) start() { k.Start() }

func (k *kafkaServer) settings() *KafkaSettings {
	return &KafkaSettings{Brokers: []string{k.Addr}, Topic: k.Topic,
		SASL: &KafkaSASL{Mechanism: SASLScramSHA256, Username: k.User, Password: k.Pass}}
}

func (k *kafkaServer) records(t testing.TB) []*kgo.Record { return k.Records(t) }

func header(r *kgo.Record, key string) string { return desttest.Header(r, key) }

func TestKafkaWritesOneRecordPerVersion(t *testing.T) {
	k := startKafka(t)
	for _, mech := range []string{SASLScramSHA256, SASLPlain} {
		t.Run(mech, func(t *testing.T) {
			set := k.settings()
			if mech == SASLPlain {
				set.SASL = &KafkaSASL{Mechanism: SASLPlain, Username: kafkaPlainU, Password: kafkaPlainP}
			}
			w := newWriter(t, set)
			if err := w.Test(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}

	w := newWriter(t, k.settings())
	docs := goldenDocs(t, "sim-user0", "real-2024-12", "seed003")
	var all []Doc
	newest := map[string]Doc{}
	for i, d := range docs {
		all = append(all, d)
		newest[RecordKey(d)] = d
		if i%3 == 0 {
			v2 := bump(t, d, 2, sleepEdit)
			all = append(all, v2)
			newest[RecordKey(d)] = v2
		}
	}
	if failed, err := writeAll(t, w, all); len(failed) > 0 {
		t.Fatalf("%d writes failed: %v", len(failed), err)
	}
	// A retried write of a version appends the same record again.
	again := all[1] // the newest version of docs[0]
	if err := w.Write(context.Background(), again); err != nil {
		t.Fatal(err)
	}

	recs := k.records(t)
	if len(recs) != len(all)+1 {
		t.Fatalf("%d records, want %d", len(recs), len(all)+1)
	}
	byVersion := map[string]*kgo.Record{}
	last := map[string]*kgo.Record{} // per key, the last in its partition's order
	copies := 0
	for _, r := range recs {
		id := string(r.Key) + " v" + header(r, HeaderDocumentVersion)
		if prev, ok := byVersion[id]; ok {
			copies++
			if !bytes.Equal(prev.Value, r.Value) || header(prev, HeaderWebhookID) != header(r, HeaderWebhookID) {
				t.Fatalf("two different records for %s", id)
			}
		}
		byVersion[id] = r
		if l, ok := last[string(r.Key)]; ok && l.Partition != r.Partition {
			t.Fatalf("key %s in partitions %d and %d: compaction could not keep the newest", r.Key, l.Partition, r.Partition)
		}
		last[string(r.Key)] = r
	}
	if copies != 1 {
		t.Fatalf("%d repeated records, want the one retried", copies)
	}
	for _, d := range all {
		r, ok := byVersion[RecordKey(d)+" v"+strconv.Itoa(d.Version)]
		if !ok {
			t.Fatalf("no record for %s", docID(d))
		}
		if !bytes.Equal(r.Value, d.Body) || header(r, HeaderWebhookID) != d.WebhookID ||
			header(r, HeaderDataStructure) != d.DataStructure || header(r, HeaderPillar) != d.Pillar {
			t.Fatalf("record of %s: headers %v", docID(d), r.Headers)
		}
	}
	for key, d := range newest {
		if got := header(last[key], HeaderDocumentVersion); got != strconv.Itoa(d.Version) {
			t.Fatalf("last record of %s is version %s, want %d", key, got, d.Version)
		}
	}
}

func TestKafkaRecordKey(t *testing.T) {
	d := Doc{ClientUUID: "c1", UserID: "u-1", Pillar: "physical_health", DataStructure: "heart_rate_event", Day: "2024-03-25", Key: "a/b"}
	if got, want := RecordKey(d), "c1/u-1/physical_heart_rate_event/2024-03-25/a%2Fb"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestKafkaRestartLosesNothing(t *testing.T) {
	k := startKafka(t)
	w := newWriter(t, k.settings())
	docs := goldenDocs(t, "sim-user0")
	outage(t, w, docs, k.stop, k.start)
	recs := k.records(t)
	seen := map[string]bool{}
	for _, r := range recs {
		seen[string(r.Key)+" v"+header(r, HeaderDocumentVersion)] = true
	}
	for _, d := range docs {
		if !seen[RecordKey(d)+" v"+strconv.Itoa(d.Version)] {
			t.Errorf("lost %s", docID(d))
		}
	}
}

func TestKafkaRejections(t *testing.T) {
	k := startKafka(t)
	doc := goldenDocs(t, "sim-user0")[0]
	for _, tc := range []struct {
		name  string
		edit  func(*KafkaSettings)
		class Class
		want  string
	}{
		{"wrong password", func(s *KafkaSettings) { s.SASL.Password = "not-the-password" }, ClassAuth, "SASL"},
		{"unknown user", func(s *KafkaSettings) { s.SASL.Username = "nobody" }, ClassAuth, "SASL"},
		{"plain wrong password", func(s *KafkaSettings) {
			s.SASL = &KafkaSASL{Mechanism: SASLPlain, Username: kafkaPlainU, Password: "wrong-plain-pass"}
		}, ClassAuth, "SASL"},
		{"no write grant", func(s *KafkaSettings) { s.SASL.Username, s.SASL.Password = kafkaReader, kafkaReadP }, ClassPermission, "AUTHORIZATION_FAILED"},
		{"missing topic", func(s *KafkaSettings) { s.Topic = "no-such-topic" }, ClassNotFound, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"unreachable", func(s *KafkaSettings) { s.Brokers = []string{closedAddr(t)} }, ClassConnect, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := k.settings()
			tc.edit(set)
			w := newWriter(t, set, Options{Timeout: 2 * time.Second})
			err := w.Test(context.Background())
			t.Logf("test: %v", err)
			wantClass(t, err, tc.class, tc.want, set.SASL.Password)
			err = w.Write(context.Background(), doc)
			t.Logf("write: %v", err)
			wantClass(t, err, tc.class, "", set.SASL.Password)
		})
	}
}

// selfSigned makes a CA-signed certificate for 127.0.0.1 and returns
// the server's TLS config and the CA's PEM.
func selfSigned(t testing.TB) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wearlink test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caPEM
}

func TestKafkaTLS(t *testing.T) {
	srvTLS, caPEM := selfSigned(t)
	const topic, user, pass = "wearlink-tls", "wearlink", "kafka-secret-0123"
	c, err := kfake.NewCluster(kfake.SeedTopics(1, topic), kfake.TLS(srvTLS),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", user, pass))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	set := &KafkaSettings{Brokers: c.ListenAddrs(), Topic: topic, TLS: true, TLSCAPEM: caPEM,
		SASL: &KafkaSASL{Mechanism: SASLScramSHA512, Username: user, Password: pass}}
	w := newWriter(t, set)
	if err := w.Test(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), goldenDocs(t, "sim-user0")[0]); err != nil {
		t.Fatal(err)
	}
	// Without the CA the brokers' certificate is not trusted.
	set.TLSCAPEM = ""
	err = newWriter(t, set, Options{Timeout: 2 * time.Second}).Test(context.Background())
	t.Logf("untrusted: %v", err)
	wantClass(t, err, ClassTLS, "certificate", pass)
}
