package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/withings"
	"github.com/wearlink/wearlink/internal/pull"
)

const pullLong = `Copy your own history at a provider (--data-source, default oura) into a
directory: every collection, fetched in parallel (30-day windows for time
series, 90 days for the rest, within the provider's rate limits).

Authenticate with a personal access token (--token, or the environment
variable <DATA_SOURCE>_TOKEN: OURA_TOKEN for Oura, WHOOP_TOKEN for WHOOP,
WITHINGS_TOKEN for Withings), or,
for Oura, log in with the browser: give the client id and secret of an Oura
application (--client-id, --client-secret) whose redirect URI is
--redirect-url; the command listens there on this machine, prints the address
to open, and goes on once you have allowed access.

Files written under --out (default <data_source>-data):
  <prefix><collection>.json   the documents exactly as the provider sent them,
                              one JSON array per collection, sorted by day and
                              time; the prefix is oura-v2- for Oura (the names
                              of the Open Humans export), <data_source>- else
  rook/<structure>.json       the same data as ROOK documents (sleep_summary,
                              physical_summary, body_summary, activity_event ...)
  csv/<table>.csv             one row per document, nested fields as dotted
  parquet/<table>.parquet     columns (contributors.deep_sleep), arrays as JSON
                              text; tables <prefix><collection>, rook-<structure>
                              and the provider's long sample tables (Oura:
                              sleep_heart_rate, sleep_hrv, sleep_hypnogram,
                              activity_met, heartrate, interbeat_interval; WHOOP:
                              workout_heart_rate_zones)
  fhir/<Type>.ndjson          with --format fhir: the ROOK documents as FHIR R4
                              Patient, Device and Observation resources, one
                              a line (FHIR Bulk Data's NDJSON)
  .wearlink-pull.json         how far each collection is complete

Run it again to update: only the days after the last complete one are
fetched (and the last two again, since providers still revise them), merged
into the files by document id. A directory holds one provider's data.`

type pullOptions struct {
	dataSource   string
	token        string
	since, until string
	out          string
	baseURL      string
	clientID     string
	clientSecret string
	authURL      string
	tokenURL     string
	redirectURL  string
	loginTimeout time.Duration
	timeZone     string
	collections  []string
	workers      int
	format       string
}

func newPullCmd() *cobra.Command {
	var o pullOptions
	cmd := &cobra.Command{
		Use:   "pull --since YYYY-MM-DD [--data-source oura] [--token T | --client-id ID --client-secret S] [--out DIR]",
		Short: "Download your history at a provider as raw JSON, ROOK JSON, CSV and Parquet",
		Long:  pullLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPull(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataSource, "data-source", oura.DataSource, "provider to read from")
	f.StringVar(&o.token, "token", "", "access token (default: $<DATA_SOURCE>_TOKEN, such as $OURA_TOKEN)")
	f.StringVar(&o.since, "since", "", "first day, YYYY-MM-DD (required the first time; later runs in --out start where the first did)")
	f.StringVar(&o.until, "until", "", "last day, YYYY-MM-DD (default: today)")
	f.StringVar(&o.out, "out", "", "directory of the files (default: <data_source>-data)")
	f.StringVar(&o.baseURL, "base-url", "", "API address (default: the provider's; a simulator's, to try it out)")
	f.StringVar(&o.clientID, "client-id", "", "Oura application client id, to log in with the browser instead of --token")
	f.StringVar(&o.clientSecret, "client-secret", "", "Oura application client secret")
	f.StringVar(&o.authURL, "auth-url", "", "OAuth authorize address (default: Oura's, or <base-url>/oauth/authorize with --base-url)")
	f.StringVar(&o.tokenURL, "token-url", "", "OAuth token address (default: Oura's, or <base-url>/oauth/token with --base-url)")
	f.StringVar(&o.redirectURL, "redirect-url", "http://localhost:8089/callback", "redirect URI registered for the application; the login listens there (port 0: any free port)")
	f.DurationVar(&o.loginTimeout, "login-timeout", 5*time.Minute, "how long to wait for the browser login")
	f.StringVar(&o.timeZone, "time-zone", "", "your IANA time zone: places heart-rate rows on days (default: UTC) and ROOK samples (default: the offsets in your data)")
	f.StringSliceVar(&o.collections, "collections", nil, "only these collections, comma-separated (default: all)")
	f.IntVar(&o.workers, "workers", 8, "requests in flight at once")
	f.StringVar(&o.format, "format", "", "fhir: also write FHIR R4 NDJSON under fhir/ (default: raw, ROOK, CSV and Parquet only)")
	return cmd
}

func runPull(ctx context.Context, o pullOptions, stdout, stderr io.Writer) error {
	apiURL := o.baseURL
	if apiURL == "" {
		apiURL = liveAPIURL(o.dataSource)
	}
	p, err := registeredProvider(o.dataSource, apiURL)
	if err != nil {
		return err
	}
	if o.out == "" {
		o.out = o.dataSource + "-data"
	}
	opt := pull.Options{Provider: p, Out: o.out, Since: o.since, Until: o.until, Collections: o.collections, Workers: o.workers}
	switch o.format {
	case "":
	case "fhir":
		opt.FHIR = true
	default:
		return fmt.Errorf("--format %q: the only format there is besides the default is fhir", o.format)
	}
	if o.timeZone != "" {
		loc, err := loadTimeZone(o.timeZone)
		if err != nil {
			return err
		}
		opt.Location = loc
	}
	tokenVar := strings.ToUpper(o.dataSource) + "_TOKEN"
	if o.token == "" {
		o.token = os.Getenv(tokenVar)
	}
	switch {
	case o.clientID != "" || o.clientSecret != "":
		if o.dataSource != oura.DataSource {
			return fmt.Errorf("the browser login is only there for %s so far; give --token (or set %s)", oura.DataSource, tokenVar)
		}
		opt.Auth, err = browserLogin(ctx, o, stderr)
		if err != nil {
			return err
		}
	case o.token != "":
		opt.Auth = provider.StaticToken(o.token)
	default:
		return fmt.Errorf("no credentials: give --token (or set %s), or --client-id and --client-secret to log in with the browser", tokenVar)
	}
	opt.Progress = newPullProgress(stderr)
	// Documents that cannot be normalized are named, and the rest goes on.
	opt.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sum, err := pull.Run(ctx, opt)
	if sum != nil {
		for coll, why := range sum.Skipped {
			fmt.Fprintf(stderr, "pull: %s skipped: %s\n", coll, why)
		}
		fmt.Fprintf(stdout, "pull: %d windows fetched; %d files under %s\n", sum.Windows, len(sum.Files), o.out)
	}
	return err
}

// registeredProvider takes the provider of dataSource from the registry
// every wearlink command builds, reading the API at baseURL. Every provider
// is built (at the same address: only the one returned reads it), so that
// an unknown data source is answered with the names of those there are.
// The address is required: the live one is the command's default (see
// liveAPIURL), so that a caller which forgets it fails here instead of
// reaching a provider.
func registeredProvider(dataSource, baseURL string) (provider.Provider, error) {
	if baseURL == "" {
		return nil, errors.New("pull: no API address")
	}
	ouraClient, err := oura.New(oura.Config{BaseURL: baseURL})
	if err != nil {
		return nil, err
	}
	whoopClient, err := whoop.New(whoop.ClientConfig{BaseURL: baseURL})
	if err != nil {
		return nil, err
	}
	withingsClient, err := withings.New(withings.ClientConfig{BaseURL: baseURL})
	if err != nil {
		return nil, err
	}
	// No OAuth here: the token is given (the browser login builds its own).
	built, err := all.Registry(all.Config{
		Oura:     &all.OuraConfig{Client: ouraClient},
		Whoop:    &all.WhoopConfig{Client: whoopClient, OAuthBaseURL: baseURL},
		Withings: &all.WithingsConfig{Client: withingsClient, AuthURL: baseURL},
	})
	if err != nil {
		return nil, err
	}
	return built.Registry.Get(dataSource)
}

// offlineURL is the API address of providers that are built but never
// read: the normalize command's, and those of an unknown data source
// (which the registry answers with the names it knows). The .invalid name
// never resolves.
const offlineURL = "http://offline.invalid"

// liveAPIURL is a provider's production API, where --base-url is not given.
func liveAPIURL(dataSource string) string {
	switch dataSource {
	case oura.DataSource:
		return all.LiveOura().APIURL
	case whoop.DataSource:
		return all.LiveWhoop().APIURL
	case withings.DataSource:
		return all.LiveWithings().APIURL
	}
	return offlineURL
}

// pullProgress draws a bar on a terminal and writes a line per window
// otherwise (a log file, a pipe).
type pullProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int
	done  int
}

func newPullProgress(w io.Writer) *pullProgress {
	p := &pullProgress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("pull"),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
		}
	}
	return p
}

func (p *pullProgress) Planned(n int) {
	p.total = n
	if p.bar != nil {
		p.bar.ChangeMax(n)
	}
}

func (p *pullProgress) Fetched(w pull.Window, docs int, err error) {
	p.done++
	if err != nil {
		if p.bar != nil {
			_ = p.bar.Clear()
		}
		fmt.Fprintf(p.w, "pull: %s failed: %v\n", w, err)
	}
	if p.bar != nil {
		p.bar.Describe(w.Collection)
		_ = p.bar.Add(1)
		return
	}
	if err == nil {
		fmt.Fprintf(p.w, "pull: %s: %d documents [%d/%d]\n", w, docs, p.done, p.total)
	}
}

func (p *pullProgress) Writing() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	fmt.Fprintln(p.w, "pull: writing files")
}

// browserLogin runs the OAuth authorization-code flow with a listener on
// this machine as the redirect URI.
func browserLogin(ctx context.Context, o pullOptions, stderr io.Writer) (provider.Auth, error) {
	if o.clientID == "" || o.clientSecret == "" {
		return nil, errors.New("the browser login needs both --client-id and --client-secret")
	}
	redirect, err := url.Parse(o.redirectURL)
	if err != nil || redirect.Scheme != "http" || redirect.Host == "" {
		return nil, fmt.Errorf("--redirect-url %q: want http://host:port/path on this machine", o.redirectURL)
	}
	ln, err := net.Listen("tcp", redirect.Host)
	if err != nil {
		return nil, fmt.Errorf("listen for the login redirect on %s: %w", redirect.Host, err)
	}
	defer ln.Close()
	if redirect.Port() == "0" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		redirect.Host = net.JoinHostPort(redirect.Hostname(), port)
	}
	if redirect.Path == "" {
		redirect.Path = "/"
	}
	// Oura's endpoints by default; a simulator's beside its API.
	authURL, tokenURL := all.LiveOura().AuthURL, all.LiveOura().TokenURL
	if base := strings.TrimRight(o.baseURL, "/"); base != "" && base != strings.TrimRight(all.LiveOura().APIURL, "/") {
		authURL, tokenURL = base+"/oauth/authorize", base+"/oauth/token"
	}
	if o.authURL != "" {
		authURL = o.authURL
	}
	if o.tokenURL != "" {
		tokenURL = o.tokenURL
	}
	flow, err := oura.NewOAuth(oura.OAuthConfig{ClientID: o.clientID, ClientSecret: o.clientSecret, RedirectURL: redirect.String(), AuthURL: authURL, TokenURL: tokenURL})
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	state := base64.RawURLEncoding.EncodeToString(nonce[:])

	type answer struct {
		code string
		err  error
	}
	answers := make(chan answer, 1)
	mux := http.NewServeMux()
	mux.HandleFunc(redirect.Path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var a answer
		switch {
		case q.Get("state") != state:
			http.Error(w, "This login link is not the one wearlink is waiting for.", http.StatusBadRequest)
			return
		case q.Get("error") != "":
			a.err = fmt.Errorf("the login was refused: %s %s", q.Get("error"), q.Get("error_description"))
			fmt.Fprintln(w, "Access was not granted. You can close this window.")
		case q.Get("code") == "":
			a.err = errors.New("the login redirect carried no code")
			http.Error(w, "No authorization code.", http.StatusBadRequest)
		default:
			a.code = q.Get("code")
			fmt.Fprintln(w, "wearlink may now read your Oura data. You can close this window.")
		}
		select {
		case answers <- a:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// Shutdown, not Close: the handler hands over the code before its
	// page is sent, and Close would cut the browser's connection mid-answer.
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Fprintf(stderr, "Open this address in a browser and allow access:\n\n  %s\n\nWaiting for the redirect to %s ...\n", flow.AuthCodeURL(state), redirect)
	wait, cancel := context.WithTimeout(ctx, o.loginTimeout)
	defer cancel()
	select {
	case a := <-answers:
		if a.err != nil {
			return nil, a.err
		}
		tok, err := flow.Exchange(ctx, a.code)
		if err != nil {
			return nil, fmt.Errorf("exchange the login code for a token: %w", err)
		}
		return flow.NewTokenSource(tok, nil, time.Now), nil
	case <-wait.Done():
		return nil, fmt.Errorf("no login within %s: %w", o.loginTimeout, wait.Err())
	}
}
