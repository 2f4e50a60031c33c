package destination

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// Class says what kind of failure an *Error is. The transport classes
// carry the same names as a webhook attempt's error class, so the
// delivery layer can store either.
//
// The policy: every class but ClassInvalid is retried on the delivery
// schedule, because each can be fixed by the client or heals by itself
// while the outbox waits: a destination that is down comes back, a
// missing bucket or topic gets created, a wrong key or a missing grant
// gets corrected. ClassAuth, ClassPermission and ClassNotFound are the
// "rejected" classes: nothing changes until someone acts, so they are
// the ones to show in the dashboard and to name in the "delivery
// rejected" event once the retries run out. ClassInvalid means the
// destination refused this document itself (too large, not storable):
// another attempt gets the same answer, so it becomes a dead letter at
// once.
type Class string

const (
	ClassDNS     Class = "dns"
	ClassConnect Class = "connect"
	ClassTLS     Class = "tls"
	ClassTimeout Class = "timeout"
	// ClassUnavailable: the destination answered but cannot take writes
	// now (an S3 5xx, a Kafka broker without a leader, PostgreSQL shutting
	// down or out of connections).
	ClassUnavailable Class = "unavailable"
	// ClassAuth: the credentials were refused.
	ClassAuth Class = "auth"
	// ClassPermission: the credentials are valid but lack a grant.
	ClassPermission Class = "permission"
	// ClassNotFound: the bucket, topic, database or schema does not exist.
	ClassNotFound Class = "not_found"
	// ClassInvalid: the destination refused this document.
	ClassInvalid Class = "invalid"
)

// Rejected reports whether c needs the client to act on the destination.
func (c Class) Rejected() bool {
	return c == ClassAuth || c == ClassPermission || c == ClassNotFound
}

// Retryable reports whether another attempt may succeed.
func (c Class) Retryable() bool { return c != ClassInvalid }

// Error is a failed Write or Test.
type Error struct {
	Class Class
	// Kind is the destination kind; Op what was being done ("put object",
	// "produce", "upsert", ...).
	Kind string
	Op   string
	// Message is the destination's own message, without secrets.
	Message string
	err     error
}

func (e *Error) Error() string { return e.Kind + " " + e.Op + ": " + e.Message }

// Unwrap gives the underlying error of the client library.
func (e *Error) Unwrap() error { return e.err }

// ClassOf returns the class of the first *Error in err's chain, ""
// for nil and ClassConnect for any other error.
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassConnect
}

// newError builds an *Error, its message scrubbed of secrets.
func newError(kind, op string, class Class, err error, secrets []string) *Error {
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	return &Error{Class: class, Kind: kind, Op: op, Message: scrub(msg, secrets), err: err}
}

// NetClass classifies a transport error (DNS, TLS, timeout, refused or
// lost connection) with the classes a webhook attempt records; ok is
// false when err is not one. The delivery layer classifies a failed
// webhook POST with it too, after its blocked-address case.
func NetClass(err error) (Class, bool) {
	var de *net.DNSError
	var ne net.Error
	var oe *net.OpError
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var ae tls.AlertError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &de):
		return ClassDNS, true
	case errors.As(err, &cv), errors.As(err, &rh), errors.As(err, &ae), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci),
		strings.Contains(err.Error(), "tls: "):
		return ClassTLS, true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ClassTimeout, true
	case errors.As(err, &oe), errors.Is(err, net.ErrClosed):
		return ClassConnect, true
	}
	s := err.Error()
	if strings.Contains(s, "connection refused") || strings.Contains(s, "connection reset") ||
		strings.Contains(s, "broken pipe") || strings.Contains(s, "EOF") {
		return ClassConnect, true
	}
	return "", false
}
