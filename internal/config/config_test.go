package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsValidate(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Sync.BackfillDays != 90 || c.Oura.APIBaseURL != "https://api.ouraring.com" {
		t.Fatalf("defaults: %+v", c)
	}
	if got := c.CallbackURL(); got != "http://127.0.0.1:8080/oura/webhook" {
		t.Fatalf("callback %s", got)
	}
}

func TestEnvThenFlags(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"WEARLINK_LISTEN":                 "0.0.0.0:9000",
		"WEARLINK_BACKFILL_DAYS":          "all",
		"WEARLINK_OURA_CLIENT_ID":         "id",
		"WEARLINK_OURA_CLIENT_SECRET":     "s3cret-value",
		"WEARLINK_OURA_WEBHOOK_TOKEN":     "tok-value",
		"WEARLINK_OURA_APP_RATE_LIMIT":    "100/1m",
		"WEARLINK_OURA_TOKEN_RATE_LIMIT":  "0",
		"WEARLINK_DATABASE_URL":           "postgres://u:pw-value@db/wearlink",
		"WEARLINK_WHOOP_REQUESTS_PER_DAY": "50000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:7000", "--fetch-workers", "3", "--public-url", "https://hub.example.com/",
		"--withings-requests-per-minute", "600"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7000" || c.Sync.FetchWorkers != 3 || c.Sync.BackfillDays != 0 {
		t.Fatalf("flags did not override: %+v", c)
	}
	if c.Oura.AppRateLimit != (RateLimit{100, time.Minute}) || c.Oura.TokenRateLimit != (RateLimit{}) {
		t.Fatalf("rate limits %+v %+v", c.Oura.AppRateLimit, c.Oura.TokenRateLimit)
	}
	// A raised budget replaces the provider's default; the one not set keeps it.
	if c.Whoop.RequestsPerMinute != 100 || c.Whoop.RequestsPerDay != 50000 || c.Withings.RequestsPerMinute != 600 {
		t.Fatalf("WHOOP %d/min %d/day, Withings %d/min", c.Whoop.RequestsPerMinute, c.Whoop.RequestsPerDay, c.Withings.RequestsPerMinute)
	}
	if got := c.CallbackURL(); got != "https://hub.example.com/oura/webhook" {
		t.Fatalf("callback %s", got)
	}
	if !c.WebhooksEnabled() {
		t.Fatal("webhooks should be enabled")
	}
	s := c.String()
	for _, secret := range []string{"s3cret-value", "tok-value", "pw-value"} {
		if strings.Contains(s, secret) {
			t.Fatalf("String leaks %q:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "WEARLINK_OURA_CLIENT_SECRET=(set)") || !strings.Contains(s, "WEARLINK_BACKFILL_DAYS=all") {
		t.Fatalf("String:\n%s", s)
	}
	// Help text must not show secret values either.
	if strings.Contains(fs.FlagUsages(), "s3cret-value") {
		t.Fatal("flag usage leaks the secret")
	}
}

func TestInvalid(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"WEARLINK_BACKFILL_DAYS": "lots", "WEARLINK_POLL_CHECK": "soon"}))
	if err == nil || !strings.Contains(err.Error(), "WEARLINK_BACKFILL_DAYS") || !strings.Contains(err.Error(), "WEARLINK_POLL_CHECK") {
		t.Fatalf("want both variables named, got %v", err)
	}
	c := Default()
	c.Role = "both"
	c.DatabaseURL = "mysql://x"
	c.Oura.ClientID = "only-id"
	c.Sync.PollWorkers = 0
	c.Withings.RequestsPerMinute = 0
	err = c.Validate()
	for _, want := range []string{"role", "postgres://", "go together", "poll workers", "Withings requests per minute must be at least 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: want %q in %v", want, err)
		}
	}
}

func TestParseRateLimit(t *testing.T) {
	for in, want := range map[string]RateLimit{"5000/5m": {5000, 5 * time.Minute}, "0": {}, "": {}, " 10 / 1s ": {10, time.Second}} {
		got, err := ParseRateLimit(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, in := range []string{"5000", "x/1m", "10/-1s"} {
		if _, err := ParseRateLimit(in); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
	if s := (RateLimit{5000, 5 * time.Minute}).String(); s != "5000/5m" {
		t.Errorf("String %s", s)
	}
}
