package destination

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// S3Settings configure an s3 destination: any S3-compatible object
// store.
type S3Settings struct {
	// Endpoint is the store's URL ("https://s3.eu-west-1.amazonaws.com",
	// "http://minio.internal:9000"); a bare host[:port] means https.
	Endpoint string `json:"endpoint"`
	// Region is the bucket's region; empty asks the store.
	Region string `json:"region,omitempty"`
	Bucket string `json:"bucket"`
	// Prefix is prepended to every object key ("" for none).
	Prefix string `json:"prefix,omitempty"`
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// rather than in the host name (bucket.endpoint/key), as most
	// self-hosted stores need.
	PathStyle       bool   `json:"path_style,omitempty"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	// SessionToken is for temporary credentials.
	SessionToken string `json:"session_token,omitempty"`
}

// Kind implements Settings.
func (s *S3Settings) Kind() string { return KindS3 }

// Validate implements Settings.
func (s *S3Settings) Validate() error {
	if _, _, err := s.endpoint(); err != nil {
		return invalidf(KindS3, "endpoint: %v", err)
	}
	if err := s3utils.CheckValidBucketNameStrict(s.Bucket); err != nil {
		return invalidf(KindS3, "bucket %q: %v", s.Bucket, err)
	}
	p := strings.Trim(s.Prefix, "/")
	if len(p) > 512 || strings.Contains(p, "//") || strings.ContainsAny(p, "\\\x00") {
		return invalidf(KindS3, "prefix %q must be at most 512 characters of path segments", s.Prefix)
	}
	if s.AccessKeyID == "" || s.SecretAccessKey == "" {
		return invalidf(KindS3, "access_key_id and secret_access_key are required")
	}
	return nil
}

// Redacted implements Settings.
func (s *S3Settings) Redacted() Settings {
	c := *s
	c.SecretAccessKey, c.SessionToken = "", ""
	return &c
}

// KeepSecrets implements Settings.
func (s *S3Settings) KeepSecrets(prev Settings) {
	if p, ok := prev.(*S3Settings); ok && s.SecretAccessKey == "" {
		s.SecretAccessKey = p.SecretAccessKey
		if s.SessionToken == "" {
			s.SessionToken = p.SessionToken
		}
	}
}

// endpoint splits Endpoint into minio's host[:port] and TLS flag.
func (s *S3Settings) endpoint() (host string, secure bool, err error) {
	e := strings.TrimSpace(s.Endpoint)
	if e == "" {
		return "", false, errors.New("is required")
	}
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil {
		return "", false, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, errors.New("must be an http or https URL")
	}
	if u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return "", false, errors.New("must be a URL of a host without user, path or query")
	}
	return u.Host, u.Scheme == "https", nil
}

// ObjectKey is where an s3 destination puts d:
// {prefix}/{client_uuid}/{structure}/{user_id}/{day}/{key}.v{version}.json,
// each part escaped so it stays one path segment; a document without a
// day goes under "_".
func ObjectKey(prefix string, d Doc) string {
	day := d.Day
	if day == "" {
		day = "_"
	}
	parts := []string{
		segment(d.ClientUUID), segment(d.Structure()), segment(d.UserID), segment(day),
		segment(d.Key) + ".v" + strconv.Itoa(d.Version) + ".json",
	}
	if p := strings.Trim(prefix, "/"); p != "" {
		parts = append([]string{p}, parts...)
	}
	return strings.Join(parts, "/")
}

type s3Writer struct {
	set     S3Settings
	opt     Options
	client  *minio.Client
	tr      *http.Transport
	secrets []string
}

func newS3(set S3Settings, opt Options) (*s3Writer, error) {
	host, secure, _ := set.endpoint()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = opt.DialContext
	tr.Proxy = nil
	tr.ResponseHeaderTimeout = opt.Timeout
	lookup := minio.BucketLookupAuto
	if set.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(set.AccessKeyID, set.SecretAccessKey, set.SessionToken),
		Secure:       secure,
		Region:       set.Region,
		BucketLookup: lookup,
		Transport:    tr,
		// The delivery schedule is the retry policy.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, invalidf(KindS3, "%v", err)
	}
	c.SetAppInfo(opt.ClientID, "")
	return &s3Writer{set: set, opt: opt, client: c, tr: tr, secrets: nonEmpty(set.SecretAccessKey, set.SessionToken)}, nil
}

// Write puts d at its ObjectKey. The body of a version never changes, so
// a retried put writes the same bytes at the same key.
func (w *s3Writer) Write(ctx context.Context, d Doc) error {
	if err := d.Validate(); err != nil {
		return newError(KindS3, "put object", ClassInvalid, err, nil)
	}
	return w.put(ctx, ObjectKey(w.set.Prefix, d), d.Body, map[string]string{
		"Document-Version": strconv.Itoa(d.Version),
		"Data-Structure":   d.DataStructure,
		"Webhook-Id":       d.WebhookID,
	}, "put object")
}

// testObject is the object Test writes: outside every client's folder,
// the same bytes every time.
const testObject = ".wearlink-test.json"

// Test puts a small object next to the clients' folders: S3 has no
// dry run, and only a write shows that the credentials may write.
func (w *s3Writer) Test(ctx context.Context) error {
	key := testObject
	if p := strings.Trim(w.set.Prefix, "/"); p != "" {
		key = p + "/" + key
	}
	return w.put(ctx, key, []byte(`{"wearlink":"destination test"}`), nil, "test")
}

func (w *s3Writer) put(ctx context.Context, key string, body []byte, meta map[string]string, op string) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	_, err := w.client.PutObject(ctx, w.set.Bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		ContentType: "application/json", UserMetadata: meta, DisableMultipart: true, SendContentMd5: true,
	})
	if err != nil {
		class := s3Class(err)
		if code := minio.ToErrorResponse(err).Code; code != "" && !strings.Contains(err.Error(), code) {
			err = fmt.Errorf("%s: %w", code, err)
		}
		return newError(KindS3, op, class, err, w.secrets)
	}
	return nil
}

func (w *s3Writer) Close() error {
	w.tr.CloseIdleConnections()
	return nil
}

// s3Class classifies an error of minio-go.
func s3Class(err error) Class {
	r := minio.ToErrorResponse(err)
	switch r.Code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired",
		"AuthorizationHeaderMalformed", "InvalidSecurity", "InvalidClientTokenId":
		return ClassAuth
	case "AccessDenied", "AllAccessDisabled", "AccountProblem":
		return ClassPermission
	case "NoSuchBucket":
		return ClassNotFound
	case "EntityTooLarge", "InvalidDigest", "BadDigest", "InvalidArgument", "KeyTooLongError", "MetadataTooLarge":
		return ClassInvalid
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout":
		return ClassUnavailable
	}
	if r.Code != "" || r.StatusCode != 0 {
		switch {
		case r.StatusCode == http.StatusUnauthorized:
			return ClassAuth
		case r.StatusCode == http.StatusForbidden:
			return ClassPermission
		case r.StatusCode == http.StatusNotFound:
			return ClassNotFound
		}
		return ClassUnavailable
	}
	if c, ok := NetClass(err); ok {
		return c
	}
	return ClassConnect
}
