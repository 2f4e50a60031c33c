package oura

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// DataSource is Oura's slug in ROOK's API and in wearlink's store.
const DataSource = "oura"

// ProviderConfig builds Oura's provider.Provider.
type ProviderConfig struct {
	// Client reads the API.
	Client *Client
	// OAuth names the endpoints and scopes (the defaults of NewOAuth where
	// empty).
	OAuth OAuthConfig
	// ClientID and ClientSecret are the application's: the subscription
	// API takes both, notification signatures the secret (without it
	// ReadNotification refuses every request).
	ClientID     string
	ClientSecret string
	// VerificationToken answers Oura's check of a new subscription's
	// callback URL; without it Challenge refuses.
	VerificationToken string
	// RenewBefore renews a subscription this long before it expires
	// (default 30 days).
	RenewBefore time.Duration
	// Normalizer maps Oura's documents to ROOK's (oura/normalize, which
	// imports this package, so it is given here).
	Normalizer provider.Normalizer
	// Now is the clock subscriptions expire on: Oura's, which a simulator
	// may run fast (default time.Now).
	Now func() time.Time
	// WallClock checks notifications' timestamps: Oura stamps them with
	// the real time even where the rest runs on a simulated clock (default
	// time.Now).
	WallClock func() time.Time
}

// Provider is Oura behind the provider seam.
type Provider struct {
	cfg ProviderConfig
}

var (
	_ provider.Provider           = (*Provider)(nil)
	_ provider.DocumentFetcher    = (*Provider)(nil)
	_ provider.NotificationReader = (*Provider)(nil)
	_ provider.Challenger         = (*Provider)(nil)
	_ provider.HistoryStarter     = (*Provider)(nil)
	_ provider.Normalizer         = (*Provider)(nil)
)

// NewProvider checks the configuration.
func NewProvider(cfg ProviderConfig) (*Provider, error) {
	if cfg.Client == nil {
		return nil, errors.New("oura provider: no client")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WallClock == nil {
		cfg.WallClock = time.Now
	}
	if cfg.RenewBefore <= 0 {
		cfg.RenewBefore = 30 * 24 * time.Hour
	}
	return &Provider{cfg: cfg}, nil
}

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info {
	o := p.cfg.OAuth
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	pkce := provider.PKCENone
	if SupportsPKCE {
		pkce = provider.PKCEOptional
	}
	return provider.Info{DataSource: DataSource, Name: "Oura",
		Description: "Oura Ring: sleep, readiness, activity, heart rate, SpO2 and temperature from your ring.", OAuth: provider.OAuth{
			AuthURL: o.AuthURL, TokenURL: o.TokenURL, RevokeURL: o.RevokeURL,
			Scopes: scopes, ScopeSeparator: " ", AuthStyle: provider.AuthInParams, PKCE: pkce,
			// Without daily there is no sleep, activity or readiness.
			RequiredScopes: []string{"daily"},
			// Oura's refresh returns a new refresh token and the old one
			// stops working (notes 2.2).
			RotatesRefreshToken: true,
		}}
}

// Collections implements provider.Provider, from the collection table.
func (p *Provider) Collections() []provider.Collection {
	out := make([]provider.Collection, 0, len(collections))
	for _, c := range collections {
		pc := provider.Collection{Name: c.Name, ByID: c.Single, Notified: c.DataType != "", PollEvery: pollEvery[c.Name]}
		switch c.Range {
		case RangeDate:
			pc.Range = provider.RangeDays
		case RangeDateTime:
			pc.Range, pc.TimeSeries = provider.RangeInstants, true
		case RangeNone:
			pc.Range = provider.RangeAll
		case RangeSingleton:
			pc.Range = provider.RangeSingleton
		}
		out = append(out, pc)
	}
	return out
}

// pollEvery spaces the reads of the collections Oura sends no
// notifications for: heart rate and battery grow all day and are read in
// whole days; personal_info rarely changes. Interbeat intervals, thousands
// of rows a night, are read once per reconciliation period (the engine's
// default ReconcileHealthy) for all the days since: they only refine the
// sleep summaries' HRV, which can wait, and one read of many days costs
// fewer requests than a read a day (see budget.go).
var pollEvery = map[string]time.Duration{
	CollHeartRate:         20 * time.Hour,
	CollInterbeatInterval: 14 * 24 * time.Hour,
	CollRingBatteryLevel:  7 * 24 * time.Hour,
	CollPersonalInfo:      14 * 24 * time.Hour,
}

// FirstDay implements provider.HistoryStarter: the day before the first
// ring was set up ("" when a ring does not say; old rings report the
// epoch).
func (p *Provider) FirstDay(whole []provider.Document) string {
	first := ""
	for _, d := range whole {
		if d.Collection != CollRingConfiguration {
			continue
		}
		var v RingConfiguration
		if err := json.Unmarshal(d.Raw, &v); err != nil || v.SetUpAt == nil {
			return ""
		}
		t, err := v.SetUpAt.Time()
		if err != nil || t.Year() < 2013 {
			return ""
		}
		day := t.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		if first == "" || day < first {
			first = day
		}
	}
	return first
}

// Fetch implements provider.Provider.
func (p *Provider) Fetch(ctx context.Context, a provider.Auth, coll string, w provider.Window) ([]provider.Document, error) {
	c, ok := LookupCollection(coll)
	if !ok {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("oura: unknown collection %q", coll)}
	}
	if c.Range == RangeNone {
		// Read whole: the days only have to parse.
		w.From, w.To = "2000-01-01", "2000-01-01"
	}
	docs, err := p.cfg.Client.User(a).Days(ctx, c.Name, Date(w.From), Date(w.To), w.Loc)
	if err != nil {
		return nil, err
	}
	out := make([]provider.Document, len(docs))
	for i, d := range docs {
		out[i] = provider.Document{Collection: d.Collection, ID: d.ID, Day: string(d.Day), Raw: d.Raw}
	}
	return out, nil
}

// FetchDocument implements provider.DocumentFetcher.
func (p *Provider) FetchDocument(ctx context.Context, a provider.Auth, coll, id string) (provider.Document, error) {
	c, ok := LookupCollection(coll)
	if !ok || !c.Single {
		return provider.Document{}, &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("oura: %q is not read by id", coll)}
	}
	d, err := Get[json.RawMessage](ctx, p.cfg.Client.User(a), c.Name, id)
	if err != nil {
		return provider.Document{}, err
	}
	// A document whose keys do not read is still returned, without a day,
	// so that it is kept raw.
	k := docKey{ID: id}
	_ = json.Unmarshal(d.Raw, &k)
	out := provider.Document{Collection: c.Name, ID: k.ID, Day: string(k.Day), Raw: d.Raw}
	switch {
	case c.Range == RangeNone:
		out.Day = ""
	case out.Day == "":
		out.Day = string(k.StartDay)
	}
	return out, nil
}

// Identify implements provider.Provider: the personal_info id, which
// Oura's notifications name users by.
func (p *Provider) Identify(ctx context.Context, a provider.Auth) (provider.Account, error) {
	pi, err := p.cfg.Client.User(a).PersonalInfo(ctx)
	if err != nil {
		return provider.Account{}, err
	}
	if pi.Value.ID == "" {
		return provider.Account{}, &provider.Error{Kind: provider.KindServer, Err: errors.New("oura: personal_info has no id")}
	}
	return provider.Account{ExternalUserID: pi.Value.ID,
		Documents: []provider.Document{{Collection: CollPersonalInfo, ID: pi.Value.ID, Raw: pi.Raw}}}, nil
}

// ReadNotification implements provider.NotificationReader: the signature
// and its timestamp are checked against the exact body, then the one
// change it announces is returned. A data type without a collection to
// read ("meal") announces nothing wearlink reads: no notification.
func (p *Provider) ReadNotification(r *http.Request, body []byte) ([]provider.Notification, error) {
	if p.cfg.ClientSecret == "" {
		return nil, &provider.Error{Kind: provider.KindUnauthorized, Err: errors.New("oura: no client secret to verify notifications with")}
	}
	v := Verifier{ClientSecret: p.cfg.ClientSecret, Now: p.cfg.WallClock}
	if err := v.VerifyRequest(r, body); err != nil {
		return nil, &provider.Error{Kind: provider.KindUnauthorized, Err: err}
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("oura notification: %w", err)}
	}
	if n.UserID == "" {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("oura notification: no user_id")}
	}
	c, ok := LookupCollection(string(n.DataType))
	if !ok {
		// A data type with no collection (daily_cycle_phases, pregnancy,
		// blood_glucose, ...): said, so it is counted, but nothing to read.
		return []provider.Notification{{ExternalUserID: n.UserID, Type: string(n.DataType), Event: string(n.EventType)}}, nil
	}
	return []provider.Notification{{ExternalUserID: n.UserID, Collection: c.Name, Type: string(n.DataType), Event: string(n.EventType), ID: n.ObjectID}}, nil
}

// Challenge implements provider.Challenger: Oura's GET to a new
// subscription's callback carries the verification token given when the
// subscription was created, and expects the challenge back.
func (p *Provider) Challenge(r *http.Request) (any, error) {
	q := r.URL.Query()
	want, got := p.cfg.VerificationToken, q.Get("verification_token")
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return nil, &provider.Error{Kind: provider.KindUnauthorized, Err: errors.New("oura: wrong verification token")}
	}
	return map[string]string{"challenge": q.Get("challenge")}, nil
}

// Normalize implements provider.Normalizer with the configured one.
func (p *Provider) Normalize(docs []provider.Document, opt provider.NormalizeOptions) ([]provider.Normalized, error) {
	if p.cfg.Normalizer == nil {
		return nil, errors.New("oura provider: no normalizer configured")
	}
	return p.cfg.Normalizer.Normalize(docs, opt)
}

// ProviderKind implements provider.Classified, so generic code can decide
// what a failed call means without Oura's status codes.
func (e *Error) ProviderKind() provider.Kind {
	switch e.Kind {
	case KindInvalidToken:
		return provider.KindInvalidToken
	case KindMissingScope:
		return provider.KindMissingScope
	case KindForbidden:
		// Usually a lapsed membership: nothing until it is renewed.
		return provider.KindForbidden
	case KindUpgradeRequired:
		// The Oura app is too old to share the data type.
		return provider.KindUpgradeRequired
	case KindNotFound:
		return provider.KindNotFound
	case KindValidation:
		return provider.KindInvalidRequest
	case KindRateLimited:
		return provider.KindRateLimited
	case KindServer:
		return provider.KindServer
	case KindNetwork:
		return provider.KindNetwork
	}
	return provider.KindUnknown
}

// ProviderRetryAfter implements provider.Delayed.
func (e *Error) ProviderRetryAfter() time.Duration { return e.RetryAfter }
