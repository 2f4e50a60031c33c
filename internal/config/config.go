// Package config holds wearlink's runtime settings. Values come from the
// environment (WEARLINK_*) and then from command-line flags, which override
// the environment; Validate checks the result and String prints it without
// secrets.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wearlink/wearlink/internal/provider/all"
)

// Roles a process can run.
const (
	RoleAll    = "all"    // HTTP server and job workers
	RoleAPI    = "api"    // HTTP server only (it still enqueues jobs)
	RoleWorker = "worker" // job workers only
)

// RateLimit is a request budget: Requests per Window. A zero value means
// no limit on that layer.
type RateLimit struct {
	Requests int
	Window   time.Duration
}

// String renders the limit as flags and env take it: "5000/5m".
func (r RateLimit) String() string {
	if r.Requests <= 0 {
		return "0"
	}
	return strconv.Itoa(r.Requests) + "/" + shortDuration(r.Window)
}

// ParseRateLimit reads "N/DURATION" ("5000/5m"); "0" or "" disables the
// layer.
func ParseRateLimit(s string) (RateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || strings.EqualFold(s, "none") {
		return RateLimit{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	if !ok {
		return RateLimit{}, fmt.Errorf("rate limit %q: want REQUESTS/DURATION, e.g. 5000/5m", s)
	}
	req, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || req < 0 {
		return RateLimit{}, fmt.Errorf("rate limit %q: %q is not a request count", s, n)
	}
	win, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || win <= 0 {
		return RateLimit{}, fmt.Errorf("rate limit %q: %q is not a positive duration", s, w)
	}
	return RateLimit{Requests: req, Window: win}, nil
}

func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	if s == "" {
		return "0s"
	}
	return s
}

// Oura is the Oura application wearlink acts as.
type Oura struct {
	// APIBaseURL is the data API (default: the live API; point it at the
	// simulator for tests and the demo).
	APIBaseURL string
	// ClientID and ClientSecret are the OAuth application's credentials.
	// With neither set, role all and the URLs at their defaults, the app
	// runs the built-in simulator and points all of these at it.
	// The secret also verifies webhook signatures and authenticates the
	// webhook subscription API.
	ClientID     string
	ClientSecret string
	AuthURL      string
	TokenURL     string
	RevokeURL    string
	// WebhookVerificationToken is echoed by Oura when it verifies the
	// callback; subscriptions are created with it.
	WebhookVerificationToken string
	// ManageWebhooks creates and renews Oura webhook subscriptions at start
	// (needs PublicURL, client credentials and a verification token).
	ManageWebhooks bool
	// AppRateLimit and TokenRateLimit are Oura's two layers: the whole
	// application and each access token.
	AppRateLimit   RateLimit
	TokenRateLimit RateLimit
}

// Whoop is the WHOOP application wearlink acts as. WHOOP has no
// subscription API: its webhook URL (wearlink's /webhooks/whoop) is set
// once in WHOOP's developer dashboard, and notifications are signed with
// the client secret.
type Whoop struct {
	// APIBaseURL is the data API (default: the live API).
	APIBaseURL string
	// OAuthBaseURL is the host of WHOOP's authorize and token endpoints.
	OAuthBaseURL string
	// ClientID and ClientSecret are the OAuth application's credentials.
	// With neither set, role all and the URLs at their defaults, the app
	// runs the built-in WHOOP simulator and points these at it.
	ClientID     string
	ClientSecret string
	// RequestsPerMinute and RequestsPerDay are the application's budget:
	// WHOOP's defaults (100 and 10,000) unless WHOOP raised them for it.
	// wearlink paces its requests to stay inside them.
	RequestsPerMinute int
	RequestsPerDay    int
}

// Withings is the Withings application wearlink acts as. Withings
// notifications are subscribed per user and category after linking, and
// are not signed: the callback URL wearlink registers carries a token
// derived from the deployment's key, so that a request to any other URL is
// not Withings'.
type Withings struct {
	// APIBaseURL is the data API, which also serves the token endpoint
	// (/v2/oauth2).
	APIBaseURL string
	// AuthURL is the authorize page users consent on.
	AuthURL string
	// ClientID and ClientSecret are the OAuth application's credentials.
	// With neither set, role all and the URLs at their defaults, the app
	// runs the built-in Withings simulator and points these at it.
	ClientID     string
	ClientSecret string
	// RequestsPerMinute is the application's budget: Withings' default
	// (120) unless Withings raised it for it. wearlink paces its requests
	// to stay inside it.
	RequestsPerMinute int
}

// Sync tunes the sync engine.
type Sync struct {
	// BackfillDays is how much history a new connection pulls; 0 means the
	// whole history.
	BackfillDays int
	// Workers per queue.
	BackfillWorkers int
	FetchWorkers    int
	PollWorkers     int
	// FetchSettle is how long the read after a notification waits for the
	// rest of its sync to be announced: one read of each collection for
	// the whole burst, and one version of each document it changes.
	FetchSettle time.Duration
	// PollCheck is how often connections are checked for due polls.
	PollCheck time.Duration
	// ReconcileHealthy and ReconcileSilent are how often a collection is
	// re-read when the connection's webhooks arrive and when they have been
	// silent for SilentAfter.
	ReconcileHealthy time.Duration
	ReconcileSilent  time.Duration
	SilentAfter      time.Duration
}

// Config is everything a wearlink process needs.
type Config struct {
	// DataDir holds the SQLite database (and the key file); DatabaseURL,
	// when set, selects PostgreSQL instead.
	DataDir     string
	DatabaseURL string
	// Listen is the HTTP address.
	Listen string
	// PublicURL is where Oura reaches this server (webhook callbacks);
	// default http://<Listen>.
	PublicURL string
	// Role is all, api or worker.
	Role string
	// LogLevel is debug, info, warn or error; LogFormat text or json.
	LogLevel  string
	LogFormat string
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration
	// AllowPrivateWebhooks lets clients' webhook endpoints resolve to
	// private, loopback and link-local addresses.
	AllowPrivateWebhooks bool

	Oura     Oura
	Whoop    Whoop
	Withings Withings
	Sync     Sync
	// Erase tunes erasing users and retention.
	Erase Erase
}

// Erase tunes erasing users (and retention purges).
type Erase struct {
	// BatchSize bounds the rows one transaction deletes.
	BatchSize int
	// BatchPause is waited between batches, leaving the database to other
	// work during a large erasure.
	BatchPause time.Duration
}

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		DataDir:         "./wearlink-data",
		Listen:          "127.0.0.1:8080",
		Role:            RoleAll,
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 30 * time.Second,
		Oura: Oura{
			APIBaseURL:     all.LiveOura().APIURL,
			AuthURL:        all.LiveOura().AuthURL,
			TokenURL:       all.LiveOura().TokenURL,
			RevokeURL:      all.LiveOura().RevokeURL,
			ManageWebhooks: true,
			AppRateLimit:   RateLimit{Requests: 5000, Window: 5 * time.Minute},
			TokenRateLimit: RateLimit{Requests: 5000, Window: 5 * time.Minute},
		},
		Whoop: Whoop{APIBaseURL: all.LiveWhoop().APIURL, OAuthBaseURL: all.LiveWhoop().OAuthURL,
			RequestsPerMinute: 100, RequestsPerDay: 10000},
		Withings: Withings{APIBaseURL: all.LiveWithings().APIURL, AuthURL: all.LiveWithings().AuthURL,
			RequestsPerMinute: 120},
		Sync: Sync{
			BackfillDays:     90,
			BackfillWorkers:  4,
			FetchWorkers:     32,
			FetchSettle:      100 * time.Millisecond,
			PollWorkers:      2,
			PollCheck:        15 * time.Minute,
			ReconcileHealthy: 14 * 24 * time.Hour,
			ReconcileSilent:  6 * time.Hour,
			SilentAfter:      36 * time.Hour,
		},
		Erase: Erase{BatchSize: 500},
	}
}

// accessor reads and writes one field as text.
type accessor struct {
	get func(*Config) string
	set func(*Config, string) error
}

// envVar binds one variable (and maybe a flag) to a field.
type envVar struct {
	name  string
	flag  string
	usage string
	// secret values are never printed.
	secret bool
	accessor
}

func str(p func(*Config) *string) accessor {
	return accessor{func(c *Config) string { return *p(c) },
		func(c *Config, v string) error { *p(c) = v; return nil }}
}

func integer(p func(*Config) *int) accessor {
	return accessor{func(c *Config) string { return strconv.Itoa(*p(c)) },
		func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not an integer", v)
			}
			*p(c) = n
			return nil
		}}
}

func duration(p func(*Config) *time.Duration) accessor {
	return accessor{func(c *Config) string { return p(c).String() },
		func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a duration (e.g. 90s, 6h)", v)
			}
			*p(c) = d
			return nil
		}}
}

func boolean(p func(*Config) *bool) accessor {
	return accessor{func(c *Config) string { return strconv.FormatBool(*p(c)) },
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a boolean", v)
			}
			*p(c) = b
			return nil
		}}
}

func rateLimit(p func(*Config) *RateLimit) accessor {
	return accessor{func(c *Config) string { return p(c).String() },
		func(c *Config, v string) error {
			r, err := ParseRateLimit(v)
			if err != nil {
				return err
			}
			*p(c) = r
			return nil
		}}
}

func backfill(c *Config) string {
	if c.Sync.BackfillDays == 0 {
		return "all"
	}
	return strconv.Itoa(c.Sync.BackfillDays)
}

func setBackfill(c *Config, v string) error {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "all") {
		c.Sync.BackfillDays = 0
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a number of days or \"all\"", v)
	}
	c.Sync.BackfillDays = n
	return nil
}

func mk(name, flag, usage string, secret bool, a accessor) envVar {
	return envVar{name: name, flag: flag, usage: usage, secret: secret, accessor: a}
}

// vars lists every setting. DataDir and DatabaseURL have no flags here:
// the store flags (--data, --database-url) are shared by every command
// that opens the store and are copied in by the caller.
func vars() []envVar {
	v := func(name, flag, usage string, a accessor) envVar { return mk(name, flag, usage, false, a) }
	s := func(name, flag, usage string, a accessor) envVar { return mk(name, flag, usage, true, a) }
	return []envVar{
		v("WEARLINK_DATA", "", "data directory (SQLite)", str(func(c *Config) *string { return &c.DataDir })),
		s("WEARLINK_DATABASE_URL", "", "PostgreSQL URL", str(func(c *Config) *string { return &c.DatabaseURL })),
		v("WEARLINK_LISTEN", "listen", "HTTP listen address", str(func(c *Config) *string { return &c.Listen })),
		v("WEARLINK_PUBLIC_URL", "public-url", "base URL at which Oura reaches this server (webhook callback); default http://<listen>", str(func(c *Config) *string { return &c.PublicURL })),
		v("WEARLINK_ROLE", "role", "what this process runs: all, api (HTTP only) or worker (jobs only)", str(func(c *Config) *string { return &c.Role })),
		v("WEARLINK_LOG_LEVEL", "log-level", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })),
		v("WEARLINK_LOG_FORMAT", "log-format", "text or json", str(func(c *Config) *string { return &c.LogFormat })),
		v("WEARLINK_SHUTDOWN_TIMEOUT", "shutdown-timeout", "how long a graceful stop may take", duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })),
		v("WEARLINK_ALLOW_PRIVATE_WEBHOOKS", "allow-private-webhooks", "let clients' webhook URLs and destinations resolve to private, loopback and link-local addresses", boolean(func(c *Config) *bool { return &c.AllowPrivateWebhooks })),

		v("WEARLINK_OURA_API_URL", "oura-api-url", "Oura API base URL", str(func(c *Config) *string { return &c.Oura.APIBaseURL })),
		v("WEARLINK_OURA_CLIENT_ID", "oura-client-id", "Oura OAuth client id (unset, with role all and the Oura URLs at their defaults: wearlink runs a built-in Oura simulator and uses it)", str(func(c *Config) *string { return &c.Oura.ClientID })),
		s("WEARLINK_OURA_CLIENT_SECRET", "oura-client-secret", "Oura OAuth client secret (prefer the environment)", str(func(c *Config) *string { return &c.Oura.ClientSecret })),
		v("WEARLINK_OURA_AUTH_URL", "oura-auth-url", "Oura OAuth authorize URL", str(func(c *Config) *string { return &c.Oura.AuthURL })),
		v("WEARLINK_OURA_TOKEN_URL", "oura-token-url", "Oura OAuth token URL", str(func(c *Config) *string { return &c.Oura.TokenURL })),
		v("WEARLINK_OURA_REVOKE_URL", "oura-revoke-url", "Oura OAuth revoke URL", str(func(c *Config) *string { return &c.Oura.RevokeURL })),
		s("WEARLINK_OURA_WEBHOOK_TOKEN", "oura-webhook-token", "verification token of Oura webhook subscriptions (prefer the environment)", str(func(c *Config) *string { return &c.Oura.WebhookVerificationToken })),
		v("WEARLINK_OURA_MANAGE_WEBHOOKS", "oura-manage-webhooks", "create and renew Oura webhook subscriptions", boolean(func(c *Config) *bool { return &c.Oura.ManageWebhooks })),
		v("WEARLINK_OURA_APP_RATE_LIMIT", "oura-app-rate-limit", "Oura requests per window for the whole application (N/DURATION, 0 = none)", rateLimit(func(c *Config) *RateLimit { return &c.Oura.AppRateLimit })),
		v("WEARLINK_OURA_TOKEN_RATE_LIMIT", "oura-token-rate-limit", "Oura requests per window for each access token (N/DURATION, 0 = none)", rateLimit(func(c *Config) *RateLimit { return &c.Oura.TokenRateLimit })),
		v("WEARLINK_WHOOP_API_URL", "whoop-api-url", "WHOOP API base URL", str(func(c *Config) *string { return &c.Whoop.APIBaseURL })),
		v("WEARLINK_WHOOP_OAUTH_URL", "whoop-oauth-url", "WHOOP OAuth base URL (its /oauth/oauth2/auth and /oauth/oauth2/token)", str(func(c *Config) *string { return &c.Whoop.OAuthBaseURL })),
		v("WEARLINK_WHOOP_CLIENT_ID", "whoop-client-id", "WHOOP OAuth client id (unset, with role all and the WHOOP URLs at their defaults: wearlink runs a built-in WHOOP simulator and uses it)", str(func(c *Config) *string { return &c.Whoop.ClientID })),
		s("WEARLINK_WHOOP_CLIENT_SECRET", "whoop-client-secret", "WHOOP OAuth client secret, which also verifies WHOOP's webhook signatures (prefer the environment)", str(func(c *Config) *string { return &c.Whoop.ClientSecret })),
		v("WEARLINK_WHOOP_REQUESTS_PER_MINUTE", "whoop-requests-per-minute", "WHOOP requests a minute for the whole application (WHOOP's default unless it raised yours)", integer(func(c *Config) *int { return &c.Whoop.RequestsPerMinute })),
		v("WEARLINK_WHOOP_REQUESTS_PER_DAY", "whoop-requests-per-day", "WHOOP requests a day for the whole application (WHOOP's default unless it raised yours)", integer(func(c *Config) *int { return &c.Whoop.RequestsPerDay })),
		v("WEARLINK_WITHINGS_API_URL", "withings-api-url", "Withings API base URL (its /measure, /v2/sleep, ... and the token endpoint /v2/oauth2)", str(func(c *Config) *string { return &c.Withings.APIBaseURL })),
		v("WEARLINK_WITHINGS_AUTH_URL", "withings-auth-url", "Withings authorize URL", str(func(c *Config) *string { return &c.Withings.AuthURL })),
		v("WEARLINK_WITHINGS_CLIENT_ID", "withings-client-id", "Withings OAuth client id (unset, with role all and the Withings URLs at their defaults: wearlink runs a built-in Withings simulator and uses it)", str(func(c *Config) *string { return &c.Withings.ClientID })),
		s("WEARLINK_WITHINGS_CLIENT_SECRET", "withings-client-secret", "Withings OAuth client secret (prefer the environment)", str(func(c *Config) *string { return &c.Withings.ClientSecret })),
		v("WEARLINK_WITHINGS_REQUESTS_PER_MINUTE", "withings-requests-per-minute", "Withings requests a minute for the whole application (Withings' default unless it raised yours)", integer(func(c *Config) *int { return &c.Withings.RequestsPerMinute })),

		v("WEARLINK_BACKFILL_DAYS", "backfill-days", "days of history pulled for a new connection (\"all\" or 0: the whole history)", accessor{backfill, setBackfill}),
		v("WEARLINK_BACKFILL_WORKERS", "backfill-workers", "concurrent backfill jobs", integer(func(c *Config) *int { return &c.Sync.BackfillWorkers })),
		v("WEARLINK_FETCH_WORKERS", "fetch-workers", "concurrent webhook fetch jobs", integer(func(c *Config) *int { return &c.Sync.FetchWorkers })),
		v("WEARLINK_POLL_WORKERS", "poll-workers", "concurrent poll and maintenance jobs", integer(func(c *Config) *int { return &c.Sync.PollWorkers })),
		v("WEARLINK_FETCH_SETTLE", "fetch-settle", "how long the read after a provider's notification waits for the rest of its sync", duration(func(c *Config) *time.Duration { return &c.Sync.FetchSettle })),
		v("WEARLINK_POLL_CHECK", "poll-check", "how often connections are checked for due polls", duration(func(c *Config) *time.Duration { return &c.Sync.PollCheck })),
		v("WEARLINK_RECONCILE_HEALTHY", "reconcile-healthy", "re-read interval of a collection while the connection's webhooks arrive", duration(func(c *Config) *time.Duration { return &c.Sync.ReconcileHealthy })),
		v("WEARLINK_RECONCILE_SILENT", "reconcile-silent", "re-read interval while the connection's webhooks are silent", duration(func(c *Config) *time.Duration { return &c.Sync.ReconcileSilent })),
		v("WEARLINK_SILENT_AFTER", "silent-after", "webhooks count as silent after this long without a notification", duration(func(c *Config) *time.Duration { return &c.Sync.SilentAfter })),
		v("WEARLINK_ERASE_BATCH_SIZE", "erase-batch-size", "rows deleted per transaction when erasing a user or purging old data", integer(func(c *Config) *int { return &c.Erase.BatchSize })),
		v("WEARLINK_ERASE_BATCH_PAUSE", "erase-batch-pause", "pause between two batches of an erasure, to leave the database to other work", duration(func(c *Config) *time.Duration { return &c.Erase.BatchPause })),
	}
}

// FromEnv returns the defaults overridden by the environment, read through
// lookup (os.LookupEnv in production). Every malformed variable is
// reported.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := Default()
	var errs []error
	for _, v := range vars() {
		s, ok := lookup(v.name)
		if !ok || s == "" {
			continue
		}
		if err := v.set(&c, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.name, err))
		}
	}
	return c, errors.Join(errs...)
}

// flagValue adapts one setting to pflag.
type flagValue struct {
	c *Config
	v envVar
}

func (f flagValue) String() string {
	if f.c == nil {
		return ""
	}
	if f.v.secret {
		return ""
	}
	return f.v.get(f.c)
}
func (f flagValue) Set(s string) error { return f.v.set(f.c, s) }
func (f flagValue) Type() string       { return "string" }

// RegisterFlags adds a flag for every setting that has one. Flags write
// into c when parsed, so load the environment into c first: flags then
// override it.
func (c *Config) RegisterFlags(fs *pflag.FlagSet) {
	for _, v := range vars() {
		if v.flag == "" {
			continue
		}
		usage := v.usage + " (env " + v.name + ")"
		fs.Var(flagValue{c: c, v: v}, v.flag, usage)
	}
}

// RegisterFlagsFor adds the flags named (without "--") only, for commands
// that need a few settings.
func (c *Config) RegisterFlagsFor(fs *pflag.FlagSet, names ...string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, v := range vars() {
		if v.flag != "" && want[v.flag] {
			fs.Var(flagValue{c: c, v: v}, v.flag, v.usage+" (env "+v.name+")")
		}
	}
}

// Validate reports every setting that cannot work.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.DataDir == "" && c.DatabaseURL == "" {
		bad("a data directory or a database URL is required")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database URL must be a postgres:// URL")
		}
	}
	switch c.Role {
	case RoleAll, RoleAPI, RoleWorker:
	default:
		bad("role %q: want all, api or worker", c.Role)
	}
	if c.Role != RoleWorker {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			bad("listen address %q: %v", c.Listen, err)
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public URL %q must be an absolute http(s) URL", c.PublicURL)
		}
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		bad("%v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log format %q: want text or json", c.LogFormat)
	}
	for name, s := range map[string]string{"Oura API URL": c.Oura.APIBaseURL, "Oura authorize URL": c.Oura.AuthURL, "Oura token URL": c.Oura.TokenURL, "Oura revoke URL": c.Oura.RevokeURL} {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s %q must be an absolute http(s) URL", name, s)
		}
	}
	if (c.Oura.ClientID == "") != (c.Oura.ClientSecret == "") {
		bad("Oura client id and client secret go together")
	}
	for name, s := range map[string]string{"WHOOP API URL": c.Whoop.APIBaseURL, "WHOOP OAuth URL": c.Whoop.OAuthBaseURL} {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s %q must be an absolute http(s) URL", name, s)
		}
	}
	if (c.Whoop.ClientID == "") != (c.Whoop.ClientSecret == "") {
		bad("WHOOP client id and client secret go together")
	}
	for name, s := range map[string]string{"Withings API URL": c.Withings.APIBaseURL, "Withings authorize URL": c.Withings.AuthURL} {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s %q must be an absolute http(s) URL", name, s)
		}
	}
	if (c.Withings.ClientID == "") != (c.Withings.ClientSecret == "") {
		bad("Withings client id and client secret go together")
	}
	for name, n := range map[string]int{"WHOOP requests per minute": c.Whoop.RequestsPerMinute, "WHOOP requests per day": c.Whoop.RequestsPerDay, "Withings requests per minute": c.Withings.RequestsPerMinute} {
		if n < 1 {
			bad("%s must be at least 1, got %d", name, n)
		}
	}
	if c.Sync.BackfillDays < 0 {
		bad("backfill days must be >= 0 (0 = whole history)")
	}
	for name, n := range map[string]int{"erase batch size": c.Erase.BatchSize, "backfill workers": c.Sync.BackfillWorkers, "fetch workers": c.Sync.FetchWorkers, "poll workers": c.Sync.PollWorkers} {
		if n < 1 || n > 1000 {
			bad("%s must be between 1 and 1000, got %d", name, n)
		}
	}
	for name, d := range map[string]time.Duration{"poll check": c.Sync.PollCheck, "healthy reconcile interval": c.Sync.ReconcileHealthy, "silent reconcile interval": c.Sync.ReconcileSilent, "silent-after": c.Sync.SilentAfter, "shutdown timeout": c.ShutdownTimeout} {
		if d <= 0 {
			bad("%s must be positive", name)
		}
	}
	if d := c.Sync.FetchSettle; d < time.Millisecond || d > time.Minute {
		// Longer than a minute holds every sync back for nothing.
		bad("fetch settle must be between 1ms and 1m, got %s", d)
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return nil
}

// WebhooksEnabled reports whether subscriptions can and should be managed.
func (c *Config) WebhooksEnabled() bool {
	return c.Oura.ManageWebhooks && c.Oura.ClientID != "" && c.Oura.ClientSecret != "" && c.Oura.WebhookVerificationToken != ""
}

// PublicBase is where browsers and Oura reach this server: PublicURL, or
// http://Listen.
func (c *Config) PublicBase() string {
	base := c.PublicURL
	if base == "" {
		base = "http://" + c.Listen
	}
	return strings.TrimRight(base, "/")
}

// CallbackURL is the Oura webhook callback: PublicBase plus /oura/webhook.
func (c *Config) CallbackURL() string { return c.PublicBase() + "/oura/webhook" }

// ParseLevel reads a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// String lists the settings, one per line, with secrets replaced by
// "(set)" or "(unset)", so it can be logged or printed.
func (c Config) String() string {
	var b strings.Builder
	for _, v := range vars() {
		val := v.get(&c)
		if v.secret {
			if val == "" {
				val = "(unset)"
			} else {
				val = "(set)"
			}
		} else if v.name == "WEARLINK_PUBLIC_URL" && val == "" {
			val = "(default " + c.PublicBase() + ")"
		}
		fmt.Fprintf(&b, "%s=%s\n", v.name, val)
	}
	return b.String()
}

// Setting describes one setting for documentation: its environment
// variable, its flag ("" when it has none here) and its default.
type Setting struct {
	Env, Flag, Usage, Default string
	Secret                    bool
}

// Settings lists every setting in the order of vars, with Default()'s
// values.
func Settings() []Setting {
	d := Default()
	var out []Setting
	for _, v := range vars() {
		out = append(out, Setting{Env: v.name, Flag: v.flag, Usage: v.usage, Default: v.get(&d), Secret: v.secret})
	}
	return out
}
