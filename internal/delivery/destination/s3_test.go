package destination

import (
	"bytes"
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

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/wearlink/wearlink/internal/health"
)

const (
	s3Bucket = "wearlink-docs"
	s3Key    = "AKIAWEARLINKTEST"
	s3Secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
	s3RoKey  = "AKIAREADONLY"
	s3RoSec  = "read-only-secret-0123456789"
)

// s3Server is gofakes3 serving real S3 HTTP on 127.0.0.1, behind a check
// of the requests' AWS Signature V4 (gofakes3 checks none), and
// restartable on the same address with the same data.
type s3Server struct {
	t       testing.TB
	backend *s3mem.Backend
	handler http.Handler
	addr    string
	srv     *httptest.Server
	mu      sync.Mutex
}

type s3User struct {
	secret   string
	readOnly bool
}

func startS3(t testing.TB) *s3Server {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(s3Bucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(be, gofakes3.WithTimeSkewLimit(0))
	s := &s3Server{t: t, backend: be}
	s.handler = &sigV4{users: map[string]s3User{s3Key: {secret: s3Secret}, s3RoKey: {secret: s3RoSec, readOnly: true}}, next: fake.Server()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *s3Server) serve(ln net.Listener) {
	srv := httptest.NewUnstartedServer(s.handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

func (s *s3Server) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

func (s *s3Server) start() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(ln)
}

func (s *s3Server) settings() *S3Settings {
	return &S3Settings{Endpoint: "http://" + s.addr, Region: "us-east-1", Bucket: s3Bucket, Prefix: "export/wearlink",
		PathStyle: true, AccessKeyID: s3Key, SecretAccessKey: s3Secret}
}

// objects reads every object of the bucket back through the S3 API.
func (s *s3Server) objects(t testing.TB) map[string]minio.ObjectInfo {
	t.Helper()
	c, err := minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(s3Key, s3Secret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]minio.ObjectInfo{}
	for o := range c.ListObjects(context.Background(), s3Bucket, minio.ListObjectsOptions{Recursive: true, WithMetadata: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out[o.Key] = o
	}
	return out
}

func (s *s3Server) body(t testing.TB, key string) ([]byte, http.Header) {
	t.Helper()
	c, _ := minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(s3Key, s3Secret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	o, err := c.GetObject(context.Background(), s3Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	st, _ := o.Stat()
	return b, st.Metadata
}

// sigV4 checks AWS Signature Version 4 as S3 does, answering S3's own
// errors: an unknown key, a signature made with another secret, and a
// write by a read-only user.
type sigV4 struct {
	users map[string]s3User
	next  http.Handler
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>test</RequestId></Error>`, code, msg)
}

func (a *sigV4) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		s3Error(w, http.StatusForbidden, "AccessDenied", "Anonymous access is forbidden.")
		return
	}
	akid, date, region, signed, got := m[1], m[2], m[3], m[4], m[5]
	u, ok := a.users[akid]
	if !ok {
		s3Error(w, http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
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
	scope := date + "/" + region + "/s3/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+u.secret), date), region), "s3"), "aws4_request")
	if !hmac.Equal([]byte(hex.EncodeToString(mac(key, sts))), []byte(got)) {
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		return
	}
	if u.readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	a.next.ServeHTTP(w, r)
}

// sleepEdit changes a sleep summary's duration, so versions differ.
func sleepEdit(d health.Doc) {
	if s, ok := d.(*health.SleepSummaryDocument); ok && s.Summary.Duration.SleepDurationSeconds != nil {
		v := *s.Summary.Duration.SleepDurationSeconds + 60
		s.Summary.Duration.SleepDurationSeconds = &v
	}
}

func TestS3WritesOneObjectPerVersion(t *testing.T) {
	srv := startS3(t)
	w := newWriter(t, srv.settings())
	if err := w.Test(context.Background()); err != nil {
		t.Fatal(err)
	}
	docs := goldenDocs(t, "sim-user0", "real-2024-12", "seed003")
	var all []Doc
	for i, d := range docs {
		all = append(all, d)
		if i%3 == 0 {
			all = append(all, bump(t, d, 2, sleepEdit))
		}
	}
	if failed, err := writeAll(t, w, all); len(failed) > 0 {
		t.Fatalf("%d writes failed: %v", len(failed), err)
	}
	// Retrying every write is harmless: the same bytes at the same keys.
	if failed, err := writeAll(t, w, all); len(failed) > 0 {
		t.Fatalf("%d rewrites failed: %v", len(failed), err)
	}

	objs := srv.objects(t)
	if _, ok := objs["export/wearlink/"+testObject]; !ok {
		t.Errorf("Test left no %s", testObject)
	}
	if got, want := len(objs)-1, len(all); got != want {
		t.Fatalf("%d document objects, want one per version: %d", got, want)
	}
	for _, d := range all {
		key := ObjectKey("export/wearlink", d)
		if _, ok := objs[key]; !ok {
			t.Fatalf("no object %s for %s", key, docID(d))
		}
		body, meta := srv.body(t, key)
		if !bytes.Equal(body, d.Body) {
			t.Fatalf("object %s differs from the document", key)
		}
		if meta.Get("X-Amz-Meta-Document-Version") != fmt.Sprint(d.Version) || meta.Get("X-Amz-Meta-Webhook-Id") != d.WebhookID ||
			meta.Get("X-Amz-Meta-Data-Structure") != d.DataStructure {
			t.Fatalf("object %s metadata %v", key, meta)
		}
	}
}

func TestS3ObjectKey(t *testing.T) {
	d := Doc{ClientUUID: "c1", UserID: "u-1", Pillar: health.PillarSleep, DataStructure: "sleep_summary", Day: "2024-03-25",
		Key: "workout:@2022-10-31T18:38:00+00:00", Version: 3}
	if got, want := ObjectKey("/a/b/", d), "a/b/c1/sleep_summary/u-1/2024-03-25/workout:@2022-10-31T18:38:00+00:00.v3.json"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	d.Key, d.Day, d.Pillar, d.DataStructure = "x/y", "", health.PillarBody, health.HeartRateEvent
	if got, want := ObjectKey("", d), "c1/body_heart_rate_event/u-1/_/x%2Fy.v3.json"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestS3RestartLosesNothing(t *testing.T) {
	srv := startS3(t)
	w := newWriter(t, srv.settings())
	docs := goldenDocs(t, "sim-user0")
	wantClass(t, outage(t, w, docs, srv.stop, srv.start), ClassConnect, "connection refused", s3Secret)
	objs := srv.objects(t)
	for _, d := range docs {
		if _, ok := objs[ObjectKey("export/wearlink", d)]; !ok {
			t.Errorf("lost %s", docID(d))
		}
	}
}

func TestS3Rejections(t *testing.T) {
	srv := startS3(t)
	doc := goldenDocs(t, "sim-user0")[0]
	for _, tc := range []struct {
		name  string
		edit  func(*S3Settings)
		class Class
		want  string
	}{
		{"wrong secret", func(s *S3Settings) { s.SecretAccessKey = "not-the-secret-key" }, ClassAuth, "SignatureDoesNotMatch"},
		{"unknown key", func(s *S3Settings) { s.AccessKeyID = "AKIANOBODY" }, ClassAuth, "Access Key Id you provided does not exist"},
		{"read-only key", func(s *S3Settings) { s.AccessKeyID, s.SecretAccessKey = s3RoKey, s3RoSec }, ClassPermission, "Access Denied"},
		{"missing bucket", func(s *S3Settings) { s.Bucket = "no-such-bucket" }, ClassNotFound, "bucket does not exist"},
		{"unreachable", func(s *S3Settings) { s.Endpoint = "http://" + closedAddr(t) }, ClassConnect, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := srv.settings()
			tc.edit(set)
			w := newWriter(t, set)
			err := w.Test(context.Background())
			wantClass(t, err, tc.class, tc.want, set.SecretAccessKey)
			t.Logf("test: %v", err)
			wantClass(t, w.Write(context.Background(), doc), tc.class, tc.want, set.SecretAccessKey)
		})
	}
	if n := len(srv.objects(t)); n != 0 {
		t.Fatalf("%d objects written by rejected writers", n)
	}
}
