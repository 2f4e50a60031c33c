package childenv

import (
	"slices"
	"strings"
	"testing"
)

// Every provider URL the configuration knows is covered, found from the
// live defaults rather than listed by hand.
func TestProviderURLs(t *testing.T) {
	got := ProviderURLs()
	for _, want := range []string{"WEARLINK_OURA_API_URL", "WEARLINK_OURA_AUTH_URL", "WEARLINK_OURA_TOKEN_URL",
		"WEARLINK_OURA_REVOKE_URL", "WEARLINK_WHOOP_API_URL", "WEARLINK_WHOOP_OAUTH_URL"} {
		if !slices.Contains(got, want) {
			t.Errorf("ProviderURLs() = %v, missing %s", got, want)
		}
	}
}

// A provider URL is closed unless the test sets it, whatever the test
// process's own environment says; each name appears once.
func TestEnv(t *testing.T) {
	t.Setenv("WEARLINK_OURA_TOKEN_URL", "https://api.ouraring.com/oauth/token")
	env := Env("WEARLINK_OURA_API_URL=http://127.0.0.1:9/", "WEARLINK_DATA=/tmp/x")
	vals := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := vals[k]; dup {
			t.Errorf("%s set twice", k)
		}
		vals[k] = v
	}
	for _, name := range ProviderURLs() {
		want := Closed
		if name == "WEARLINK_OURA_API_URL" {
			want = "http://127.0.0.1:9/"
		}
		if vals[name] != want {
			t.Errorf("%s = %q, want %q", name, vals[name], want)
		}
	}
	if vals["WEARLINK_DATA"] != "/tmp/x" {
		t.Errorf("WEARLINK_DATA = %q, want the test's", vals["WEARLINK_DATA"])
	}
}
