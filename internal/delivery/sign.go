package delivery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// SecretPrefix starts every endpoint secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// secretBytes is the key size: SHA-256's output size, within Standard
// Webhooks' 24 to 64 bytes.
const secretBytes = 32

// NewSecret returns a new endpoint secret: whsec_ and 32 random bytes in
// standard base64.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// signingKey is the HMAC key of a whsec_ secret: the base64-decoded part
// after the prefix. wearlink generates every secret, so the fallback to
// the raw characters only serves hand-made secrets.
func signingKey(secret string) []byte {
	s := strings.TrimPrefix(secret, SecretPrefix)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) > 0 {
			return k
		}
	}
	return []byte(s)
}

// sign is one Standard Webhooks v1 signature: "v1," and the base64
// HMAC-SHA256 of "id.timestamp.body".
func sign(secret, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, signingKey(secret))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signatures is the webhook-signature header: the current secret's
// signature, then the previous secret's while its grace lasts, so a
// receiver holding either verifies.
func signatures(ep store.WebhookEndpoint, id string, ts time.Time, body []byte) string {
	h := sign(ep.Secret, id, ts.Unix(), body)
	if ep.PreviousSecret != "" && ts.Before(ep.PreviousExpiresAt) {
		h += " " + sign(ep.PreviousSecret, id, ts.Unix(), body)
	}
	return h
}

// RookHash is ROOK's X-ROOK-HASH: the hex HMAC-SHA256 of client_uuid,
// user_id and datetime concatenated without separators, under key.
//
// wearlink keeps only a hash of a client's API secret, so the key is the
// endpoint's current secret, the whole "whsec_..." string as shown when
// it was created; datetime is the request's webhook-timestamp header
// (Unix seconds in decimal). See docs/webhooks.md.
func RookHash(key, clientUUID, userID, datetime string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(clientUUID))
	m.Write([]byte(userID))
	m.Write([]byte(datetime))
	return hex.EncodeToString(m.Sum(nil))
}
