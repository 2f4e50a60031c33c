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
	"golang.org/x/oauth2"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/oauthkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/withings"
	"github.com/wearlink/wearlink/internal/pull"
)

const pullLong = `Copy your own history at a provider (--data-source, default oura) into a
directory: every collection, fetched in parallel (30-day windows for time
series, 90 days for the rest, within the provider's rate limits).

Log in with the browser, through an Oura application of your own (Oura no
longer issues personal access tokens). Register it once in the Oura developer
portal (cloud.ouraring.com, "My applications") with
  redirect URI  http://localhost:8089/callback (--redirect-url's default)
  scopes        email personal daily heartrate workout tag session spo2
                spo2Daily stress ring_configuration heart_health: tick those
                the portal offers (a scope left out only skips its
                collections)
An application Oura has not approved is limited to 10 users: plenty for one
person. Then give its --client-id and --client-secret: the command listens at
the redirect URI on this machine, prints the address to open, and goes on once
you have allowed access. The grant is kept in <out>/.wearlink-grant.json,
readable by you only (the client secret is not kept), and refreshed as it
expires: later runs with the same --out, --client-id and --client-secret need
no login until the access is revoked (then the file is removed and the login
asked for again). WHOOP (--data-source whoop) logs in the same way, with an
application from WHOOP's developer dashboard with the same redirect URI and
the scopes read:recovery read:cycles read:workout read:sleep read:profile
read:body_measurement offline.

--token, or the environment variable <DATA_SOURCE>_TOKEN (OURA_TOKEN for Oura,
WHOOP_TOKEN for WHOOP, WITHINGS_TOKEN for Withings), is an access token
obtained elsewhere instead; for Withings it is the only way so far.

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
  .wearlink-grant.json        the login's grant (mode 0600), as said above

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
	// now is the clock token expiries are computed and compared on.
	now func() time.Time
}

// newPullCmd builds the command; now is its clock (tests move it on to
// expire a saved login).
func newPullCmd(now func() time.Time) *cobra.Command {
	o := pullOptions{now: now}
	cmd := &cobra.Command{
		Use:   "pull --since YYYY-MM-DD [--data-source oura] [--client-id ID --client-secret S | --token T] [--out DIR]",
		Short: "Download your history at a provider as raw JSON, ROOK JSON, CSV and Parquet",
		Long:  pullLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPull(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataSource, "data-source", oura.DataSource, "provider to read from")
	f.StringVar(&o.token, "token", "", "access token obtained elsewhere, instead of the login (default: $<DATA_SOURCE>_TOKEN, such as $OURA_TOKEN)")
	f.StringVar(&o.since, "since", "", "first day, YYYY-MM-DD (required the first time; later runs in --out start where the first did)")
	f.StringVar(&o.until, "until", "", "last day, YYYY-MM-DD (default: today)")
	f.StringVar(&o.out, "out", "", "directory of the files (default: <data_source>-data)")
	f.StringVar(&o.baseURL, "base-url", "", "API address (default: the provider's; a simulator's, to try it out)")
	f.StringVar(&o.clientID, "client-id", "", "client id of your Oura (or WHOOP) application: log in with the browser (once; the grant is kept in --out)")
	f.StringVar(&o.clientSecret, "client-secret", "", "client secret of that application (not kept in --out)")
	f.StringVar(&o.authURL, "auth-url", "", "OAuth authorize address (default: the provider's, or the simulator's beside --base-url)")
	f.StringVar(&o.tokenURL, "token-url", "", "OAuth token address (default: the provider's, or the simulator's beside --base-url)")
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
		if o.dataSource != oura.DataSource && o.dataSource != whoop.DataSource {
			return fmt.Errorf("the browser login is only there for %s and %s so far; give --token (or set %s)", oura.DataSource, whoop.DataSource, tokenVar)
		}
		opt.Auth, err = loginAuth(ctx, o, p, apiURL, stderr)
		if err != nil {
			return err
		}
	case o.token != "":
		opt.Auth = provider.StaticToken(o.token)
	default:
		return fmt.Errorf("no credentials: give --client-id and --client-secret of your application to log in with the browser (once: the login is kept in --out), or --token (or set %s) with a token obtained elsewhere", tokenVar)
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
		Whoop:    &all.WhoopConfig{Client: whoopClient, OAuthBaseURL: whoopOAuthBaseURL(baseURL)},
		Withings: &all.WithingsConfig{Client: withingsClient, AuthURL: baseURL},
	})
	if err != nil {
		return nil, err
	}
	return built.Registry.Get(dataSource)
}

// whoopOAuthBaseURL is the host of WHOOP's OAuth endpoints for the API at
// apiURL: WHOOP serves the API under /developer beside them, and so does
// its simulator.
func whoopOAuthBaseURL(apiURL string) string {
	if strings.TrimRight(apiURL, "/") == strings.TrimRight(all.LiveWhoop().APIURL, "/") {
		return all.LiveWhoop().OAuthURL
	}
	return strings.TrimSuffix(strings.TrimRight(apiURL, "/"), "/developer")
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

// loginFlow is what a pull's login needs of a provider's OAuth flow.
type loginFlow interface {
	provider.Refresher
	AuthCodeURL(state string, extra ...oauth2.AuthCodeOption) string
	Exchange(ctx context.Context, code string, opts ...oauth2.AuthCodeOption) (provider.Tokens, error)
}

// loginAuth is the Auth of a pull with an application's credentials: the
// grant an earlier login saved in --out while the provider still accepts
// it, else a browser login, whose grant is saved there for the next runs.
// Either refreshes itself and saves every rotated refresh token.
func loginAuth(ctx context.Context, o pullOptions, p provider.Provider, apiURL string, stderr io.Writer) (provider.Auth, error) {
	if o.clientID == "" || o.clientSecret == "" {
		return nil, errors.New("the browser login needs both --client-id and --client-secret")
	}
	// The provider's endpoints, at the --base-url's host (a simulator's)
	// where it is given.
	oa := p.Info().OAuth
	if o.dataSource == oura.DataSource {
		oa.AuthURL, oa.TokenURL = all.LiveOura().AuthURL, all.LiveOura().TokenURL
		if base := strings.TrimRight(o.baseURL, "/"); base != "" && base != strings.TrimRight(all.LiveOura().APIURL, "/") {
			oa.AuthURL, oa.TokenURL = base+"/oauth/authorize", base+"/oauth/token"
		}
	}
	if o.authURL != "" {
		oa.AuthURL = o.authURL
	}
	if o.tokenURL != "" {
		oa.TokenURL = o.tokenURL
	}
	authURL, tokenURL := oa.AuthURL, oa.TokenURL
	newFlow := func(redirectURL string) (loginFlow, error) {
		if o.dataSource == oura.DataSource {
			return oura.NewOAuth(oura.OAuthConfig{ClientID: o.clientID, ClientSecret: o.clientSecret, RedirectURL: redirectURL,
				AuthURL: authURL, TokenURL: tokenURL, Now: o.now})
		}
		// WHOOP's OAuth is the standard one its Info describes.
		return oauthkit.New(oauthkit.Config{OAuth: oa, ClientID: o.clientID, ClientSecret: o.clientSecret, RedirectURL: redirectURL, Now: o.now})
	}
	want := savedGrant{DataSource: o.dataSource, ClientID: o.clientID, APIURL: apiURL, AuthURL: authURL, TokenURL: tokenURL}
	path := grantPath(o.out)
	saved, err := loadGrant(o.out)
	if err != nil {
		return nil, err
	}
	switch {
	case saved == nil:
	case !saved.sameApplication(want):
		fmt.Fprintf(stderr, "pull: the login saved in %s is for another application or API: logging in again\n", path)
	default:
		flow, err := newFlow(o.redirectURL)
		if err != nil {
			return nil, err
		}
		ts := provider.NewTokenSource(flow, saved.tokens(), grantSaver(o.out, *saved), o.now)
		// One cheap request tells a live grant from one that was revoked
		// (or refreshes an expired one) before anything is fetched.
		_, err = p.Identify(ctx, ts)
		switch provider.KindOf(err) {
		case provider.KindInvalidToken:
			if err := removeGrant(o.out); err != nil {
				return nil, err
			}
			fmt.Fprintf(stderr, "pull: %s refused the login saved in %s (access revoked, or the grant expired): removed it; log in again\n",
				p.Info().Name, path)
		case provider.KindMissingScope, provider.KindForbidden:
			// The account data was not granted, or the membership
			// lapsed: the grant itself is good, and pull says the rest.
			return ts, nil
		default:
			if err != nil {
				return nil, fmt.Errorf("check the login saved in %s: %w", path, err)
			}
			return ts, nil
		}
	}
	flow, tok, err := browserLogin(ctx, o, newFlow, stderr)
	if err != nil {
		return nil, err
	}
	g := want
	g.setTokens(tok)
	if err := saveGrant(o.out, g); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "pull: login saved in %s (readable by you only): later runs with this --out need none\n", path)
	return provider.NewTokenSource(flow, tok, grantSaver(o.out, g), o.now), nil
}

// grantSaver keeps the grant file up to date with each rotation: Oura's and
// WHOOP's refresh tokens are single-use, so the old one in the file is dead.
func grantSaver(dir string, g savedGrant) provider.PersistFunc {
	return func(_ context.Context, t provider.Tokens) error {
		g.setTokens(t)
		return saveGrant(dir, g)
	}
}

// browserLogin runs the OAuth authorization-code flow with a listener on
// this machine as the redirect URI, and returns the flow and its grant.
func browserLogin(ctx context.Context, o pullOptions, newFlow func(redirectURL string) (loginFlow, error), stderr io.Writer) (loginFlow, provider.Tokens, error) {
	redirect, err := url.Parse(o.redirectURL)
	if err != nil || redirect.Scheme != "http" || redirect.Host == "" {
		return nil, provider.Tokens{}, fmt.Errorf("--redirect-url %q: want http://host:port/path on this machine", o.redirectURL)
	}
	ln, err := net.Listen("tcp", redirect.Host)
	if err != nil {
		return nil, provider.Tokens{}, fmt.Errorf("listen for the login redirect on %s: %w", redirect.Host, err)
	}
	defer ln.Close()
	if redirect.Port() == "0" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		redirect.Host = net.JoinHostPort(redirect.Hostname(), port)
	}
	if redirect.Path == "" {
		redirect.Path = "/"
	}
	flow, err := newFlow(redirect.String())
	if err != nil {
		return nil, provider.Tokens{}, err
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
			fmt.Fprintln(w, "wearlink may now read your data. You can close this window.")
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
			return nil, provider.Tokens{}, a.err
		}
		tok, err := flow.Exchange(ctx, a.code)
		if err != nil {
			return nil, provider.Tokens{}, fmt.Errorf("exchange the login code for a token: %w", err)
		}
		return flow, tok, nil
	case <-wait.Done():
		return nil, provider.Tokens{}, fmt.Errorf("no login within %s: %w", o.loginTimeout, wait.Err())
	}
}
