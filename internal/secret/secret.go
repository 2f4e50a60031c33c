// Package secret protects what wearlink keeps at rest: OAuth tokens and
// webhook secrets are sealed with XChaCha20-Poly1305 under a 32-byte key,
// and API client secrets are stored only as hashes.
//
// A sealed value is
//
//	0x01 | key id (4 bytes) | nonce (24 bytes) | ciphertext and tag
//
// The key id is the start of SHA-256 of the key, so a Sealer given the new
// key and the old ones opens values sealed under any of them and seals
// under the first: rotation is a restart with the new key listed first.
// The associated data names the row and purpose a value belongs to (see
// AD), so a sealed value copied into another row or column does not open.
package secret

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of a sealing key in bytes.
const KeySize = chacha20poly1305.KeySize

// EnvKey is the environment variable holding the base64 key (or several,
// comma-separated, newest first); it takes precedence over the key file.
const EnvKey = "WEARLINK_SECRET_KEY"

// KeyFileName is the key file's name under the data directory.
const KeyFileName = "secret.key"

const (
	format    byte = 1
	idSize         = 4
	headerLen      = 1 + idSize + chacha20poly1305.NonceSizeX
)

// ErrOpen is returned when a sealed value cannot be opened: it was
// tampered with, belongs to another row, or was sealed under an unknown key.
var ErrOpen = errors.New("secret: cannot open sealed value")

type key struct {
	id   [idSize]byte
	aead cipher.AEAD
	// url derives the tokens of Tokens; it is not the sealing key, so a
	// token reveals nothing about that key.
	url []byte
}

// Sealer seals and opens values. It is safe for concurrent use.
type Sealer struct {
	keys []key // keys[0] seals
}

// NewSealer returns a Sealer that seals under keys[0] and opens values
// sealed under any of keys (older keys kept for rotation).
func NewSealer(keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: no key")
	}
	s := &Sealer{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("secret: key %d is %d bytes, want %d", i, len(k), KeySize)
		}
		aead, err := chacha20poly1305.NewX(k)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		s.keys = append(s.keys, key{id: KeyID(k), aead: aead, url: mac(k, "wearlink url tokens")})
	}
	return s, nil
}

// KeyID identifies a key without revealing it: the first four bytes of its
// SHA-256.
func KeyID(k []byte) [idSize]byte {
	sum := sha256.Sum256(k)
	var id [idSize]byte
	copy(id[:], sum[:idSize])
	return id
}

// Seal encrypts plaintext bound to ad under the current key with a random
// nonce.
func (s *Sealer) Seal(plaintext, ad []byte) ([]byte, error) {
	k := s.keys[0]
	out := make([]byte, headerLen, headerLen+len(plaintext)+k.aead.Overhead())
	out[0] = format
	copy(out[1:], k.id[:])
	nonce := out[1+idSize : headerLen]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secret: nonce: %w", err)
	}
	return k.aead.Seal(out, nonce, plaintext, ad), nil
}

// Open decrypts a value sealed with the same ad. Any failure is ErrOpen.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < headerLen || sealed[0] != format {
		return nil, ErrOpen
	}
	for _, k := range s.keys {
		if !bytes.Equal(k.id[:], sealed[1:1+idSize]) {
			continue
		}
		pt, err := k.aead.Open(nil, sealed[1+idSize:headerLen], sealed[headerLen:], ad)
		if err != nil {
			return nil, ErrOpen
		}
		return pt, nil
	}
	return nil, ErrOpen
}

// SealString seals s; the empty string seals to nil so that an absent
// token stays absent.
func (s *Sealer) SealString(plaintext string, ad []byte) ([]byte, error) {
	if plaintext == "" {
		return nil, nil
	}
	return s.Seal([]byte(plaintext), ad)
}

// OpenString is the inverse of SealString.
func (s *Sealer) OpenString(sealed, ad []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	pt, err := s.Open(sealed, ad)
	return string(pt), err
}

// NeedsReseal reports whether sealed was sealed under a key other than the
// current one (after a rotation).
func (s *Sealer) NeedsReseal(sealed []byte) bool {
	return len(sealed) >= headerLen && !bytes.Equal(sealed[1:1+idSize], s.keys[0].id[:])
}

// AD builds associated data from a purpose and the values that identify
// the row, each length-prefixed so that no two different lists encode the
// same ("a","bc" differs from "ab","c").
func AD(purpose string, parts ...string) []byte {
	n := 4 + len(purpose)
	for _, p := range parts {
		n += 4 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range append([]string{purpose}, parts...) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// NewKey returns a new random key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("secret: new key: %w", err)
	}
	return k, nil
}

// ParseKeys decodes one base64 key, or several separated by commas (newest
// first), as WEARLINK_SECRET_KEY holds them.
func ParseKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, err := decodeKey(part)
		if err != nil {
			// Never echo the value: it is a key.
			return nil, fmt.Errorf("secret: key %d: %w", i, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("secret: empty key")
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("decodes to %d bytes, want %d", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("not base64")
}

// EncodeKey is the base64 form ParseKeys reads.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// LoadOrCreateKey reads the key file at path, or creates it (32 random
// bytes, mode 0600, parent directories 0700) when it does not exist. The
// file is created exclusively, so two processes starting at once agree on
// one key.
func LoadOrCreateKey(path string) ([]byte, error) {
	k, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secret: create key directory: %w", err)
	}
	k, err = NewKey()
	if err != nil {
		return nil, err
	}
	// Write to a temporary file and link it into place: a crash leaves
	// either no key file or a complete one, never a short one.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-key-*")
	if err != nil {
		return nil, fmt.Errorf("secret: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secret: create key file: %w", err)
	}
	if _, err := tmp.Write(k); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("secret: install key file: %w", err)
	}
	return k, nil
}

func readKeyFile(path string) ([]byte, error) {
	k, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("secret: key file %s is %d bytes, want %d", path, len(k), KeySize)
	}
	return k, nil
}

// Keys returns the sealing keys: those in env (WEARLINK_SECRET_KEY's
// value) when it is set, else the key file at path, created when missing.
func Keys(env, path string) ([][]byte, error) {
	if strings.TrimSpace(env) != "" {
		return ParseKeys(env)
	}
	k, err := LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	return [][]byte{k}, nil
}

// API client secrets are random 32-byte values, so a single SHA-256 is
// enough: a slow password hash only defends low-entropy inputs.

const apiSecretPrefix = "wls_"

// NewAPISecret returns a new API client secret, to be shown once.
func NewAPISecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secret: new API secret: %w", err)
	}
	return apiSecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashAPISecret returns the hash to store for an API client secret.
func HashAPISecret(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// VerifyAPISecret reports, in constant time, whether s hashes to hash.
func VerifyAPISecret(hash []byte, s string) bool {
	sum := sha256.Sum256([]byte(s))
	return len(hash) == len(sum) && subtle.ConstantTimeCompare(hash, sum[:]) == 1
}
