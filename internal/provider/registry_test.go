package provider_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
)

// fake is the least a provider can be.
type fake struct {
	ds, name string
	colls    []provider.Collection
}

func (f fake) Info() provider.Info                { return provider.Info{DataSource: f.ds, Name: f.name} }
func (f fake) Collections() []provider.Collection { return f.colls }
func (fake) Identify(context.Context, provider.Auth) (provider.Account, error) {
	return provider.Account{}, nil
}
func (fake) Fetch(context.Context, provider.Auth, string, provider.Window) ([]provider.Document, error) {
	return nil, nil
}

func TestRegistry(t *testing.T) {
	r, err := provider.NewRegistry(fake{ds: "oura", name: "Oura"},
		fake{ds: "whoop", name: "Whoop", colls: []provider.Collection{{Name: "sleep", ByID: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.DataSources(), ","); got != "oura,whoop" {
		t.Fatalf("data sources %s, want registration order", got)
	}
	if r.Name("whoop") != "Whoop" || r.Name("garmin") != "" {
		t.Fatalf("names: %q %q", r.Name("whoop"), r.Name("garmin"))
	}
	if c, ok := r.Collection("whoop", "sleep"); !ok || !c.ByID {
		t.Fatalf("whoop sleep: %+v %v", c, ok)
	}
	if _, ok := r.Collection("oura", "sleep"); ok {
		t.Fatal("a collection of one provider found at another")
	}
	if p, err := r.Get("oura"); err != nil || p.Info().Name != "Oura" {
		t.Fatalf("Get(oura) = %v, %v", p, err)
	}
	_, err = r.Get("garmin")
	if health.ErrorCode(err) != health.EINVALID || !strings.Contains(health.ErrorMessage(err), "supported: oura, whoop") {
		t.Fatalf("Get(garmin) = %v, want EINVALID naming the supported data sources", err)
	}
}

func TestRegistryRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		ps   []provider.Provider
	}{
		{"twice", []provider.Provider{fake{ds: "oura", name: "Oura"}, fake{ds: "oura", name: "Oura"}}},
		{"no slug", []provider.Provider{fake{name: "Oura"}}},
		{"not a slug", []provider.Provider{fake{ds: "Oura Ring", name: "Oura"}}},
		{"no name", []provider.Provider{fake{ds: "oura"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := provider.NewRegistry(tc.ps...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// kinded is a provider's own error type.
type kinded struct{ retry time.Duration }

func (kinded) Error() string                       { return "rate limited" }
func (kinded) ProviderKind() provider.Kind         { return provider.KindRateLimited }
func (k kinded) ProviderRetryAfter() time.Duration { return k.retry }
func (kinded) RateLimitTier() string               { return "token" }

func TestKindThroughWrapping(t *testing.T) {
	err := fmt.Errorf("read sleep: %w", kinded{retry: 3 * time.Second})
	if provider.KindOf(err) != provider.KindRateLimited || provider.RetryAfter(err) != 3*time.Second || provider.RateLimitTier(err) != "token" {
		t.Fatalf("kind %v, retry after %v, tier %q", provider.KindOf(err), provider.RetryAfter(err), provider.RateLimitTier(err))
	}
	if tier := provider.RateLimitTier(errors.New("plain")); tier != "" {
		t.Fatalf("tier %q of an error that names none", tier)
	}
	err = fmt.Errorf("x: %w", &provider.Error{Kind: provider.KindNotFound, Err: errors.New("gone")})
	if provider.KindOf(err) != provider.KindNotFound || provider.RetryAfter(err) != 0 || err.Error() != "x: gone" {
		t.Fatalf("kind %v, retry after %v, %q", provider.KindOf(err), provider.RetryAfter(err), err)
	}
	if provider.KindOf(errors.New("plain")) != provider.KindUnknown || provider.Kind(99).String() != "kind(99)" {
		t.Fatal("an error without a kind has one")
	}
}
