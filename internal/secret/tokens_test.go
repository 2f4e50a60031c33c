package secret

import (
	"bytes"
	"regexp"
	"testing"
)

func TestTokens(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	one, err := NewSealer(k1)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewSealer(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	a := one.Tokens("withings notifications")
	b := rotated.Tokens("withings notifications")
	if len(a) != 1 || len(b) != 2 {
		t.Fatalf("tokens per key: %d and %d, want 1 and 2", len(a), len(b))
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`).MatchString(a[0]) {
		t.Errorf("token %q is not 32 URL-safe characters", a[0])
	}
	if b[1] != a[0] {
		t.Error("the old key's token changed after rotation: registered URLs would stop working")
	}
	if b[0] == a[0] {
		t.Error("the new key gives the old token")
	}
	if again := one.Tokens("withings notifications"); again[0] != a[0] {
		t.Error("tokens are not stable across calls")
	}
	if other := one.Tokens("other purpose"); other[0] == a[0] {
		t.Error("two purposes share a token")
	}
}
