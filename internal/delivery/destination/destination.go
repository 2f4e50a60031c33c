// Package destination writes health documents to the systems a client
// runs besides its webhooks: an S3-compatible object store, a Kafka topic
// or its own PostgreSQL database.
//
// A Writer takes one version of one document at a time, exactly as a
// webhook would receive it, so the delivery layer keeps doing what it does
// for endpoints (the outbox, at-least-once attempts, the retry schedule,
// dead letters, replay) and only the transport differs. Every kind makes
// a repeated write of the same version harmless, so a retry after an
// attempt whose outcome was lost never corrupts the destination:
//
//	s3        one object per version; a retry puts the same bytes at the same key
//	kafka     one record per version, keyed by document so a compacted topic
//	          keeps the newest; a retry may append an identical record
//	postgres  one row per document, replaced only by a newer version
//
// Failures are *Error values with a Class that tells the delivery layer
// what went wrong in the destination's own words (see Class).
//
// Choices worth knowing:
//
//   - s3 writes no hourly NDJSON objects. A batch object would have to be
//     rewritten whole whenever one of its documents is retried, replayed
//     or superseded, which breaks the one-attempt-one-document model the
//     retries, dead letters and replay rest on, and turns a harmless
//     retry into a read-modify-write race between workers. Anyone who
//     wants NDJSON can concatenate a day's objects, or use the postgres
//     kind.
//   - Names ROOK uses in two pillars (heart_rate_event, oxygenation_event)
//     are qualified by the pillar in object paths, record keys and view
//     names (Doc.Structure), so the two never overwrite each other.
//   - kafka keeps the newest version under compaction only if versions
//     arrive in order; a replay of an older version appends it after the
//     newer one. Records carry document_version so a consumer can keep
//     the newest, as a webhook receiver does.
//   - Test writes nothing a client would read: s3 puts a fixed
//     .wearlink-test.json beside the clients' folders (S3 has no other
//     way to prove a write grant), kafka asks for the topic's metadata
//     and authorized operations, postgres creates or migrates its table
//     and checks the insert and update grants.
package destination

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// Destination kinds.
const (
	KindS3       = "s3"
	KindKafka    = "kafka"
	KindPostgres = "postgres"
)

// Kinds lists the destination kinds, in the order the documentation
// presents them.
func Kinds() []string { return []string{KindS3, KindKafka, KindPostgres} }

// Doc is one version of one health document on its way to a destination.
type Doc struct {
	ClientUUID    string
	UserID        string
	Pillar        string
	DataStructure string
	// Day is the document's local day (YYYY-MM-DD), "" when it has none.
	Day string
	// Key identifies the document among the user's documents of one data
	// structure and pillar.
	Key     string
	Version int
	// WebhookID is the message id a webhook receives as webhook-id: the
	// same for every attempt and every destination of this version.
	WebhookID string
	// Body is the document exactly as a webhook POST carries it.
	Body []byte
}

// Validate reports an EINVALID error when d lacks what every kind needs.
func (d Doc) Validate() error {
	switch {
	case d.ClientUUID == "", d.UserID == "", d.DataStructure == "", d.Key == "":
		return health.Errorf(health.EINVALID, "document needs client_uuid, user_id, data_structure and key")
	case d.Version < 1:
		return health.Errorf(health.EINVALID, "document_version must be at least 1, got %d", d.Version)
	case !json.Valid(d.Body):
		return health.Errorf(health.EINVALID, "document body is not JSON")
	}
	return nil
}

// Structure is the name a destination files d under: its data_structure,
// qualified by the pillar ("body_heart_rate_event",
// "physical_heart_rate_event") for the names ROOK uses in two pillars, so
// that documents of the two never share an object path, a record key or a
// view.
func (d Doc) Structure() string { return StructureName(d.Pillar, d.DataStructure) }

// StructureName is Doc.Structure for a pillar and a data_structure name.
func StructureName(pillar, dataStructure string) string {
	if pillar == "" || !ambiguous[dataStructure] {
		return dataStructure
	}
	return strings.TrimSuffix(pillar, "_health") + "_" + dataStructure
}

// ambiguous holds the data_structure names filed under more than one pillar.
var ambiguous = func() map[string]bool {
	seen := map[string]string{}
	m := map[string]bool{}
	for _, s := range health.Structures() {
		if p, ok := seen[s.Name]; ok && p != s.Pillar {
			m[s.Name] = true
		}
		seen[s.Name] = s.Pillar
	}
	return m
}()

// Writer delivers documents to one destination. It is safe for
// concurrent use and keeps its connections between calls.
type Writer interface {
	// Write stores one document version. Writing a version again is
	// harmless. A failure is an *Error.
	Write(ctx context.Context, d Doc) error
	// Test checks that the destination can be reached with the settings'
	// credentials and that the bucket, topic or database is there and
	// writable, without writing a document. A failure is an *Error with
	// the system's own message.
	Test(ctx context.Context) error
	// Close releases the writer's connections.
	Close() error
}

// Settings are the settings of one kind of destination. Secrets in them
// are in clear: the store seals them at rest.
type Settings interface {
	// Kind is the destination kind the settings are for.
	Kind() string
	// Validate reports the first problem as an EINVALID error.
	Validate() error
	// Redacted is a copy without secrets, fit for listings and logs.
	Redacted() Settings
	// KeepSecrets fills the secrets left empty from prev (the settings
	// being replaced), so an update need not repeat them; prev of another
	// kind is ignored.
	KeepSecrets(prev Settings)
}

// ParseSettings decodes the JSON settings of a destination of kind,
// rejecting unknown fields, and validates them.
func ParseSettings(kind string, raw []byte) (Settings, error) {
	s, err := DecodeSettings(kind, raw)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// DecodeSettings is ParseSettings without the validation, for an update
// whose secrets come from the settings it replaces (KeepSecrets) before
// it is validated.
func DecodeSettings(kind string, raw []byte) (Settings, error) {
	var s Settings
	switch kind {
	case KindS3:
		s = new(S3Settings)
	case KindKafka:
		s = new(KafkaSettings)
	case KindPostgres:
		s = new(PostgresSettings)
	default:
		return nil, health.Errorf(health.EINVALID, "unknown destination kind %q (want one of %s)", kind, strings.Join(Kinds(), ", "))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return nil, health.Errorf(health.EINVALID, "%s settings: %v", kind, err)
	}
	if dec.More() {
		return nil, health.Errorf(health.EINVALID, "%s settings: trailing data after the object", kind)
	}
	return s, nil
}

// Options are what a writer needs besides its settings. Zero values get
// the defaults noted.
type Options struct {
	// Timeout bounds one Write or Test (default 15 s).
	Timeout time.Duration
	// DialContext opens every network connection of the writer (default a
	// net.Dialer). The delivery layer passes the dialer that applies the
	// webhook address rules, so a destination cannot reach what a webhook
	// may not.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger defaults to a discarding one.
	Logger *slog.Logger
	// ClientID names wearlink to the destination where the protocol has a
	// place for it (default "wearlink").
	ClientID string
}

func (o *Options) fill() {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.DialContext == nil {
		d := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
		o.DialContext = d.DialContext
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ClientID == "" {
		o.ClientID = "wearlink"
	}
}

// New builds the writer of s. It validates s but opens no connection:
// the first Write or Test does.
func New(s Settings, opt Options) (Writer, error) {
	if s == nil {
		return nil, health.Errorf(health.EINVALID, "no destination settings")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	opt.fill()
	switch s := s.(type) {
	case *S3Settings:
		return newS3(*s, opt)
	case *KafkaSettings:
		return newKafka(*s, opt)
	case *PostgresSettings:
		return newPostgres(*s, opt)
	}
	return nil, health.Errorf(health.EINVALID, "unknown destination kind %q", s.Kind())
}

// invalidf is a settings error.
func invalidf(kind, format string, args ...any) error {
	return health.Errorf(health.EINVALID, "%s destination: %s", kind, fmt.Sprintf(format, args...))
}

// hostPort checks a host:port address.
func hostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || port == "" {
		return fmt.Errorf("%q needs a host and a port", addr)
	}
	return nil
}

// segment escapes one path segment of an object key or record key, so a
// "/" in a value never adds a level.
func segment(s string) string { return url.PathEscape(s) }

// scrub removes secrets from a message.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// nonEmpty drops empty strings.
func nonEmpty(ss ...string) []string {
	return slices.DeleteFunc(ss, func(s string) bool { return s == "" })
}
