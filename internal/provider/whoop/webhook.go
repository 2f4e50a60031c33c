package whoop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Notification is the body WHOOP POSTs to the app's webhook URL. It
// carries no data. In model version v2, ID is the sleep or workout UUID,
// and for recovery events the UUID of the recovery's sleep; UserID is an
// integer, read here as text.
type Notification struct {
	UserID  json.Number     `json:"user_id"`
	ID      json.RawMessage `json:"id"`
	Type    string          `json:"type"`
	TraceID string          `json:"trace_id"`
}

// DocumentID is the id as text, whether WHOOP sent a string (v2 UUIDs) or
// a number (v1 ids).
func (n Notification) DocumentID() string { return idText(n.ID) }

// idText is a JSON string's text or a JSON number's digits, "" else: WHOOP
// sends v2 ids as strings and v1 and cycle ids as numbers.
func idText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var num json.Number
	if json.Unmarshal(raw, &num) == nil {
		return num.String()
	}
	return ""
}

// Signature errors.
var (
	ErrSignatureMissing = errors.New("whoop webhook: missing X-WHOOP-Signature or X-WHOOP-Signature-Timestamp")
	ErrSignatureInvalid = errors.New("whoop webhook: signature does not match")
	ErrSignatureStale   = errors.New("whoop webhook: timestamp outside the allowed window")
)

// DefaultTolerance is how far X-WHOOP-Signature-Timestamp may be from the
// receiver's clock: long enough for WHOOP's retries to be slow and clocks
// to drift, short enough that a captured request cannot be replayed later.
const DefaultTolerance = 5 * time.Minute

// Sign computes X-WHOOP-Signature: base64 of HMAC-SHA256 keyed with the
// app's client secret over the timestamp header immediately followed by
// the raw body, with no separator.
func Sign(clientSecret, timestamp string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(clientSecret, timestamp, body))
}

// mac is the HMAC that Sign encodes and Verify compares.
func mac(clientSecret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte(timestamp))
	m.Write(body)
	return m.Sum(nil)
}

// Verifier checks incoming WHOOP notifications.
type Verifier struct {
	ClientSecret string
	// Tolerance is the allowed clock distance (default DefaultTolerance).
	Tolerance time.Duration
	Now       func() time.Time
}

// Verify checks a signature and its epoch-millisecond timestamp against
// the exact body bytes, in constant time.
func (v Verifier) Verify(signature, timestamp string, body []byte) error {
	signature, timestamp = strings.TrimSpace(signature), strings.TrimSpace(timestamp)
	if signature == "" || timestamp == "" {
		return ErrSignatureMissing
	}
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrSignatureInvalid
	}
	if !hmac.Equal(mac(v.ClientSecret, timestamp, body), got) {
		return ErrSignatureInvalid
	}
	ms, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not epoch milliseconds", ErrSignatureStale, timestamp)
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	if d := v.Now().Sub(time.UnixMilli(ms)); d > tol || d < -tol {
		return ErrSignatureStale
	}
	return nil
}

// VerifyRequest reads the headers of r; body must be r's raw body.
func (v Verifier) VerifyRequest(r *http.Request, body []byte) error {
	return v.Verify(r.Header.Get("X-WHOOP-Signature"), r.Header.Get("X-WHOOP-Signature-Timestamp"), body)
}

// parseNotification decodes a body; user_id stays exact as a json.Number.
func parseNotification(body []byte) (Notification, error) {
	var n Notification
	err := json.Unmarshal(body, &n)
	return n, err
}
