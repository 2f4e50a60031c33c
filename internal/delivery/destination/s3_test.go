package destination

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/wearlink/wearlink/internal/delivery/destination/desttest"
	"github.com/wearlink/wearlink/internal/health"
)

const (
	s3RoKey = "AKIAREADONLY"
	s3RoSec = "read-only-secret-0123456789"
)

// s3Server is desttest's S3 server (gofakes3 serving real S3 HTTP on
// 127.0.0.1 behind an AWS Signature V4 check, restartable with its
// data), with a read-only key besides its own.
type s3Server struct{ *desttest.S3 }

func startS3(t testing.TB) *s3Server {
	t.Helper()
	s := desttest.StartS3(t)
	s.AddUser(s3RoKey, s3RoSec, true)
	return &s3Server{s}
}

func (s *s3Server) stop()  { s.Stop() }
func (s *s3Server) start() { s.Start() }

func (s *s3Server) settings() *S3Settings {
	return &S3Settings{Endpoint: "http://" + s.Addr, Region: "us-east-1", Bucket: s.Bucket, Prefix: "export/wearlink",
		PathStyle: true, AccessKeyID: s.Key, SecretAccessKey: s.Secret}
}

func (s *s3Server) client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Addr, &minio.Options{Creds: credentials.NewStaticV4(s.Key, s.Secret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// objects lists every object of the bucket through the S3 API, with
// their metadata.
func (s *s3Server) objects(t testing.TB) map[string]minio.ObjectInfo {
	t.Helper()
	out := map[string]minio.ObjectInfo{}
	for o := range s.client(t).ListObjects(context.Background(), s.Bucket, minio.ListObjectsOptions{Recursive: true, WithMetadata: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out[o.Key] = o
	}
	return out
}

func (s *s3Server) body(t testing.TB, key string) ([]byte, http.Header) {
	t.Helper()
	o, err := s.client(t).GetObject(context.Background(), s.Bucket, key, minio.GetObjectOptions{})
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
	wantClass(t, outage(t, w, docs, srv.stop, srv.start), ClassConnect, "connection refused", srv.Secret)
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
