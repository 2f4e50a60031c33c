package provider_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// rotating hands out a new grant per refresh and refuses a spent refresh
// token, as Oura and WHOOP do.
type rotating struct {
	n     int
	valid string
	keep  bool // answer without a refresh token or scopes (no rotation)
}

func (r *rotating) Refresh(_ context.Context, rt string) (provider.Tokens, error) {
	if rt != r.valid {
		return provider.Tokens{}, &provider.Error{Kind: provider.KindInvalidToken, Err: errors.New("invalid_grant")}
	}
	r.n++
	t := provider.Tokens{AccessToken: "a" + string(rune('0'+r.n)), Expiry: time.Unix(1000, 0).Add(time.Duration(r.n) * time.Hour)}
	if !r.keep {
		t.RefreshToken = "r" + string(rune('0'+r.n))
		r.valid = t.RefreshToken
	}
	return t, nil
}

func TestTokenSourceRotates(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	r := &rotating{valid: "r0"}
	var stored []provider.Tokens
	fail := true
	persist := func(_ context.Context, tk provider.Tokens) error {
		if fail {
			fail = false
			return errors.New("disk full")
		}
		stored = append(stored, tk)
		return nil
	}
	ts := provider.NewTokenSource(r, provider.Tokens{AccessToken: "a0", RefreshToken: "r0", Expiry: now.Add(time.Minute), Scopes: []string{"s"}},
		persist, func() time.Time { return now })
	// Within five minutes of expiry it refreshes; the rotated grant cannot
	// be stored, so it is not used either.
	if _, err := ts.AccessToken(ctx); err == nil {
		t.Fatal("a grant that could not be stored was used")
	}
	// The next call stores the grant it holds (r0 is spent) before using it.
	tok, err := ts.AccessToken(ctx)
	if err != nil || tok != "a1" || r.n != 1 || len(stored) != 1 || stored[0].RefreshToken != "r1" || stored[0].Scopes[0] != "s" {
		t.Fatalf("after the failed persist: %q %v, %d refreshes, stored %+v", tok, err, r.n, stored)
	}
	if err := ts.Refresh(ctx); err != nil || ts.Current().AccessToken != "a2" || len(stored) != 2 {
		t.Fatalf("forced refresh: %v %+v", err, ts.Current())
	}
	// A dead grant says so through the seam's kind.
	r.valid = "other"
	if err := ts.Refresh(ctx); provider.KindOf(err) != provider.KindInvalidToken {
		t.Fatalf("dead grant: %v", err)
	}
}

func TestTokenSourceKeepsANonRotatingRefreshToken(t *testing.T) {
	r := &rotating{valid: "r0", keep: true}
	ts := provider.NewTokenSource(r, provider.Tokens{AccessToken: "a0", RefreshToken: "r0", Scopes: []string{"s"}}, nil, nil)
	if err := ts.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ts.Current(); got.RefreshToken != "r0" || got.AccessToken != "a1" || len(got.Scopes) != 1 {
		t.Fatalf("after a refresh without rotation: %+v", got)
	}
}

// TestRefreshRejectedRefreshesOnce: two requests refused with the same
// token lead to one refresh; the second finds the token replaced and uses
// the new one, which a second refresh would have revoked at WHOOP.
func TestRefreshRejectedRefreshesOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	r := &rotating{valid: "r0"}
	ts := provider.NewTokenSource(r, provider.Tokens{AccessToken: "a0", RefreshToken: "r0", Expiry: now.Add(time.Hour)}, nil, func() time.Time { return now })
	for i := range 2 {
		if err := ts.RefreshRejected(ctx, "a0"); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
	}
	if r.n != 1 || ts.Current().AccessToken != "a1" {
		t.Fatalf("%d refreshes, token %q; want 1 and a1", r.n, ts.Current().AccessToken)
	}
	// The new token refused in turn: that one is refreshed.
	if err := ts.RefreshRejected(ctx, "a1"); err != nil || r.n != 2 || ts.Current().AccessToken != "a2" {
		t.Fatalf("%v: %d refreshes, token %q", err, r.n, ts.Current().AccessToken)
	}
}
