// Package demo runs the whole system in one process, with no account
// anywhere: the Oura and WHOOP simulators, wearlink on SQLite, and a
// webhook receiver that verifies every delivery. It seeds the constants of
// ROOK's documentation (client demoClientUUID with secret
// demoClientSecret, user demoUserId) so that ROOK's examples run unchanged
// against localhost, links the users through the real OAuth flows against
// the simulators (four on Oura, one on WHOOP), backfills them, then lets a
// simulated day pass every few seconds: Oura syncs each ring's new day and
// WHOOP scores its member's new night.
//
// The simulated world lives in autumn 2022, around ROOK's example day
// 2022-10-28: the sync engine runs on the simulators' clock, webhook
// delivery on real time (receivers check timestamps against their own
// clocks).
package demo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/provider/withings"
	withingssim "github.com/wearlink/wearlink/internal/provider/withings/sim"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// The test constants of ROOK's documentation.
const (
	ClientUUID   = "demoClientUUID"
	ClientSecret = "demoClientSecret"
	UserID       = "demoUserId"
	// ExampleDay is the date of ROOK's examples.
	ExampleDay = "2022-10-28"
)

// OuraUserIDs are the users linked to the simulated Oura accounts, in
// order: ROOK's example user to the first, one more per other account.
var OuraUserIDs = []string{UserID, "demoUser2", "demoUser3", "demoUser4"}

// WhoopUserID is the user linked to the simulated WHOOP member.
const WhoopUserID = "demoUser5"

// WithingsUserID is the user linked to the simulated Withings user (a
// scale, a blood-pressure cuff and a sleep analyzer).
const WithingsUserID = "demoUser6"

// UserIDs are all the demo's users: OuraUserIDs, then WhoopUserID and
// WithingsUserID.
var UserIDs = []string{UserID, "demoUser2", "demoUser3", "demoUser4", WhoopUserID, WithingsUserID}

// whoopMember is the simulated WHOOP member WhoopUserID approves as (the
// simulator's first, five hours west of UTC); the others of a larger
// roster approve as the next ones.
const whoopMember = 0

// The simulated world: Oura and WHOOP history from HistoryStart, "now" at
// SimStart (noon UTC, three days after the example day), of which the last
// Config.BackfillDays are pulled on linking.
var (
	SimStart     = time.Date(2022, 10, 31, 12, 0, 0, 0, time.UTC)
	HistoryStart = oura.Date("2022-10-01")
)

// Defaults of Config.
const (
	DefaultDataDir  = "./wearlink-demo"
	DefaultAddr     = "127.0.0.1:8080"
	DefaultInterval = 5 * time.Second
	DefaultDays     = 3
	// DefaultBackfillDays of history are pulled on linking.
	DefaultBackfillDays = 14
	// MinBackfillDays reach back to ExampleDay from SimStart, whatever the
	// user's time zone.
	MinBackfillDays = 5
)

// Paths of the receiver's endpoints.
const (
	DataPath         = "/webhooks/data"
	NotificationPath = "/webhooks/notifications"
)

// Config configures a demo.
type Config struct {
	// DataDir holds the SQLite database (default DefaultDataDir). A
	// directory a previous demo made is emptied first; any other must be
	// empty or absent.
	DataDir string
	// Addr is where the API listens (default DefaultAddr; port 0 picks a
	// free one).
	Addr string
	// Once runs the scenario, prints the summary and returns; otherwise
	// a simulated day passes every Interval until ctx ends.
	Once     bool
	Interval time.Duration
	// Days is how many simulated days Once syncs (default DefaultDays).
	Days int
	// BackfillDays is the history pulled on linking (default
	// DefaultBackfillDays, at least MinBackfillDays).
	BackfillDays int
	// Out receives the demo's output; Progress redraws the backfill's
	// progress in place (for a terminal) instead of printing lines.
	Out      io.Writer
	Progress bool
	// Logger receives wearlink's and the simulators' logs (default:
	// discarded).
	Logger *slog.Logger
	// MaxSyncP99 and MaxDeliveriesPerDocument, when not zero, are checks
	// of a Once run: the p99 from a simulated sync to the verified delivery
	// of its documents, and the deliveries per distinct document. The
	// command sets them (DefaultMaxSyncP99, DefaultMaxDeliveriesPerDocument);
	// tests leave them out, since a loaded machine is slower.
	MaxSyncP99               time.Duration
	MaxDeliveriesPerDocument float64
	// Scale multiplies the users of each provider (default 1: four Oura
	// users, one WHOOP member and one Withings user; the benchmark's load
	// is ten times that).
	Scale int
	// DatabaseURL, when set, puts wearlink on this PostgreSQL database
	// instead of SQLite in DataDir (which still holds the key file). It
	// must hold no demo client yet: the demo seeds its own.
	DatabaseURL string
	// Processes is how many wearlink processes (Apps, as many `serve`)
	// serve and work the database (default 1). More need DatabaseURL: on
	// SQLite one process works the jobs. The simulators notify the first;
	// every one works the jobs.
	Processes int
}

func (c *Config) fill() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Days <= 0 {
		c.Days = DefaultDays
	}
	if c.BackfillDays <= 0 {
		c.BackfillDays = DefaultBackfillDays
	}
	c.BackfillDays = max(c.BackfillDays, MinBackfillDays)
	c.Scale = max(c.Scale, 1)
	c.Processes = max(c.Processes, 1)
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// newDay is a day a simulator revealed during the demo.
type newDay struct {
	user, day string
	at        time.Time
}

type demo struct {
	cfg  Config
	out  *lockedWriter
	sim  *ourasim.Server
	rcv  *Receiver
	rsrv *http.Server
	rurl string
	app  *app.App
	api  string
	// users are the linked users by provider.
	users roster
	// live is set once the backfill is over: the receiver then prints a
	// line per delivery.
	live    atomic.Bool
	days    []newDay
	started time.Time
	// jobs reads the sync jobs' states (River's API on the same database).
	jobs jobLister
	// whoop is the WHOOP simulator, on the demo's simulated time too (see
	// whoopNights).
	whoop *whoopsim.Server
	// withings is the Withings simulator, on the Oura simulator's clock:
	// its user steps on the scale once per simulated day (see tick).
	withings *withingssim.Server
	// examples are the API paths the banner suggests, ROOK's example
	// request first; the summary checks that each answers 200.
	examples []string
	// page is the signed connections page link of UserID the banner
	// printed last (pageErr when it could not be had), and pageExp its
	// expiry.
	pageMu  sync.Mutex
	page    string
	pageExp time.Time
	pageErr error
}

// Run runs the demo until ctx ends or, with Once, the scenario is over. It
// returns the summary; its Failures say which checks did not hold.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	cfg.fill()
	d := &demo{cfg: cfg, out: &lockedWriter{w: cfg.Out}, started: time.Now(), users: newRoster(cfg.Scale)}
	return d.run(ctx)
}

// jobLister is what the demo asks of River, whichever the database.
type jobLister interface {
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

func (d *demo) run(ctx context.Context) (sum Summary, err error) {
	if d.cfg.Processes > 1 && d.cfg.DatabaseURL == "" {
		return sum, errors.New("more than one wearlink process needs PostgreSQL: on SQLite one process works the jobs")
	}
	// Listening first also keeps a second demo on the same address from
	// emptying the data directory of the first.
	ln, err := net.Listen("tcp", d.cfg.Addr)
	if err != nil {
		return sum, fmt.Errorf("listen %s: %w (choose another address with --addr)", d.cfg.Addr, err)
	}
	defer ln.Close()
	if err := prepareDir(d.cfg.DataDir); err != nil {
		return sum, err
	}
	if err := d.startSimulator(); err != nil {
		return sum, err
	}
	defer d.sim.Close()
	if err := d.startWhoopSimulator(ln.Addr().String()); err != nil {
		return sum, err
	}
	defer d.whoop.Close()
	if err := d.startWithingsSimulator(); err != nil {
		return sum, err
	}
	defer d.withings.Close()
	if err := d.startReceiver(); err != nil {
		return sum, err
	}
	defer d.rsrv.Close()

	runCtx, stopApp := context.WithCancel(context.WithoutCancel(ctx))
	defer stopApp()
	waitApps, err := d.startApp(runCtx, ln)
	if err != nil {
		if waitApps != nil {
			stopApp()
			_ = waitApps()
		}
		return sum, err
	}
	// Stop wearlink first (its running jobs may still post to the
	// receiver), then the simulators and the receiver.
	defer func() {
		stopApp()
		if rerr := waitApps(); rerr != nil && err == nil {
			err = rerr
		}
		_ = d.sim.Close()
		_ = d.whoop.Close()
		_ = d.withings.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.rsrv.Shutdown(sctx)
		cancel()
	}()

	// Interrupted (Ctrl-C): stop where we are; only --once counts it as
	// a failure.
	interrupted := func() bool {
		if ctx.Err() == nil {
			return false
		}
		if d.cfg.Once {
			sum.Failures = append(sum.Failures, "interrupted")
		}
		return true
	}
	if _, err := d.app.Engine().EnsureSubscriptions(ctx, "", d.api+"/oura/webhook"); err != nil {
		if interrupted() {
			return sum, nil
		}
		return sum, fmt.Errorf("Oura webhook subscriptions: %w", err)
	}
	linked := 0
	for _, u := range d.users.all {
		var err error
		switch {
		case slices.Contains(d.users.whoop, u):
			err = d.link(ctx, u, whoop.Name, whoopsim.HeaderAuthorizeUser, whoopMember+slices.Index(d.users.whoop, u))
		case slices.Contains(d.users.withings, u):
			// The simulator's next user not linked approves: the i-th
			// linked is its i-th.
			err = d.link(ctx, u, withings.Name, "", 0)
		default:
			err = d.link(ctx, u, "Oura", ourasim.HeaderAuthorizeUser, slices.Index(d.users.oura, u))
		}
		if err != nil {
			if interrupted() {
				return sum, nil
			}
			sum.Failures = append(sum.Failures, fmt.Sprintf("linking %s: %v", u, err))
			continue
		}
		linked++
	}
	if linked > 0 {
		if err := d.backfill(ctx); err != nil && !interrupted() {
			sum.Failures = append(sum.Failures, err.Error())
		}
	}
	if ctx.Err() == nil {
		// A failure is the banner's and the summary's to show.
		_ = d.fetchPage(ctx)
		d.banner()
		d.live.Store(true)
		if d.cfg.Once {
			for i := 0; i < d.cfg.Days && !interrupted(); i++ {
				if err := d.settle(ctx, d.tick()); err != nil && !interrupted() {
					sum.Failures = append(sum.Failures, err.Error())
				}
			}
		} else {
			d.syncEvery(ctx)
		}
	}
	d.live.Store(false)
	if ctx.Err() != nil {
		fmt.Fprintln(d.out, "\nstopping")
	}
	fails := sum.Failures
	sum, err = d.summary(context.WithoutCancel(ctx), linked)
	sum.Failures = append(fails, sum.Failures...)
	return sum, err
}

// syncEvery lets a simulated day pass every Interval until ctx ends, and
// prints a fresh connections page link before the last one expires.
func (d *demo) syncEvery(ctx context.Context) {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	renew := time.NewTimer(d.renewIn())
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.tick()
		case <-renew.C:
			if err := d.fetchPage(ctx); err != nil {
				fmt.Fprintf(d.out, "-- %v (trying again in a minute)\n", err)
			} else {
				u, exp, _ := d.pageLink()
				fmt.Fprintf(d.out, "-- new connections page link for %s (expires at %s): %s\n", UserID, fmtExpiry(exp), u)
			}
			renew.Reset(d.renewIn())
		}
	}
}

// pageRenewBefore is how long before its expiry the long-running demo
// prints a new connections page link (a variable for the tests).
var pageRenewBefore = 5 * time.Minute

// renewIn is when to fetch the next connections page link: shortly
// before the last one expires, or in a minute when there is none.
func (d *demo) renewIn() time.Duration {
	_, exp, err := d.pageLink()
	if err != nil {
		return time.Minute
	}
	return max(time.Until(exp)-pageRenewBefore, time.Second)
}

// pagePath is the API route that makes connections page links, asked to
// return to the dashboard when the API's address allows it as a redirect
// (http is only for loopback).
func (d *demo) pagePath() string {
	p := "/api/v1/user_id/" + url.PathEscape(UserID) + "/connections_page"
	if back := d.api + "/dashboard"; link.ValidateRedirectURL(back) == nil {
		p += "?redirect_url=" + url.QueryEscape(back)
	}
	return p
}

// fetchPage gets a signed connections page link of UserID from the API,
// as a client's backend does, and keeps it for the banner and the
// summary.
func (d *demo) fetchPage(ctx context.Context) error {
	var pg struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	err := d.getJSON(ctx, d.pagePath(), &pg)
	if err == nil && pg.URL == "" {
		err = errors.New("the API gave no url")
	}
	d.pageMu.Lock()
	defer d.pageMu.Unlock()
	if err != nil {
		d.pageErr = fmt.Errorf("connections page link: %w", err)
		return d.pageErr
	}
	d.page, d.pageExp, d.pageErr = pg.URL, pg.ExpiresAt, nil
	return nil
}

func (d *demo) pageLink() (string, time.Time, error) {
	d.pageMu.Lock()
	defer d.pageMu.Unlock()
	if d.page == "" && d.pageErr == nil {
		return "", time.Time{}, errors.New("no connections page link fetched")
	}
	return d.page, d.pageExp, d.pageErr
}

// fmtExpiry shows an expiry in the local time zone, which the user's
// clock shows.
func fmtExpiry(t time.Time) string {
	return t.Local().Format("15:04:05 MST")
}

// marker names the file that says a directory is a demo's.
const marker = ".wearlink-demo"

// prepareDir gives the demo an empty directory: a new one, an empty one,
// or one a previous demo made (emptied; the demo starts afresh each time,
// its simulated world always from the same day). Other directories are
// refused, so that a mistyped --data deletes nothing.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("data directory: %w", err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
			return fmt.Errorf("data directory %s is not empty and was not made by wearlink demo: give a new or empty one with --data", dir)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("empty the previous demo's data: %w", err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, marker), []byte("made by wearlink demo; emptied by the next one\n"), 0o600)
}

func (d *demo) startSimulator() error {
	sim, err := ourasim.New(ourasim.Config{
		Seed: 1, Users: len(d.users.all), HistoryStart: HistoryStart,
		Clock: ourasim.NewClock(SimStart, 1, nil),
		// Days are revealed by tick only, so that each is timed.
		RevealInterval: -1,
		// A simulated day passes every few seconds: subscriptions must
		// outlive a long demo (wearlink's renewal works in real time).
		SubscriptionTTL: 100 * 365 * 24 * time.Hour,
		Logger:          d.cfg.Logger,
	})
	if err != nil {
		return err
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		_ = sim.Close()
		return err
	}
	d.sim = sim
	return nil
}

// startWhoopSimulator runs the WHOOP simulator on the Oura simulator's
// time, with its webhook URL at wearlink's WHOOP route on apiAddr. It
// sends webhooks only when tick lets a night be scored, so that each is
// timed.
func (d *demo) startWhoopSimulator(apiAddr string) error {
	first, err := time.Parse(time.DateOnly, string(HistoryStart))
	if err != nil {
		return fmt.Errorf("history start: %w", err)
	}
	// As Withings' (startWithingsSimulator), its application limits grow
	// with the roster: the demo passes a day in seconds, so a larger
	// roster's syncs and backfill would otherwise share one real minute's
	// budget that, a day apart, they never would.
	var windows []whoopsim.RateWindow
	for _, w := range whoopsim.DefaultRateWindows() {
		windows = append(windows, whoopsim.RateWindow{Requests: w.Requests * len(d.users.whoop), Window: w.Window})
	}
	sim, err := whoopsim.New(whoopsim.Config{
		Seed: 1, Users: len(d.users.whoop), HistoryStart: first, RateWindows: windows,
		Clock:        whoopsim.NewClock(d.sim.Clock().Now(), 1, nil),
		WebhookURL:   "http://" + apiAddr + "/webhooks/" + whoop.DataSource,
		ScanInterval: -1,
		Logger:       d.cfg.Logger,
	})
	if err != nil {
		return err
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		_ = sim.Close()
		return err
	}
	d.whoop = sim
	return nil
}

// startWithingsSimulator runs the Withings simulator, with the same
// history as the others, on the Oura simulator's clock. Its notifications
// go to the callback URL wearlink subscribes the user to after the link;
// they are retried quickly, as the demo's time is short.
func (d *demo) startWithingsSimulator() error {
	first, err := time.Parse(time.DateOnly, string(HistoryStart))
	if err != nil {
		return fmt.Errorf("history start: %w", err)
	}
	// Its rate limit counts simulated minutes, which stand still while the
	// users link and backfill: a larger roster gets as many requests a
	// minute per user as the demo's one user has.
	sim, err := withingssim.New(withingssim.Config{Seed: 1, Users: len(d.users.withings), Days: int(SimStart.Sub(first).Hours()/24) + 1,
		Now: d.sim.Clock().Now, NotifyRetryDelays: []time.Duration{200 * time.Millisecond, time.Second, 5 * time.Second}, Logger: d.cfg.Logger,
		RateLimit: withingssim.DefaultRateLimit * len(d.users.withings)})
	if err != nil {
		return err
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		_ = sim.Close()
		return err
	}
	d.withings = sim
	return nil
}

// withingsWeighIn has each Withings user step on the scale now
// (simulated), which the simulator announces to wearlink; it returns the
// days.
func (d *demo) withingsWeighIn(at time.Time) ([]newDay, error) {
	var days []newDay
	for i, u := range d.users.withings {
		g, err := d.withings.AddWeighIn(i, time.Time{})
		if err != nil {
			return days, err
		}
		loc, err := time.LoadLocation(d.withings.Info().Users[i].Timezone)
		if err != nil {
			return days, err
		}
		days = append(days, newDay{user: u, day: time.Unix(g.Date, 0).In(loc).Format(time.DateOnly), at: at})
	}
	return days, nil
}

func (d *demo) startReceiver() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("webhook receiver: %w", err)
	}
	d.rcv = NewReceiver()
	d.rcv.OnDelivery = d.printDelivery
	d.rsrv = &http.Server{Handler: d.rcv, ReadHeaderTimeout: 10 * time.Second}
	d.rurl = "http://" + ln.Addr().String()
	go func() { _ = d.rsrv.Serve(ln) }()
	return nil
}

// startApp builds wearlink as wearlink serve does, pointed at the
// simulator, seeds ROOK's demo client with the receiver's endpoints, and
// runs it, then the other Processes on the same database. wait gives their
// Runs' result once ctx ends; it is set whenever one runs, error or not.
func (d *demo) startApp(ctx context.Context, ln net.Listener) (wait func() error, err error) {
	c := config.Default()
	c.DataDir = d.cfg.DataDir
	c.DatabaseURL = d.cfg.DatabaseURL
	c.Listen = ln.Addr().String()
	c.ShutdownTimeout = 10 * time.Second
	// The receiver is on loopback.
	c.AllowPrivateWebhooks = true
	o := &c.Oura
	u := d.sim.URL()
	o.APIBaseURL, o.AuthURL, o.TokenURL, o.RevokeURL = u, u+"/oauth/authorize", u+"/oauth/token", u+"/oauth/revoke"
	o.ClientID, o.ClientSecret = d.sim.ClientID(), d.sim.ClientSecret()
	o.WebhookVerificationToken = rand.Text()
	// Subscriptions are made before linking, in the foreground (run),
	// rather than by a job.
	o.ManageWebhooks = false
	// The demo's own WHOOP simulator, not the app's built-in one: the
	// demo lets its nights pass.
	in := d.whoop.Info()
	// The applications' budgets are the simulators' (grown with the
	// roster), as a deployment whose limits were raised would set them.
	c.Whoop = config.Whoop{APIBaseURL: in.APIBaseURL, OAuthBaseURL: in.BaseURL, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
		RequestsPerMinute: c.Whoop.RequestsPerMinute * len(d.users.whoop), RequestsPerDay: c.Whoop.RequestsPerDay * len(d.users.whoop)}
	wi := d.withings.Info()
	c.Withings = config.Withings{APIBaseURL: wi.BaseURL, AuthURL: wi.AuthorizeURL, ClientID: wi.ClientID, ClientSecret: wi.ClientSecret,
		RequestsPerMinute: withingssim.DefaultRateLimit * len(d.users.withings)}
	c.Sync.BackfillDays = d.cfg.BackfillDays

	opt := app.Options{Logger: d.cfg.Logger, Migrate: true, Listener: ln,
		Now: d.sim.Clock().Now, DeliveryNow: time.Now, WebNow: time.Now}
	a, err := app.New(ctx, c, opt)
	if err != nil {
		return nil, err
	}
	d.app, d.api = a, "http://"+c.Listen
	d.examples = []string{
		"/v2/processed_data/sleep_health/summary?user_id=" + UserID + "&date=" + ExampleDay,
		"/v2/processed_data/sleep_health/summary?user_id=" + WhoopUserID + "&date=" + ExampleDay,
		"/api/v1/client/users/status?up_to_date=" + d.sim.Clock().Now().UTC().Format(time.DateOnly),
		"/api/v2/user_id/" + UserID + "/data_sources/authorized",
	}
	if a.Store().PG != nil {
		d.jobs, err = river.NewClient(riverpgxv5.New(a.Store().PG), &river.Config{Logger: d.cfg.Logger})
	} else {
		d.jobs, err = river.NewClient(riversqlite.New(a.Store().SQLite), &river.Config{Logger: d.cfg.Logger})
	}
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	if err := d.seed(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	done := make(chan error, d.cfg.Processes)
	running := 1
	go func() { done <- a.Run(ctx) }()
	wait = func() error {
		var errs []error
		for range running {
			errs = append(errs, <-done)
		}
		return errors.Join(errs...)
	}
	// The others are as many more `serve` processes on the database the
	// first has migrated: each works the jobs and serves its own address.
	for range d.cfg.Processes - 1 {
		oln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return wait, err
		}
		oc, oopt := c, opt
		oc.Listen, oopt.Listener, oopt.Migrate = oln.Addr().String(), oln, false
		other, err := app.New(ctx, oc, oopt)
		if err != nil {
			_ = oln.Close()
			return wait, fmt.Errorf("wearlink process %d: %w", running+1, err)
		}
		running++
		go func() { done <- other.Run(ctx) }()
	}
	return wait, nil
}

// seed creates ROOK's demo client and its two endpoints at the receiver.
func (d *demo) seed(ctx context.Context) error {
	st := d.app.Store().Store
	if err := st.CreateClient(ctx, store.Client{UUID: ClientUUID, Name: "ROOK demo client", SecretHash: secret.HashAPISecret(ClientSecret)}); err != nil {
		return fmt.Errorf("create the demo client: %w", err)
	}
	for path, kind := range map[string]string{DataPath: store.EndpointData, NotificationPath: store.EndpointNotification} {
		ep, err := d.app.Delivery().AddEndpoint(ctx, delivery.EndpointInput{ClientUUID: ClientUUID, URL: d.rurl + path, Kind: kind})
		if err != nil {
			return fmt.Errorf("register the %s webhook: %w", kind, err)
		}
		d.rcv.SetSecret(path, ep.Secret)
	}
	return nil
}

// link connects userID to account simUser of a simulated data source (as
// ROOK names it: Oura, Whoop) the way a person would: the app asks the API
// for the authorization URL, the browser follows it to the simulator's
// consent page, approves as simUser (told by header userHeader), and comes
// back to wearlink's callback.
func (d *demo) link(ctx context.Context, userID, source, userHeader string, simUser int) error {
	var az struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	if err := d.getJSON(ctx, "/api/v1/user_id/"+url.PathEscape(userID)+"/data_source/"+source+"/authorizer", &az); err != nil {
		return err
	}
	if az.AuthorizationURL == "" {
		return errors.New("the authorizer gave no authorization_url")
	}
	browser := newBrowser().c
	next := az.AuthorizationURL
	for hop, want := range []int{http.StatusFound, http.StatusFound, http.StatusOK} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return err
		}
		if hop == 1 && userHeader != "" { // the simulator's consent page: approve as simUser
			req.Header.Set(userHeader, fmt.Sprint(simUser))
		}
		res, err := browser.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		res.Body.Close()
		if res.StatusCode != want {
			return fmt.Errorf("GET %s: %d %s", req.URL.Redacted(), res.StatusCode, strings.TrimSpace(string(body)))
		}
		next = res.Header.Get("Location")
	}
	return nil
}

// getJSON GETs an API path as the demo client.
func (d *demo) getJSON(ctx context.Context, path string, v any) error {
	status, body, err := d.get(ctx, path)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, status, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, v)
}

func (d *demo) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.api+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(ClientUUID, ClientSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

// userProgress is one user's backfill as the progress display shows it.
type userProgress struct {
	user string
	// provider names the user's data source (Oura, WHOOP).
	provider  string
	raw       int
	delivered int
	done      bool
}

// backfillTimeout bounds waiting for the backfill and its deliveries.
const backfillTimeout = 2 * time.Minute

// backfill shows the backfill's progress until every linked user's
// history is stored and delivered.
func (d *demo) backfill(ctx context.Context) error {
	fmt.Fprintf(d.out, "linked %s through Oura OAuth, %s through WHOOP OAuth and %s through Withings OAuth (simulated); backfilling their last %d days (simulated today: %s)\n",
		strings.Join(d.users.oura, ", "), strings.Join(d.users.whoop, ", "), strings.Join(d.users.withings, ", "), d.cfg.BackfillDays, SimStart.Format(time.DateOnly))
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, backfillTimeout)
	defer cancel()
	every := time.Second
	if d.cfg.Progress {
		every = 200 * time.Millisecond
	}
	drawn := 0
	reported := map[string]bool{}
	for {
		ps, err := d.progress(ctx)
		if err != nil {
			return fmt.Errorf("backfill progress: %w", err)
		}
		idle, err := d.idle(ctx)
		if err != nil {
			return fmt.Errorf("backfill progress: %w", err)
		}
		finished := idle
		for _, p := range ps {
			finished = finished && p.done
		}
		if d.cfg.Progress {
			if drawn > 0 {
				fmt.Fprintf(d.out, "\x1b[%dA", drawn)
			}
			for _, p := range ps {
				fmt.Fprintf(d.out, "\x1b[2K  %s\n", p)
			}
			drawn = len(ps)
		} else {
			for _, p := range ps {
				if p.done && !reported[p.user] {
					reported[p.user] = true
					fmt.Fprintf(d.out, "  %-11s %5d %s documents stored, backfill done\n", p.user, p.raw, p.provider)
				}
			}
		}
		if finished {
			n := 0
			for _, p := range ps {
				n += p.delivered
			}
			fmt.Fprintf(d.out, "backfill stored and delivered in %s: %d ROOK documents delivered\n\n", time.Since(start).Round(100*time.Millisecond), n)
			return nil
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err()
			}
			return fmt.Errorf("backfill not finished after %s", backfillTimeout)
		case <-time.After(every):
		}
	}
}

func (p userProgress) String() string {
	state := "backfilling"
	if p.done {
		state = "done"
	}
	return fmt.Sprintf("%-11s %5d %-5s documents stored  %4d ROOK documents delivered  %s", p.user, p.raw, p.provider, p.delivered, state)
}

// progress reads each linked user's backfill state.
func (d *demo) progress(ctx context.Context) ([]userProgress, error) {
	st := d.app.Store().Store
	delivered := map[string]int{}
	for _, dv := range d.rcv.Deliveries() {
		if dv.Endpoint == DataPath {
			delivered[dv.UserID]++
		}
	}
	var out []userProgress
	for _, u := range d.users.all {
		c, err := st.FindConnection(ctx, ClientUUID, u, d.users.dataSource(u))
		if err != nil {
			continue // not linked
		}
		n, err := st.CountRawDocuments(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		p := userProgress{user: u, provider: d.users.providerName(u), delivered: delivered[u], done: ingest.CursorsOf(c).Backfilled()}
		for _, k := range n {
			p.raw += k
		}
		out = append(out, p)
	}
	return out, nil
}

// syncKinds are the kinds of the jobs that read the providers (and
// subscribe to their notifications).
var syncKinds = []string{ingest.BackfillArgs{}.Kind(), ingest.FetchArgs{}.Kind(), ingest.PollArgs{}.Kind(), ingest.UserSubscribeArgs{}.Kind()}

// idle reports whether every document has been read and delivered: no
// sync job waits or runs, nothing waits in the outbox and no delivery is
// pending. What waits in the outbox is fanned out here (as the delivery
// service's pump would), so it shows up as pending deliveries.
func (d *demo) idle(ctx context.Context) (bool, error) {
	js, err := d.jobs.JobList(ctx, river.NewJobListParams().Kinds(syncKinds...).First(1).
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable))
	if err != nil || len(js.Jobs) > 0 {
		return false, err
	}
	fo, err := d.app.Store().Store.FanOut(ctx, 500, time.Now())
	if err != nil || fo.Records > 0 {
		return false, err
	}
	p, err := d.app.Delivery().ListDeliveries(ctx, ClientUUID, store.DeliveryQuery{Status: store.DeliveryPending, Limit: 1})
	return err == nil && len(p) == 0, err
}

// banner prints where everything is and what to try.
func (d *demo) banner() {
	auth := ClientUUID + ":" + ClientSecret
	page, exp, err := d.pageLink()
	pageLines := page + "\n               " + UserID + "'s page, through a signed link that expires at " + fmtExpiry(exp)
	if !d.cfg.Once {
		pageLines += " (a new one is printed before then)"
	}
	if err != nil {
		pageLines = "unavailable: " + err.Error()
	}
	pageLines += fmt.Sprintf("\n               new link: curl -u %s '%s%s'", auth, d.api, d.pagePath())
	fmt.Fprintf(d.out, `wearlink demo: wearlink, simulated Oura, WHOOP and Withings APIs and a webhook receiver in this process
  API          %[1]s
  OpenAPI      %[1]s/openapi.yaml
  connections  %[10]s
  dashboard    %[1]s/dashboard   (sign in with the client_uuid and secret below)
  Oura (sim)   %[3]s   (control routes: %[3]s/_sim/)
  WHOOP (sim)  %[11]s   (control routes: %[11]s/_sim/)
               WHOOP posts its signed notifications to wearlink's %[1]s/webhooks/%[12]s
  Withings     %[14]s   (control routes: %[14]s/_sim/)
               Withings posts its unsigned notifications to the URL wearlink subscribes per user
  webhooks to  %[4]s%[5]s and %[4]s%[6]s
  data         %[7]s
  client_uuid  %[2]s
  secret       %[8]s
  users        %[9]s on Oura, %[13]s on WHOOP, %[15]s on Withings

Try ROOK's examples:
`, d.api, ClientUUID, d.sim.URL(), d.rurl, DataPath, NotificationPath, d.cfg.DataDir, ClientSecret,
		strings.Join(d.users.oura, ", "), pageLines, d.whoop.URL(), whoop.DataSource, strings.Join(d.users.whoop, ", "), d.withings.URL(), strings.Join(d.users.withings, ", "))
	for _, p := range d.examples {
		fmt.Fprintf(d.out, "  curl -u %s '%s%s'\n", auth, d.api, p)
	}
	fmt.Fprintln(d.out)
	if !d.cfg.Once {
		fmt.Fprintf(d.out, "A simulated day passes every %s: the rings sync their new day, WHOOP scores its member's new night and the Withings user steps on the scale; each delivery is a line below. Ctrl-C stops.\n"+
			"(Simulated time moves a day per sync, and up_to_date may be at most 6 months before it: later, take a date from a sync line.)\n\n", d.cfg.Interval)
	}
}

// tick lets a simulated day pass: the Oura simulator reveals each ring
// user's new night and day, WHOOP scores its member's new night, and both
// announce them by webhook.
func (d *demo) tick() []newDay {
	at := time.Now()
	revealed := d.sim.AdvanceClock(24 * time.Hour)
	var days []newDay
	for idx, ds := range revealed {
		if idx < 0 || idx >= len(d.users.oura) {
			continue
		}
		for _, day := range ds {
			days = append(days, newDay{user: d.users.oura[idx], day: string(day), at: at})
		}
	}
	nights, err := d.whoopNights(at)
	if err != nil {
		fmt.Fprintf(d.out, "-- WHOOP: %v\n", err)
	}
	days = append(days, nights...)
	weighIns, err := d.withingsWeighIn(at)
	if err != nil {
		fmt.Fprintf(d.out, "-- Withings: %v\n", err)
	}
	days = append(days, weighIns...)
	sort.Slice(days, func(i, j int) bool {
		return days[i].user < days[j].user || days[i].user == days[j].user && days[i].day < days[j].day
	})
	d.days = append(d.days, days...)
	var names []string
	for _, nd := range days {
		names = append(names, nd.user+" "+nd.day)
	}
	if len(names) == 0 {
		names = []string{"no new day yet"}
	}
	fmt.Fprintf(d.out, "-- Oura, WHOOP and Withings sync at %s (simulated): %s\n", d.sim.Clock().Now().UTC().Format("2006-01-02 15:04"), strings.Join(names, ", "))
	return days
}

// whoopNights lets WHOOP score its first member's next night, then brings
// WHOOP's clock up to Oura's (a day later since tick advanced it), sending
// the webhooks due by then. It returns the local days of the nights
// announced: one per member, or two when the next one was scored by then
// too. A night scored after Oura's time (the member wakes five hours west
// of UTC) leaves WHOOP's clock ahead by those hours until the next tick.
// The other members' nights are scored as the clock passes them: asking
// each for its next night would move the clock a day ahead for a member
// whose night was scored on the way.
func (d *demo) whoopNights(at time.Time) ([]newDay, error) {
	_, evs, err := d.whoop.NextNight(whoopMember)
	if err != nil {
		return nil, err
	}
	if lag := d.sim.Clock().Now().Sub(d.whoop.Clock().Now()); lag > 0 {
		evs = append(evs, d.whoop.AdvanceClock(lag)...)
	}
	w := d.whoop.World()
	now := d.whoop.Clock().Now()
	var days []newDay
	seen := map[[2]string]bool{}
	for _, e := range evs {
		if e.Type != whoopsim.EventSleepUpdated {
			continue
		}
		for i, user := range d.users.whoop {
			u := w.User(whoopMember + i)
			if u == nil || e.UserID != u.UserID {
				continue
			}
			sl, ok := w.Sleep(u, e.ID, now)
			if !ok || sl.Nap {
				continue
			}
			day, err := whoop.LocalDay(whoop.Time(sl.End), sl.TimezoneOffset)
			if err != nil {
				return days, err
			}
			if k := [2]string{user, day}; !seen[k] {
				seen[k] = true
				days = append(days, newDay{user: user, day: day, at: at})
			}
		}
	}
	return days, nil
}

// settleTimeout bounds waiting for a synced day's deliveries.
const settleTimeout = time.Minute

// settle waits until every day of days has been delivered and nothing is
// left to read or deliver.
func (d *demo) settle(ctx context.Context, days []newDay) error {
	// Every notification answered means every fetch job is queued.
	d.sim.WaitNotifications()
	d.whoop.WaitWebhooks()
	d.withings.WaitNotifications()
	deadline := time.Now().Add(settleTimeout)
	for {
		missing := d.undelivered(days)
		if len(missing) == 0 {
			if idle, err := d.idle(ctx); err != nil {
				return err
			} else if idle {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if len(missing) > 0 {
				return fmt.Errorf("no delivery after %s for %s", settleTimeout, strings.Join(missing, ", "))
			}
			return fmt.Errorf("deliveries still pending after %s", settleTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// undelivered lists the days of which no verified document has arrived.
func (d *demo) undelivered(days []newDay) []string {
	got := map[[2]string]time.Time{}
	for _, dv := range d.rcv.Deliveries() {
		if dv.Endpoint == DataPath && dv.Verified {
			k := [2]string{dv.UserID, dv.Day}
			if t, ok := got[k]; !ok || dv.ReceivedAt.After(t) {
				got[k] = dv.ReceivedAt
			}
		}
	}
	var out []string
	for _, nd := range days {
		// The backfill may have delivered a document of the day (the
		// evening before a night): only one that came after the sync
		// counts.
		if t, ok := got[[2]string{nd.user, nd.day}]; !ok || !t.After(nd.at) {
			out = append(out, nd.user+" "+nd.day)
		}
	}
	return out
}

// printDelivery is the receiver's line per delivery, once the backfill is
// over (the progress display counts the backfill's).
func (d *demo) printDelivery(dv Delivery) {
	if !d.live.Load() {
		return
	}
	state := "verified"
	if !dv.Verified {
		state = "NOT VERIFIED: " + dv.Problem
	}
	day := dv.Day
	if day == "" {
		day = "-"
	}
	fmt.Fprintf(d.out, "   webhook %-20s %-11s %-10s %s\n", dv.DataStructure, dv.UserID, day, state)
}

// lockedWriter serializes the lines of the receiver's handlers and the
// demo's own.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
