package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSealer(t *testing.T, keys ...[]byte) *Sealer {
	t.Helper()
	s, err := NewSealer(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := mustSealer(t, mustKey(t))
	ad := AD("connection.access_token", "client", "user", "oura")
	for _, pt := range []string{"x", "a-long-oura-access-token-" + strings.Repeat("z", 500)} {
		sealed, err := s.Seal([]byte(pt), ad)
		if err != nil {
			t.Fatal(err)
		}
		// A one-byte plaintext shows up in random ciphertext by chance;
		// only a long one says something about leaking.
		if len(pt) > 16 && bytes.Contains(sealed, []byte(pt)) {
			t.Fatal("sealed value contains the plaintext")
		}
		got, err := s.Open(sealed, ad)
		if err != nil || string(got) != pt {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
	}
	a, _ := s.Seal([]byte("same"), ad)
	b, _ := s.Seal([]byte("same"), ad)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are equal: the nonce is not random")
	}
}

func TestSealStringEmpty(t *testing.T) {
	s := mustSealer(t, mustKey(t))
	sealed, err := s.SealString("", nil)
	if err != nil || sealed != nil {
		t.Fatalf("SealString(\"\") = %v, %v", sealed, err)
	}
	if got, err := s.OpenString(nil, nil); got != "" || err != nil {
		t.Fatalf("OpenString(nil) = %q, %v", got, err)
	}
}

func TestOpenTampered(t *testing.T) {
	s := mustSealer(t, mustKey(t))
	ad := AD("p", "row")
	sealed, _ := s.Seal([]byte("token"), ad)
	for i := range sealed {
		c := bytes.Clone(sealed)
		c[i] ^= 0x40
		if _, err := s.Open(c, ad); !errors.Is(err, ErrOpen) {
			t.Fatalf("byte %d flipped: err = %v, want ErrOpen", i, err)
		}
	}
	if _, err := s.Open(sealed[:len(sealed)-1], ad); !errors.Is(err, ErrOpen) {
		t.Fatalf("truncated: err = %v", err)
	}
	if _, err := s.Open(sealed[:10], ad); !errors.Is(err, ErrOpen) {
		t.Fatalf("short: err = %v", err)
	}
}

func TestOpenWrongAD(t *testing.T) {
	s := mustSealer(t, mustKey(t))
	sealed, _ := s.Seal([]byte("token"), AD("connection.access_token", "c1", "u1", "oura"))
	for _, ad := range [][]byte{
		AD("connection.refresh_token", "c1", "u1", "oura"), // other column
		AD("connection.access_token", "c1", "u2", "oura"),  // other row
		AD("connection.access_token", "c1u", "1", "oura"),  // same bytes, other split
		nil,
	} {
		if _, err := s.Open(sealed, ad); !errors.Is(err, ErrOpen) {
			t.Fatalf("AD %q: err = %v, want ErrOpen", ad, err)
		}
	}
}

func TestOpenWrongKey(t *testing.T) {
	sealed, _ := mustSealer(t, mustKey(t)).Seal([]byte("token"), nil)
	if _, err := mustSealer(t, mustKey(t)).Open(sealed, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("err = %v, want ErrOpen", err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := mustKey(t), mustKey(t)
	old := mustSealer(t, oldKey)
	sealed, _ := old.Seal([]byte("token"), nil)

	rotated := mustSealer(t, newKey, oldKey)
	got, err := rotated.Open(sealed, nil)
	if err != nil || string(got) != "token" {
		t.Fatalf("open old value after rotation = %q, %v", got, err)
	}
	if !rotated.NeedsReseal(sealed) {
		t.Fatal("a value sealed under the old key should need resealing")
	}
	fresh, _ := rotated.Seal([]byte("token"), nil)
	if rotated.NeedsReseal(fresh) {
		t.Fatal("a fresh value should not need resealing")
	}
	if _, err := old.Open(fresh, nil); !errors.Is(err, ErrOpen) {
		t.Fatal("the old key alone opened a value sealed under the new one")
	}
}

func TestNewSealerRejectsBadKeys(t *testing.T) {
	if _, err := NewSealer(); err == nil {
		t.Fatal("no key accepted")
	}
	if _, err := NewSealer(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
}

func TestParseKeys(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	keys, err := ParseKeys(EncodeKey(a) + ", " + EncodeKey(b))
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], a) || !bytes.Equal(keys[1], b) {
		t.Fatalf("ParseKeys = %v, %v", keys, err)
	}
	for _, bad := range []string{"", "not base64 !", EncodeKey(a[:16])} {
		_, err := ParseKeys(bad)
		if err == nil {
			t.Fatalf("ParseKeys(%q) accepted", bad)
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Fatalf("error echoes the key: %v", err)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", KeyFileName)
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("key file mode %v size %d", fi.Mode().Perm(), fi.Size())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load = %x, %v; want the same key", k2, err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("a short key file was accepted")
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent starts created different keys")
		}
	}
}

func TestKeysEnvTakesPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	k := mustKey(t)
	keys, err := Keys(EncodeKey(k), path)
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[0], k) {
		t.Fatalf("Keys = %v, %v", keys, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a key file was created although the environment gave a key")
	}
	keys, err = Keys("", path)
	if err != nil || len(keys) != 1 {
		t.Fatalf("Keys from file = %v, %v", keys, err)
	}
}

func TestAPISecret(t *testing.T) {
	s, err := NewAPISecret()
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := NewAPISecret()
	if s == s2 || len(s) < 40 {
		t.Fatalf("secrets %q %q", s, s2)
	}
	h := HashAPISecret(s)
	if bytes.Contains(h, []byte(s)) {
		t.Fatal("hash contains the secret")
	}
	if !VerifyAPISecret(h, s) {
		t.Fatal("the right secret does not verify")
	}
	if VerifyAPISecret(h, s2) || VerifyAPISecret(h, s+"x") || VerifyAPISecret(nil, s) || VerifyAPISecret(h[:16], s) {
		t.Fatal("a wrong secret or hash verifies")
	}
}
