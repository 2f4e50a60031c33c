package withings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Config builds Withings' provider.Provider.
type Config struct {
	// Client reads the API (required): one per application, since it
	// holds the application's request budget. The token endpoint is its
	// base URL's /v2/oauth2.
	Client *Client
	// AuthURL is the consent page (LiveAuthURL in production; required).
	AuthURL string
	// UserIDs is where the OAuth flow records whose each token is, and
	// where Identify looks: it must be the OAuthConfig's. nil: a private
	// one, so that Identify knows no token.
	UserIDs *UserIDs
	// Normalizer maps Withings' documents to ROOK's (withings/normalize,
	// which imports this package, so it is given here).
	Normalizer provider.Normalizer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Provider is Withings behind the provider seam.
type Provider struct {
	cfg Config
}

var (
	_ provider.Provider           = (*Provider)(nil)
	_ provider.NotificationReader = (*Provider)(nil)
	_ provider.UserSubscriber     = (*Provider)(nil)
	_ provider.Revoker            = (*Provider)(nil)
	_ provider.Normalizer         = (*Provider)(nil)
)

// NewProvider checks the configuration.
func NewProvider(cfg Config) (*Provider, error) {
	if cfg.Client == nil {
		return nil, errors.New("withings provider: no client")
	}
	if cfg.AuthURL == "" {
		return nil, errors.New("withings provider: an authorize URL is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserIDs == nil {
		cfg.UserIDs = NewUserIDs(cfg.Now)
	}
	return &Provider{cfg: cfg}, nil
}

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info {
	return provider.Info{DataSource: DataSource, Name: Name,
		Description: "Withings scales, blood-pressure monitors, thermometers, watches and sleep analyzer: weight, body composition, blood pressure, temperature, SpO2, sleep and activity.",
		OAuth: provider.OAuth{
			AuthURL:  p.cfg.AuthURL,
			TokenURL: p.cfg.Client.BaseURL() + serviceOAuth2,
			// Withings' revoke is a signed partner call; Revoke ends the
			// notification subscriptions instead.
			RevokeURL: "",
			Scopes:    Scopes(),
			// A grant of only some scopes is of use: the collections it
			// does not cover answer "missing scope" and are skipped.
			RequiredScopes: nil,
			ScopeSeparator: ",",
			AuthStyle:      provider.AuthInParams,
			PKCE:           provider.PKCENone,
			// Every refresh returns a new refresh token; the old one
			// stays good 8 h or until the new access token is used.
			RotatesRefreshToken: true,
		}}
}

// Collections implements provider.Provider. Everything but the devices is
// announced by a notification category (AppliCollections).
func (p *Provider) Collections() []provider.Collection {
	return []provider.Collection{
		{Name: CollMeasure, Range: provider.RangeInstants, Notified: true},
		// A day's activity grows all day and syncs late.
		{Name: CollActivity, Range: provider.RangeDays, Notified: true, ChangesForDays: 2},
		{Name: CollWorkout, Range: provider.RangeDays, Notified: true},
		{Name: CollSleepSummary, Range: provider.RangeDays, Notified: true},
		{Name: CollSleep, Range: provider.RangeInstants, Notified: true, TimeSeries: true},
		{Name: CollDevice, Range: provider.RangeAll, PollEvery: 7 * 24 * time.Hour},
	}
}

func unknownCollection(coll string) error {
	return &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("withings: unknown collection %q", coll)}
}

// windowDays parses a window's days.
func windowDays(w provider.Window) (from, to time.Time, err error) {
	from, err1 := time.Parse(time.DateOnly, w.From)
	to, err2 := time.Parse(time.DateOnly, w.To)
	if err1 != nil || err2 != nil || to.Before(from) {
		return from, to, &provider.Error{Kind: provider.KindInvalidRequest,
			Err: fmt.Errorf("withings: window %q..%q is not an ordered YYYY-MM-DD range", w.From, w.To)}
	}
	return from, to, nil
}

// sleepSlack is how long before its day a sleep segment that ends on the
// day may start: segments are minutes long, a night's first one can be
// hours.
const sleepSlack = 12 * time.Hour

// sleepAhead is how far past now a sleep series read still asks: a clock
// a little behind Withings' must not miss the segment being written.
const sleepAhead = time.Hour

// Fetch implements provider.Provider. Each query is widened to hold the
// window's local days whatever the zone, and each document is kept when
// its own day is in the window:
//   - measure groups by epoch instants, placed in their own zone;
//   - activities by their days (an activity's date is its day);
//   - workouts and sleep summaries by their days, a day earlier too, since
//     the day Withings filters on need not be the date it gives them;
//   - sleep segments by epoch instants in calls of at most 24 h, placed in
//     the window's zone, or, where the user's zone is not known, in the
//     zone of the night (sleep summary) they belong to;
//   - devices whole.
func (p *Provider) Fetch(ctx context.Context, a provider.Auth, coll string, w provider.Window) ([]provider.Document, error) {
	u := p.cfg.Client.User(a)
	if coll == CollDevice {
		raws, err := u.Devices(ctx)
		if err != nil {
			return nil, err
		}
		return Documents(CollDevice, raws, nil)
	}
	if _, ok := answerKeys[coll]; !ok {
		return nil, unknownCollection(coll)
	}
	from, to, err := windowDays(w)
	if err != nil {
		return nil, err
	}
	var docs []provider.Document
	switch coll {
	case CollMeasure:
		m, err := u.Measures(ctx, MeasureQuery{Start: from.Add(-maxEast), End: to.AddDate(0, 0, 1).Add(maxWest)})
		if err != nil {
			return nil, err
		}
		if docs, err = MeasureDocuments(m, w.Loc); err != nil {
			return nil, err
		}
		// Heights have no day (see heightOnly): those taken inside the
		// window's query belong to it.
		out := docs[:0]
		for _, d := range docs {
			if d.Day != "" || heightInWindow(d, w) {
				out = append(out, d)
			}
		}
		docs = out
	case CollActivity:
		raws, err := u.Activities(ctx, DayQuery{From: w.From, To: w.To})
		if err != nil {
			return nil, err
		}
		if docs, err = Documents(coll, raws, nil); err != nil {
			return nil, err
		}
	case CollWorkout, CollSleepSummary:
		q := DayQuery{From: from.AddDate(0, 0, -1).Format(time.DateOnly), To: w.To}
		var raws []json.RawMessage
		if coll == CollWorkout {
			raws, err = u.Workouts(ctx, q)
		} else {
			raws, err = u.SleepSummaries(ctx, q)
		}
		if err != nil {
			return nil, err
		}
		if docs, err = Documents(coll, raws, nil); err != nil {
			return nil, err
		}
	case CollSleep:
		if docs, err = p.sleep(ctx, u, from, to, w); err != nil {
			return nil, err
		}
	}
	out := docs[:0]
	for _, d := range docs {
		if (d.Day >= w.From && d.Day <= w.To) || (d.Day == "" && coll == CollMeasure) {
			out = append(out, d)
		}
	}
	return out, nil
}

// heightInWindow reports whether a height group (no day) was taken on one
// of the window's days in its own zone.
func heightInWindow(d provider.Document, w provider.Window) bool {
	obj, err := object(d.Raw)
	if err != nil {
		return false
	}
	at, err := epochField(obj, "date")
	if err != nil {
		return false
	}
	z, err := zoneOf(obj, w.Loc)
	if err != nil {
		return false
	}
	day := at.In(z).Format(time.DateOnly)
	return day >= w.From && day <= w.To
}

// sleep reads the segments of the window's days.
func (p *Provider) sleep(ctx context.Context, u *User, from, to time.Time, w provider.Window) ([]provider.Document, error) {
	// No segment starts after now: the 24 h calls stop there. A read of
	// recent days reaches past tomorrow, and without this two or three of
	// its calls asked for the future.
	limit := p.cfg.Now().Add(sleepAhead)
	if w.Loc != nil {
		start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, w.Loc).Add(-sleepSlack)
		end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, w.Loc)
		if end.After(limit) {
			end = limit
		}
		if !start.Before(end) {
			return nil, nil
		}
		raws, err := u.SleepSeries(ctx, start, end, nil)
		if err != nil {
			return nil, err
		}
		return Documents(CollSleep, raws, w.Loc)
	}
	start, end := from.Add(-maxEast-sleepSlack), to.AddDate(0, 0, 1).Add(maxWest)
	if end.After(limit) {
		end = limit
	}
	if !start.Before(end) {
		return nil, nil
	}
	raws, err := u.SleepSeries(ctx, start, end, nil)
	if err != nil || len(raws) == 0 {
		return nil, err
	}
	// The segments carry no zone; the nights they belong to do.
	nights, err := u.SleepSummaries(ctx, DayQuery{From: from.AddDate(0, 0, -1).Format(time.DateOnly),
		To: to.AddDate(0, 0, 1).Format(time.DateOnly), Fields: []string{}})
	if err != nil {
		return nil, err
	}
	type night struct {
		start, end time.Time
		loc        *time.Location
	}
	var ns []night
	for _, raw := range nights {
		obj, err := object(raw)
		if err != nil {
			continue
		}
		s, err1 := epochField(obj, "startdate")
		e, err2 := epochField(obj, "enddate")
		tz := stringField(obj, "timezone")
		loc, err3 := time.LoadLocation(tz)
		if err1 != nil || err2 != nil || tz == "" || err3 != nil {
			continue
		}
		ns = append(ns, night{s, e, loc})
	}
	out := make([]provider.Document, 0, len(raws))
	for _, raw := range raws {
		var loc *time.Location
		if obj, err := object(raw); err == nil {
			if s, err := epochField(obj, "startdate"); err == nil {
				for _, n := range ns {
					if !s.Before(n.start) && !s.After(n.end) {
						loc = n.loc
						break
					}
				}
			}
		}
		d, err := Documents(CollSleep, []json.RawMessage{raw}, loc)
		if err != nil {
			return nil, err
		}
		out = append(out, d...)
	}
	return out, nil
}

// Identify implements provider.Provider: the account is the token
// answer's userid, which no API call returns. It is looked up in UserIDs,
// where the OAuth flow records every token it obtains; a token it did not
// obtain (one stored before a restart) is refreshed once through the Auth,
// whose refresh answer names the user. A token that cannot be refreshed
// and is unknown is an error, never an empty account.
func (p *Provider) Identify(ctx context.Context, a provider.Auth) (provider.Account, error) {
	tok, err := a.AccessToken(ctx)
	if err != nil {
		return provider.Account{}, err
	}
	if id, ok := p.cfg.UserIDs.Lookup(tok); ok {
		return provider.Account{ExternalUserID: id}, nil
	}
	r, ok := a.(provider.RejectedRefresher)
	if !ok {
		return provider.Account{}, &provider.Error{Kind: provider.KindInvalidRequest,
			Err: errors.New("withings: whose token this is is unknown, and it cannot be refreshed to learn it")}
	}
	if err := r.RefreshRejected(ctx, tok); err != nil {
		return provider.Account{}, err
	}
	if tok, err = a.AccessToken(ctx); err != nil {
		return provider.Account{}, err
	}
	if id, ok := p.cfg.UserIDs.Lookup(tok); ok {
		return provider.Account{ExternalUserID: id}, nil
	}
	return provider.Account{}, &provider.Error{Kind: provider.KindInvalidRequest,
		Err: errors.New("withings: the refreshed token's user is unknown (is the OAuth flow's UserIDs the provider's?)")}
}

// scopeApplis are the notification categories each scope allows.
var scopeApplis = map[string][]int{
	"user.metrics":  {AppliWeight, AppliTemperature, AppliPressure},
	"user.activity": {AppliActivity, AppliSleep},
}

// applisOf are the categories to subscribe for a's grant: every one of
// the granted scopes, or all when the grant's scopes are not known.
func applisOf(a provider.Auth) []int {
	var scopes []string
	if c, ok := a.(interface{ Current() provider.Tokens }); ok {
		scopes = c.Current().Scopes
	}
	if len(scopes) == 0 {
		scopes = Scopes()
	}
	var out []int
	for _, s := range scopes {
		out = append(out, scopeApplis[strings.TrimSpace(s)]...)
	}
	return out
}

// SubscribeUser implements provider.UserSubscriber: one subscription per
// category the grant allows, for callbackURL. Those that already exist
// are left alone, so it can run again after every link; a category the
// grant does not cover after all is skipped.
func (p *Provider) SubscribeUser(ctx context.Context, a provider.Auth, callbackURL string) error {
	if callbackURL == "" {
		return &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("withings: no callback URL")}
	}
	u := p.cfg.Client.User(a)
	have, err := u.Subscriptions(ctx, 0)
	if err != nil {
		return err
	}
	exists := map[int]bool{}
	for _, s := range have {
		if s.CallbackURL == callbackURL {
			exists[s.Appli] = true
		}
	}
	var errs []error
	for _, appli := range applisOf(a) {
		if exists[appli] {
			continue
		}
		err := u.Subscribe(ctx, callbackURL, appli, "wearlink")
		if provider.KindOf(err) == provider.KindMissingScope {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("appli %d: %w", appli, err))
		}
	}
	return errors.Join(errs...)
}

// UnsubscribeUser revokes the user's subscriptions for callbackURL, every
// category ("" : every callback URL).
func (p *Provider) UnsubscribeUser(ctx context.Context, a provider.Auth, callbackURL string) error {
	u := p.cfg.Client.User(a)
	have, err := u.Subscriptions(ctx, 0)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range have {
		if callbackURL != "" && s.CallbackURL != callbackURL {
			continue
		}
		if err := u.Unsubscribe(ctx, s.CallbackURL, s.Appli); err != nil {
			errs = append(errs, fmt.Errorf("appli %d: %w", s.Appli, err))
		}
	}
	return errors.Join(errs...)
}

// Revoke implements provider.Revoker: it ends every notification
// subscription of the user, which is what wearlink set up at Withings
// beyond the grant. (Revoking the grant itself is a signed call wearlink
// does not make.)
func (p *Provider) Revoke(ctx context.Context, a provider.Auth) error {
	if a == nil {
		return nil
	}
	return p.UnsubscribeUser(ctx, a, "")
}

// Normalize implements provider.Normalizer with the configured one.
func (p *Provider) Normalize(docs []provider.Document, opt provider.NormalizeOptions) ([]provider.Normalized, error) {
	if p.cfg.Normalizer == nil {
		return nil, errors.New("withings provider: no normalizer configured")
	}
	return p.cfg.Normalizer.Normalize(docs, opt)
}

// FetchChanged reads the documents of coll that Withings changed or added
// since the instant given (lastupdate), whatever their day: reconciliation
// reads what notifications missed with one paged call per collection
// instead of every recent day. The sleep series has no lastupdate (read
// it by the days of the changed sleep summaries); devices are read whole.
// loc places objects without a zone on days, as in Fetch.
func (p *Provider) FetchChanged(ctx context.Context, a provider.Auth, coll string, since time.Time, loc *time.Location) ([]provider.Document, error) {
	if since.IsZero() {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("withings: lastupdate needs an instant")}
	}
	u := p.cfg.Client.User(a)
	var raws []json.RawMessage
	var err error
	switch coll {
	case CollMeasure:
		m, err := u.Measures(ctx, MeasureQuery{LastUpdate: since})
		if err != nil {
			return nil, err
		}
		return MeasureDocuments(m, loc)
	case CollActivity:
		raws, err = u.Activities(ctx, DayQuery{LastUpdate: since})
	case CollWorkout:
		raws, err = u.Workouts(ctx, DayQuery{LastUpdate: since})
	case CollSleepSummary:
		raws, err = u.SleepSummaries(ctx, DayQuery{LastUpdate: since})
	case CollDevice:
		raws, err = u.Devices(ctx)
	case CollSleep:
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("withings: the sleep series has no lastupdate")}
	default:
		return nil, unknownCollection(coll)
	}
	if err != nil {
		return nil, err
	}
	return Documents(coll, raws, loc)
}

var _ provider.HistoryStarter = (*Provider)(nil)

// FirstDay implements provider.HistoryStarter: the first local day any of
// the user's devices was used (its first_session_date, in its zone), so a
// backfill of everything starts there. "" when no device says.
func (p *Provider) FirstDay(whole []provider.Document) string {
	first := ""
	for _, d := range whole {
		if d.Collection != CollDevice {
			continue
		}
		obj, err := object(d.Raw)
		if err != nil {
			continue
		}
		at, err := epochField(obj, "first_session_date")
		if err != nil || at.Unix() <= 0 {
			continue
		}
		loc, err := zoneOf(obj, nil)
		if err != nil {
			loc = time.UTC
		}
		if day := at.In(loc).Format(time.DateOnly); first == "" || day < first {
			first = day
		}
	}
	return first
}
