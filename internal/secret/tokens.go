package secret

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// tokenLen is the length of a URL token: 32 base64url characters, 192
// bits, more than anyone can guess.
const tokenLen = 32

// Tokens returns the unguessable URL tokens of a purpose (a provider's
// notification callback, say), one per key, the current key's first. A
// provider that cannot sign its requests is given a URL carrying the first;
// a request is accepted when its token equals any of them, so that
// rotating the key (a restart with the new key first) keeps the URLs
// registered under the old key working until they are registered again.
// The same keys and purpose give the same tokens in every process.
func (s *Sealer) Tokens(purpose string) []string {
	out := make([]string, len(s.keys))
	for i, k := range s.keys {
		out[i] = base64.RawURLEncoding.EncodeToString(mac(k.url, purpose))[:tokenLen]
	}
	return out
}

// TokenValid reports whether tok is one of the tokens of purpose, in time
// that does not depend on where they differ.
func (s *Sealer) TokenValid(purpose, tok string) bool {
	ok := false
	for _, t := range s.Tokens(purpose) {
		if hmac.Equal([]byte(t), []byte(tok)) {
			ok = true
		}
	}
	return ok
}

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
