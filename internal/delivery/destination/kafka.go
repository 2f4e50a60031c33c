package destination

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms of a kafka destination.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// KafkaSettings configure a kafka destination: one topic of a cluster
// that speaks the Kafka protocol.
type KafkaSettings struct {
	// Brokers are seed brokers, host:port.
	Brokers []string `json:"brokers"`
	Topic   string   `json:"topic"`
	// TLS turns TLS on. TLSCAPEM adds trusted CA certificates (PEM) to
	// the system's; TLSServerName overrides the name checked in the
	// brokers' certificates.
	TLS           bool   `json:"tls,omitempty"`
	TLSCAPEM      string `json:"tls_ca_pem,omitempty"`
	TLSServerName string `json:"tls_server_name,omitempty"`
	// SASL authenticates the connections when set.
	SASL *KafkaSASL `json:"sasl,omitempty"`
}

// KafkaSASL are SASL credentials.
type KafkaSASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string `json:"mechanism"`
	Username  string `json:"username"`
	Password  string `json:"password,omitempty"`
}

// Kind implements Settings.
func (s *KafkaSettings) Kind() string { return KindKafka }

// Validate implements Settings.
func (s *KafkaSettings) Validate() error {
	if len(s.Brokers) == 0 {
		return invalidf(KindKafka, "brokers are required")
	}
	for _, b := range s.Brokers {
		if err := hostPort(b); err != nil {
			return invalidf(KindKafka, "broker %q must be host:port", b)
		}
	}
	if !validTopic(s.Topic) {
		return invalidf(KindKafka, "topic %q must be 1 to 249 letters, digits, '.', '_' or '-'", s.Topic)
	}
	if s.TLSCAPEM != "" {
		if !s.TLS {
			return invalidf(KindKafka, "tls_ca_pem needs tls")
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(s.TLSCAPEM)) {
			return invalidf(KindKafka, "tls_ca_pem holds no PEM certificate")
		}
	}
	if s.TLSServerName != "" && !s.TLS {
		return invalidf(KindKafka, "tls_server_name needs tls")
	}
	if a := s.SASL; a != nil {
		switch a.Mechanism {
		case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		default:
			return invalidf(KindKafka, "sasl mechanism %q must be %s, %s or %s", a.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512)
		}
		if a.Username == "" || a.Password == "" {
			return invalidf(KindKafka, "sasl username and password are required")
		}
	}
	return nil
}

// validTopic is Kafka's rule for topic names.
func validTopic(t string) bool {
	if t == "" || len(t) > 249 || t == "." || t == ".." {
		return false
	}
	for _, c := range []byte(t) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Redacted implements Settings.
func (s *KafkaSettings) Redacted() Settings {
	c := *s
	c.Brokers = append([]string(nil), s.Brokers...)
	if s.SASL != nil {
		a := *s.SASL
		a.Password = ""
		c.SASL = &a
	}
	return &c
}

// KeepSecrets implements Settings.
func (s *KafkaSettings) KeepSecrets(prev Settings) {
	p, ok := prev.(*KafkaSettings)
	if !ok || s.SASL == nil || p.SASL == nil || s.SASL.Password != "" {
		return
	}
	s.SASL.Password = p.SASL.Password
}

// RecordKey is the key of d's record:
// {client_uuid}/{user_id}/{structure}/{day}/{key}, the same for every
// version of a document, so a compacted topic keeps the last one
// written.
func RecordKey(d Doc) string {
	return strings.Join([]string{
		segment(d.ClientUUID), segment(d.UserID), segment(d.Structure()), segment(d.Day), segment(d.Key),
	}, "/")
}

// Record headers of a kafka destination.
const (
	HeaderDocumentVersion = "document_version"
	HeaderDataStructure   = "data_structure"
	HeaderPillar          = "pillar"
	HeaderWebhookID       = "webhook-id"
)

type kafkaWriter struct {
	set     KafkaSettings
	opt     Options
	client  *kgo.Client
	secrets []string
	sasl    saslWatch
}

// saslWatch remembers a connection lost during SASL authentication. Kafka
// answers wrong credentials with SASL_AUTHENTICATION_FAILED, but brokers
// that authenticate through the v0 handshake, and some other
// implementations, just close the connection: to the client that is an
// EOF like any outage, unless it happened while authenticating.
type saslWatch struct{ last atomic.Pointer[string] }

// OnBrokerRead implements kgo.HookBrokerRead.
func (s *saslWatch) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil && (key == int16(kmsg.SASLAuthenticate) || key == int16(kmsg.SASLHandshake)) {
		msg := err.Error()
		s.last.Store(&msg)
	}
}

// fail builds the *Error of a failed op.
func (w *kafkaWriter) fail(op string, err error) error {
	c := kafkaClass(err)
	if m := w.sasl.last.Load(); m != nil && (c == ClassConnect || c == ClassTimeout) {
		err = fmt.Errorf("SASL authentication failed: the broker closed the connection while authenticating; check the mechanism, user name and password (%w)", err)
		c = ClassAuth
	}
	return newError(KindKafka, op, c, err, w.secrets)
}

func newKafka(set KafkaSettings, opt Options) (*kafkaWriter, error) {
	dial := opt.DialContext
	if set.TLS {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: set.TLSServerName}
		if set.TLSCAPEM != "" {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			pool.AppendCertsFromPEM([]byte(set.TLSCAPEM))
			cfg.RootCAs = pool
		}
		dial = tlsDialer(opt.DialContext, cfg)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(set.Brokers...),
		kgo.DefaultProduceTopic(set.Topic),
		kgo.ClientID(opt.ClientID),
		kgo.Dialer(dial),
		kgo.DialTimeout(opt.Timeout),
		// The producer stays idempotent (franz-go's default): within the
		// client, a batch retried after a lost response is written once.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// A record times out a little before Write gives up, so that Write
		// reports the client's last error rather than its own deadline.
		kgo.RecordDeliveryTimeout(opt.Timeout * 4 / 5),
		kgo.ProduceRequestTimeout(opt.Timeout),
		kgo.RetryTimeout(opt.Timeout),
		kgo.UnknownTopicRetries(2),
		kgo.ProducerLinger(0),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.WithLogger(kgoLogger{opt}),
	}
	wr := &kafkaWriter{set: set, opt: opt}
	opts = append(opts, kgo.WithHooks(&wr.sasl))
	if a := set.SASL; a != nil {
		var m sasl.Mechanism
		switch a.Mechanism {
		case SASLPlain:
			m = plain.Auth{User: a.Username, Pass: a.Password}.AsMechanism()
		case SASLScramSHA256:
			m = scram.Auth{User: a.Username, Pass: a.Password}.AsSha256Mechanism()
		case SASLScramSHA512:
			m = scram.Auth{User: a.Username, Pass: a.Password}.AsSha512Mechanism()
		}
		opts = append(opts, kgo.SASL(m))
		wr.secrets = nonEmpty(a.Password)
	}
	c, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, invalidf(KindKafka, "%v", err)
	}
	wr.client = c
	return wr, nil
}

// tlsDialer wraps dial in a TLS client handshake; the server name
// defaults to the broker's host.
func tlsDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), cfg *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c := cfg.Clone()
		if c.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			c.ServerName = host
		}
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(conn, c)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
}

// Write produces one record for d and waits for the brokers to
// acknowledge it. When ctx ends first, Write returns and the record stays
// in the client's buffer: it may still be written, which a retry of the
// same version makes harmless (the same key, headers and value).
func (w *kafkaWriter) Write(ctx context.Context, d Doc) error {
	if err := d.Validate(); err != nil {
		return newError(KindKafka, "produce", ClassInvalid, err, nil)
	}
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	rec := &kgo.Record{
		Key:   []byte(RecordKey(d)),
		Value: d.Body,
		Headers: []kgo.RecordHeader{
			{Key: HeaderDocumentVersion, Value: []byte(strconv.Itoa(d.Version))},
			{Key: HeaderDataStructure, Value: []byte(d.DataStructure)},
			{Key: HeaderPillar, Value: []byte(d.Pillar)},
			{Key: HeaderWebhookID, Value: []byte(d.WebhookID)},
		},
	}
	done := make(chan error, 1)
	// The record's own context is not ctx: once handed to the client, a
	// record is only failed where that is safe for the idempotent
	// sequence, so Write waits for ctx, not for the record.
	w.client.Produce(context.WithoutCancel(ctx), rec, func(_ *kgo.Record, err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			return w.fail("produce", err)
		}
		w.sasl.last.Store(nil)
		return nil
	case <-ctx.Done():
		return w.fail("produce", fmt.Errorf("the brokers did not acknowledge the record in time: %w", ctx.Err()))
	}
}

// ACL operation bits of Kafka's authorized operations.
const aclWrite = 1 << int(kmsg.ACLOperationWrite)

// Test asks the cluster for the topic's metadata and, where the brokers
// report it, whether the credentials may write to it.
func (w *kafkaWriter) Test(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(w.set.Topic)
	req.Topics = append(req.Topics, t)
	req.AllowAutoTopicCreation = false
	req.IncludeTopicAuthorizedOperations = true
	resp, err := req.RequestWith(ctx, w.client)
	if err != nil {
		return w.fail("test", err)
	}
	w.sasl.last.Store(nil)
	if len(resp.Topics) != 1 {
		return newError(KindKafka, "test", ClassUnavailable, errors.New("the cluster answered no topic metadata"), nil)
	}
	rt := resp.Topics[0]
	if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
		return newError(KindKafka, "test", kafkaClass(err), err, w.secrets)
	}
	if ops := rt.AuthorizedOperations; ops != math.MinInt32 && ops&aclWrite == 0 {
		return newError(KindKafka, "test", ClassPermission, kerr.TopicAuthorizationFailed, nil)
	}
	return nil
}

func (w *kafkaWriter) Close() error {
	w.client.Close()
	return nil
}

// kafkaClass classifies an error of franz-go.
func kafkaClass(err error) Class {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		switch ke {
		case kerr.SaslAuthenticationFailed, kerr.UnsupportedSaslMechanism, kerr.IllegalSaslState:
			return ClassAuth
		case kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed, kerr.TransactionalIDAuthorizationFailed,
			kerr.GroupAuthorizationFailed, kerr.DelegationTokenAuthorizationFailed:
			return ClassPermission
		case kerr.UnknownTopicOrPartition, kerr.UnknownTopicID, kerr.InvalidTopicException:
			return ClassNotFound
		case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.CorruptMessage, kerr.InvalidRequiredAcks:
			return ClassInvalid
		}
		return ClassUnavailable
	}
	if c, ok := NetClass(err); ok {
		return c
	}
	if errors.Is(err, kgo.ErrRecordTimeout) {
		return ClassTimeout
	}
	if strings.Contains(err.Error(), "SASL") || strings.Contains(err.Error(), "sasl") {
		return ClassAuth
	}
	return ClassConnect
}

// kgoLogger passes franz-go's warnings and errors to the writer's logger.
type kgoLogger struct{ opt Options }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	args := append([]any{"kind", KindKafka}, keyvals...)
	switch level {
	case kgo.LogLevelError:
		l.opt.Logger.Error(msg, args...)
	case kgo.LogLevelWarn:
		l.opt.Logger.Warn(msg, args...)
	}
}
