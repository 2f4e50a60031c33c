package simkit

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"
)

func TestAuthStoreTokens(t *testing.T) {
	a := NewAuthStore()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := a.NewGrant(1, []string{"daily"})
	acc, ref := a.Issue(g, now.Add(time.Hour), true)
	if acc == "" || ref == "" || acc == ref {
		t.Fatalf("issued %q %q", acc, ref)
	}
	if got, st := a.Lookup(acc, now); st != OK || got != g {
		t.Fatalf("live token: %v %v", got, st)
	}
	if _, st := a.Lookup(acc, now.Add(time.Hour)); st != Expired {
		t.Errorf("at expiry: %v", st)
	}
	if _, st := a.Lookup("nope", now); st != Unknown {
		t.Errorf("unknown token: %v", st)
	}
	if _, ref2 := a.Issue(g, now.Add(time.Hour), false); ref2 != "" {
		t.Errorf("refresh token issued without asking: %q", ref2)
	}

	// A refresh spends the refresh token; retiring stops the old access
	// token, and a replay still names the grant.
	if got, st := a.Refresh(ref); st != OK || got != g {
		t.Fatalf("refresh: %v %v", got, st)
	}
	a.Retire(g)
	if _, st := a.Lookup(acc, now); st != Used {
		t.Errorf("retired token: %v", st)
	}
	if got, st := a.Refresh(ref); st != Used || got != g {
		t.Errorf("replayed refresh: %v %v", got, st)
	}
	if _, st := a.Refresh("nope"); st != Unknown {
		t.Errorf("unknown refresh: %v", st)
	}

	if !a.Authorized(1) || a.Authorized(2) {
		t.Error("authorized before revoking")
	}
	acc3, ref3 := a.Issue(g, now.Add(time.Hour), true)
	if !a.RevokeToken(ref3) || a.RevokeToken("nope") {
		t.Error("revoke by refresh token")
	}
	if _, st := a.Lookup(acc3, now); st != Revoked {
		t.Errorf("token of a revoked grant: %v", st)
	}
	if _, st := a.Refresh(ref3); st != Revoked {
		t.Errorf("refresh of a revoked grant: %v", st)
	}
	if a.Authorized(1) {
		t.Error("authorized after revoking the only grant")
	}
}

func TestAuthStoreCodes(t *testing.T) {
	a := NewAuthStore()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sum := sha256.Sum256([]byte("verifier"))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	newCode := func(ch string) string {
		return a.NewCode(Code{User: 2, Scopes: []string{"x"}, RedirectURI: "http://cb", Challenge: ch, Expires: now.Add(time.Minute)})
	}

	c := newCode(challenge)
	if _, st := a.Redeem(c, "http://other", "verifier", now); st != WrongRedirect {
		t.Errorf("other redirect: %v", st)
	}
	g, st := a.Redeem(c, "http://cb", "verifier", now)
	if st != OK || g == nil || g.User != 2 || len(g.Scopes) != 1 {
		t.Fatalf("redeem: %+v %v", g, st)
	}
	if _, st := a.Redeem(c, "http://cb", "verifier", now); st != Used {
		t.Errorf("second redeem: %v", st)
	}
	if !a.Authorized(2) {
		t.Error("a redeemed code's user is not authorized")
	}

	c = newCode(challenge)
	if _, st := a.Redeem(c, "http://cb", "wrong", now); st != WrongVerifier {
		t.Errorf("wrong verifier: %v", st)
	}
	if _, st := a.Redeem(c, "http://cb", "verifier", now); st != Used {
		t.Errorf("after a wrong verifier: %v", st)
	}

	c = newCode("")
	if _, st := a.Redeem(c, "http://cb", "", now.Add(time.Minute)); st != Expired {
		t.Errorf("expired code: %v", st)
	}
	if _, st := a.Redeem(c, "http://cb", "unasked", now); st != WrongVerifier {
		t.Errorf("verifier without a challenge: %v", st)
	}
	if _, st := a.Redeem("nope", "http://cb", "", now); st != Unknown {
		t.Errorf("unknown code: %v", st)
	}
}

func TestSeededToken(t *testing.T) {
	a, b := SeededToken([]byte("k"), "access", 0), SeededToken([]byte("k"), "access", 0)
	if a != b || len(a) != 43 || a == SeededToken([]byte("k"), "refresh", 0) || a == SeededToken([]byte("k"), "access", 1) {
		t.Errorf("seeded tokens %q %q", a, b)
	}
}
