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
// a request is accepted when its token equals any of them (the ingest
// engine compares them in constant time), so that
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

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
