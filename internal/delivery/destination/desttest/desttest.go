// Package desttest starts, for tests, servers that speak the protocols of
// the destination kinds on 127.0.0.1: gofakes3 serving real S3 HTTP
// behind an AWS Signature V4 check, franz-go's kfake broker with SASL,
// and a TCP proxy that can stop and start in front of any server (a
// PostgreSQL for instance). Each can be stopped and started again on the
// same address with its data, as a restarted server would be: the port is
// held for the whole test, and connections to it are reset while the
// server is down (refused, as by a host where nothing listens).
//
// It imports nothing of wearlink, so the tests of any package can use it.
package desttest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// S3 is an S3-compatible server with one bucket and one key pair.
type S3 struct {
	t       testing.TB
	Addr    string
	Bucket  string
	Key     string
	Secret  string
	handler http.Handler
	sig     *sigV4
	port    *keptPort
	mu      sync.Mutex
	srv     *httptest.Server
}

// AddUser adds a key pair; a read-only one may read but not write, as a
// key without the write grant.
func (s *S3) AddUser(key, secret string, readOnly bool) {
	s.sig.mu.Lock()
	s.sig.users[key] = s3User{secret: secret, readOnly: readOnly}
	s.sig.mu.Unlock()
}

// StartS3 starts an S3 server, stopped when the test ends.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	s := &S3{t: t, Bucket: "wearlink-e2e", Key: "AKIAWEARLINKE2E", Secret: "e2e-secret-key-0123456789"}
	be := s3mem.New()
	if err := be.CreateBucket(s.Bucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(be, gofakes3.WithTimeSkewLimit(0))
	s.sig = &sigV4{users: map[string]s3User{s.Key: {secret: s.Secret}}, next: fake.Server()}
	s.handler = s.sig
	s.port = keepPort(t)
	s.Addr = s.port.Addr()
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start serves again on the same address.
func (s *S3) Start() {
	srv := httptest.NewUnstartedServer(s.handler)
	srv.Listener.Close()
	srv.Listener = s.port.mustListen(s.t)
	srv.Start()
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

// Stop closes the server and its connections; the objects stay.
func (s *S3) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// Objects reads every object of the bucket back through the S3 API.
func (s *S3) Objects(t testing.TB) map[string][]byte {
	t.Helper()
	c, err := minio.New(s.Addr, &minio.Options{Creds: credentials.NewStaticV4(s.Key, s.Secret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := map[string][]byte{}
	for o := range c.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		r, err := c.GetObject(ctx, s.Bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatalf("get %s: %v", o.Key, err)
		}
		out[o.Key] = b
	}
	return out
}

// sigV4 checks AWS Signature Version 4 as S3 does (gofakes3 checks none)
// and answers S3's own errors for an unknown key, a wrong secret and a
// write with a read-only key.
type sigV4 struct {
	mu    sync.Mutex
	users map[string]s3User
	hold  *Hold
	next  http.Handler
}

type s3User struct {
	secret   string
	readOnly bool
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)

func s3Error(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>e2e</RequestId></Error>`, code, msg)
}

func (a *sigV4) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		s3Error(w, "AccessDenied", "Anonymous access is forbidden.")
		return
	}
	akid, date, region, signed, got := m[1], m[2], m[3], m[4], m[5]
	a.mu.Lock()
	u, ok := a.users[akid]
	a.mu.Unlock()
	secret := u.secret
	if !ok {
		s3Error(w, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
		return
	}
	var canon strings.Builder
	for _, h := range strings.Split(signed, ";") {
		v := r.Host
		if h != "host" {
			v = strings.Join(r.Header.Values(h), ",")
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	creq := strings.Join([]string{r.Method, s3utils.EncodePath(r.URL.Path),
		strings.ReplaceAll(r.URL.Query().Encode(), "+", "%20"), canon.String(), signed,
		r.Header.Get("X-Amz-Content-Sha256")}, "\n")
	sum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + date + "/" + region + "/s3/aws4_request\n" + hex.EncodeToString(sum[:])
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+secret), date), region), "s3"), "aws4_request")
	if !hmac.Equal([]byte(hex.EncodeToString(mac(key, sts))), []byte(got)) {
		s3Error(w, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		return
	}
	if u.readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		s3Error(w, "AccessDenied", "Access Denied")
		return
	}
	if a.held(w, r) {
		return
	}
	a.next.ServeHTTP(w, r)
}

// Kafka is a Kafka-protocol broker with one topic and one SCRAM-SHA-256
// superuser, kept on disk so that a restart keeps the records.
type Kafka struct {
	t          testing.TB
	Addr       string
	Topic      string
	User       string
	Pass       string
	Partitions int32
	dir        string
	port       *keptPort
	opts       []kfake.Opt
	c          *kfake.Cluster
}

// StartKafka starts a broker, stopped when the test ends; opts add to its
// options (more users, ACLs).
func StartKafka(t testing.TB, opts ...kfake.Opt) *Kafka {
	t.Helper()
	port := keepPort(t)
	k := &Kafka{t: t, Addr: port.Addr(), Topic: "wearlink-e2e", User: "wearlink", Pass: "kafka-e2e-secret",
		Partitions: 3, dir: t.TempDir(), port: port, opts: opts}
	k.Start()
	t.Cleanup(k.Stop)
	return k
}

// Start starts the broker on its port with the records it had. The
// broker listens on the port the test holds, not one it binds itself.
func (k *Kafka) Start() {
	listen := func(string, string) (net.Listener, error) { return k.port.listen() }
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.ListenFn(listen), kfake.DataDir(k.dir), kfake.SyncWrites(),
		kfake.SeedTopics(k.Partitions, k.Topic), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("SCRAM-SHA-256", k.User, k.Pass)}, k.opts...)...)
	if err != nil {
		k.t.Fatal(err)
	}
	k.c = c
}

// Stop closes the broker.
func (k *Kafka) Stop() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}

// Records consumes the whole topic up to the partitions' end offsets, as
// they are when it is called.
func (k *Kafka) Records(t testing.TB) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.SASL(scram.Auth{User: k.User, Pass: k.Pass}.AsSha256Mechanism()),
		kgo.ConsumeTopics(k.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = k.Topic
	for p := range k.Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1 // the end
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, tp := range resp.Topics {
		for _, pp := range tp.Partitions {
			if err := kerr.ErrorForCode(pp.ErrorCode); err != nil {
				t.Fatalf("end offset of partition %d: %v", pp.Partition, err)
			}
			total += pp.Offset
		}
	}
	var out []*kgo.Record
	for int64(len(out)) < total {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d records, want the %d the partitions hold", len(out), total)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatalf("consume: %v", errs[0].Err)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// Header is the value of a record's header, "" when it has none.
func Header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Proxy forwards TCP connections to a server. Stop closes every
// connection and resets new ones, as the server going down would; Start
// forwards again on the same address.
type Proxy struct {
	t      testing.TB
	target string
	Addr   string
	port   *keptPort

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// NewProxy starts a proxy to target, stopped when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	p := &Proxy{t: t, target: target, conns: map[net.Conn]bool{}, port: keepPort(t)}
	p.Addr = p.port.Addr()
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln { // stopped meanwhile
				p.mu.Unlock()
				c.Close()
				up.Close()
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				defer p.wg.Done()
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			p.wg.Add(2)
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
}

// Stop detaches the listener and closes every connection.
func (p *Proxy) Stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	p.mu.Unlock()
	p.wg.Wait()
}

// Start forwards on the same address again.
func (p *Proxy) Start() { p.serve(p.port.mustListen(p.t)) }
