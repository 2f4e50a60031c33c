package whoop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// DataSource is WHOOP's slug in ROOK's API and in wearlink's store; Name
// is how ROOK spells the source in sources_of_data.
const (
	DataSource = "whoop"
	Name       = "Whoop"
)

// The live hosts, for the composition root's configuration. Nothing in
// this package falls back to them: an empty URL is an error.
const (
	LiveAPIBaseURL   = "https://api.prod.whoop.com/developer"
	LiveOAuthBaseURL = "https://api.prod.whoop.com"
)

// Collection names: WHOOP's own resource names.
const (
	CollCycle           = "cycle"
	CollSleep           = "sleep"
	CollRecovery        = "recovery"
	CollWorkout         = "workout"
	CollProfile         = "profile"
	CollBodyMeasurement = "body_measurement"
)

// Scopes are every scope wearlink asks for; offline is what makes WHOOP
// issue a refresh token.
func Scopes() []string {
	return []string{"read:recovery", "read:cycles", "read:workout", "read:sleep", "read:profile", "read:body_measurement", "offline"}
}

// Config builds WHOOP's provider.Provider.
type Config struct {
	// Client reads the API.
	Client *Client
	// OAuthBaseURL is the host of /oauth/oauth2/auth and /token
	// (LiveOAuthBaseURL in production). Required.
	OAuthBaseURL string
	// ClientSecret is the application's: WHOOP signs notifications with
	// it. Without it ReadNotification refuses every request.
	ClientSecret string
	// Normalizer maps WHOOP's records to ROOK's (whoop/normalize, which
	// imports this package, so it is given here).
	Normalizer provider.Normalizer
	// WallClock checks notification timestamps (default time.Now).
	WallClock func() time.Time
}

// Provider is WHOOP behind the provider seam.
type Provider struct {
	cfg Config
}

var (
	_ provider.Provider           = (*Provider)(nil)
	_ provider.DocumentFetcher    = (*Provider)(nil)
	_ provider.NotificationReader = (*Provider)(nil)
	_ provider.Normalizer         = (*Provider)(nil)
)

// NewProvider checks the configuration.
func NewProvider(cfg Config) (*Provider, error) {
	if cfg.Client == nil {
		return nil, errors.New("whoop provider: no client")
	}
	if cfg.OAuthBaseURL == "" {
		return nil, errors.New("whoop provider: an OAuth base URL is required")
	}
	cfg.OAuthBaseURL = strings.TrimRight(cfg.OAuthBaseURL, "/")
	if cfg.WallClock == nil {
		cfg.WallClock = time.Now
	}
	return &Provider{cfg: cfg}, nil
}

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info {
	return provider.Info{DataSource: DataSource, Name: Name,
		Description: "WHOOP strap: sleep, recovery, strain, workouts and heart rate.",
		OAuth: provider.OAuth{
			AuthURL:  p.cfg.OAuthBaseURL + "/oauth/oauth2/auth",
			TokenURL: p.cfg.OAuthBaseURL + "/oauth/oauth2/token",
			// WHOOP revokes with DELETE /v2/user/access and the user's
			// bearer token, not RFC 7009: see Revoke.
			RevokeURL:      "",
			Scopes:         Scopes(),
			RequiredScopes: []string{"offline", "read:sleep", "read:recovery", "read:cycles"},
			ScopeSeparator: " ",
			AuthStyle:      provider.AuthInParams,
			PKCE:           provider.PKCENone,
			// Each refresh returns a new refresh token and the old one
			// stops working (NOTES 3).
			RotatesRefreshToken: true,
		}}
}

// Collections implements provider.Provider. Cycles are not notified:
// WHOOP sends no cycle events, so they are polled with the others.
func (p *Provider) Collections() []provider.Collection {
	return []provider.Collection{
		// A cycle is filed on the evening it starts and closed (end and
		// score) when the next sleep syncs, up to two days later; without
		// a zone "today" is a day ahead of UTC: four days back.
		{Name: CollCycle, Range: provider.RangeInstants, ByID: true, PollEvery: 6 * time.Hour, ChangesForDays: 4},
		{Name: CollSleep, Range: provider.RangeInstants, ByID: true, Notified: true},
		{Name: CollRecovery, Range: provider.RangeInstants, ByID: true, Notified: true},
		{Name: CollWorkout, Range: provider.RangeInstants, ByID: true, Notified: true},
		{Name: CollProfile, Range: provider.RangeSingleton, PollEvery: 14 * 24 * time.Hour},
		{Name: CollBodyMeasurement, Range: provider.RangeSingleton, PollEvery: 7 * 24 * time.Hour},
	}
}

func unknownCollection(coll string) error {
	return &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("whoop: unknown collection %q", coll)}
}

// Fetch implements provider.Provider: the instant query is widened to
// cover the window's local days in any zone, and each record is kept when
// its own day (in its own offset) is inside the window.
func (p *Provider) Fetch(ctx context.Context, a provider.Auth, coll string, w provider.Window) ([]provider.Document, error) {
	u := p.cfg.Client.User(a)
	switch coll {
	case CollProfile:
		rec, err := u.Profile(ctx)
		if err != nil {
			return nil, err
		}
		return []provider.Document{profileDocument(rec)}, nil
	case CollBodyMeasurement:
		rec, err := u.BodyMeasurement(ctx)
		if err != nil {
			return nil, err
		}
		return []provider.Document{{Collection: CollBodyMeasurement, Raw: rec.Raw}}, nil
	case CollCycle, CollSleep, CollRecovery, CollWorkout:
	default:
		return nil, unknownCollection(coll)
	}
	r, err := queryRange(w.From, w.To)
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: err}
	}
	var docs []provider.Document
	switch coll {
	case CollCycle:
		recs, err := u.Cycles(ctx, r)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			d, err := cycleDocument(rec)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d)
		}
	case CollSleep:
		recs, err := u.Sleeps(ctx, r)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			d, err := sleepDocument(rec)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d)
		}
	case CollWorkout:
		recs, err := u.Workouts(ctx, r)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			d, err := workoutDocument(rec)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d)
		}
	case CollRecovery:
		docs, err = p.recoveries(ctx, u, r)
		if err != nil {
			return nil, err
		}
	}
	out := docs[:0]
	for _, d := range docs {
		if d.Day >= w.From && d.Day <= w.To {
			out = append(out, d)
		}
	}
	return out, nil
}

// recoveries lists recoveries and places each on its sleep's day. The
// sleeps of the same range are listed once; a sleep outside it is read by
// id, and a recovery whose sleep is gone (WHOOP deletes the recovery with
// it) is left out.
func (p *Provider) recoveries(ctx context.Context, u *User, r Range) ([]provider.Document, error) {
	recs, err := u.Recoveries(ctx, r)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	sleeps, err := u.Sleeps(ctx, r)
	if err != nil {
		return nil, err
	}
	days := make(map[string]string, len(sleeps))
	for _, s := range sleeps {
		if d, err := s.Value.Day(); err == nil {
			days[s.Value.ID] = d
		}
	}
	out := make([]provider.Document, 0, len(recs))
	for _, rec := range recs {
		day, ok := days[rec.Value.SleepID]
		if !ok {
			s, err := u.Sleep(ctx, rec.Value.SleepID)
			if IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if day, err = s.Value.Day(); err != nil {
				return nil, badRecord(CollSleep, s.Value.ID, err)
			}
		}
		out = append(out, provider.Document{Collection: CollRecovery, ID: rec.Value.SleepID, Day: day, Raw: rec.Raw})
	}
	return out, nil
}

// badRecord reports a record WHOOP sent that cannot be placed on a day.
func badRecord(coll, id string, err error) error {
	return &provider.Error{Kind: provider.KindServer, Err: fmt.Errorf("whoop %s %s: %w", coll, id, err)}
}

func cycleDocument(rec Record[Cycle]) (provider.Document, error) {
	id := CycleID(rec.Value.ID)
	day, err := rec.Value.Day()
	if err != nil {
		return provider.Document{}, badRecord(CollCycle, id, err)
	}
	return provider.Document{Collection: CollCycle, ID: id, Day: day, Raw: rec.Raw}, nil
}

func sleepDocument(rec Record[Sleep]) (provider.Document, error) {
	day, err := rec.Value.Day()
	if err != nil {
		return provider.Document{}, badRecord(CollSleep, rec.Value.ID, err)
	}
	return provider.Document{Collection: CollSleep, ID: rec.Value.ID, Day: day, Raw: rec.Raw}, nil
}

func workoutDocument(rec Record[Workout]) (provider.Document, error) {
	day, err := rec.Value.Day()
	if err != nil {
		return provider.Document{}, badRecord(CollWorkout, rec.Value.ID, err)
	}
	return provider.Document{Collection: CollWorkout, ID: rec.Value.ID, Day: day, Raw: rec.Raw}, nil
}

func profileDocument(rec Record[UserBasicProfile]) provider.Document {
	d := provider.Document{Collection: CollProfile, Raw: rec.Raw}
	if rec.Value.UserID != nil {
		d.ID = strconv.FormatInt(*rec.Value.UserID, 10)
	}
	return d
}

// FetchDocument implements provider.DocumentFetcher. A recovery is named
// by its sleep's UUID, as WHOOP's v2 recovery notifications name it: the
// sleep is read, then its cycle's recovery. A numeric id is taken as a
// cycle id (model version v1 named recoveries by cycle).
func (p *Provider) FetchDocument(ctx context.Context, a provider.Auth, coll, id string) (provider.Document, error) {
	u := p.cfg.Client.User(a)
	switch coll {
	case CollCycle:
		rec, err := u.Cycle(ctx, id)
		if err != nil {
			return provider.Document{}, err
		}
		return cycleDocument(rec)
	case CollSleep:
		rec, err := u.Sleep(ctx, id)
		if err != nil {
			return provider.Document{}, err
		}
		return sleepDocument(rec)
	case CollWorkout:
		rec, err := u.Workout(ctx, id)
		if err != nil {
			return provider.Document{}, err
		}
		return workoutDocument(rec)
	case CollRecovery:
		return p.recoveryBySleep(ctx, u, id)
	case CollProfile, CollBodyMeasurement:
		return provider.Document{}, &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("whoop: %s is not read by id", coll)}
	}
	return provider.Document{}, unknownCollection(coll)
}

func (p *Provider) recoveryBySleep(ctx context.Context, u *User, id string) (provider.Document, error) {
	var sleep Record[Sleep]
	var rec Record[Recovery]
	var err error
	if _, numErr := strconv.ParseInt(id, 10, 64); numErr == nil {
		if rec, err = u.CycleRecovery(ctx, id); err != nil {
			return provider.Document{}, err
		}
		if sleep, err = u.Sleep(ctx, rec.Value.SleepID); err != nil {
			return provider.Document{}, err
		}
	} else {
		if sleep, err = u.Sleep(ctx, id); err != nil {
			return provider.Document{}, err
		}
		if rec, err = u.CycleRecovery(ctx, CycleID(sleep.Value.CycleID)); err != nil {
			return provider.Document{}, err
		}
	}
	day, err := sleep.Value.Day()
	if err != nil {
		return provider.Document{}, badRecord(CollSleep, sleep.Value.ID, err)
	}
	return provider.Document{Collection: CollRecovery, ID: rec.Value.SleepID, Day: day, Raw: rec.Raw}, nil
}

// Identify implements provider.Provider: the profile's user_id, which
// notifications name users by. The profile and the body measurement are
// returned as documents, because singletons are read through Identify; a
// body measurement the grant may not read is left out.
func (p *Provider) Identify(ctx context.Context, a provider.Auth) (provider.Account, error) {
	u := p.cfg.Client.User(a)
	rec, err := u.Profile(ctx)
	if err != nil {
		return provider.Account{}, err
	}
	if rec.Value.UserID == nil {
		return provider.Account{}, &provider.Error{Kind: provider.KindServer, Err: errors.New("whoop: the profile has no user_id")}
	}
	acc := provider.Account{ExternalUserID: strconv.FormatInt(*rec.Value.UserID, 10),
		Documents: []provider.Document{profileDocument(rec)}}
	body, err := u.BodyMeasurement(ctx)
	switch provider.KindOf(err) {
	case provider.KindUnknown:
		if err != nil {
			return provider.Account{}, err
		}
		acc.Documents = append(acc.Documents, provider.Document{Collection: CollBodyMeasurement, Raw: body.Raw})
	case provider.KindMissingScope, provider.KindForbidden, provider.KindNotFound:
	default:
		return provider.Account{}, err
	}
	return acc, nil
}

// Revoke implements provider.Revoker: DELETE /v2/user/access with the
// user's own bearer token, since WHOOP has no RFC 7009 endpoint (oauthkit
// calls it in place of one). A token the source hands out is refreshed
// when WHOOP refuses it, as for any other request.
func (p *Provider) Revoke(ctx context.Context, a provider.Auth) error {
	if a == nil {
		return nil
	}
	return p.cfg.Client.User(a).RevokeAccess(ctx)
}

// notificationEvent maps the event part of a notification type to the
// seam's event.
func notificationEvent(e string) (string, bool) {
	switch e {
	case "updated":
		return "update", true
	case "deleted":
		return "delete", true
	}
	return "", false
}

// ReadNotification implements provider.NotificationReader: the signature
// and its timestamp are checked against the exact body, then the one
// change it announces is returned. A type wearlink does not read yields
// no notification and no error, so WHOOP is answered 2xx and does not
// retry.
func (p *Provider) ReadNotification(r *http.Request, body []byte) ([]provider.Notification, error) {
	if p.cfg.ClientSecret == "" {
		return nil, &provider.Error{Kind: provider.KindUnauthorized, Err: errors.New("whoop: no client secret to verify notifications with")}
	}
	v := Verifier{ClientSecret: p.cfg.ClientSecret, Now: p.cfg.WallClock}
	if err := v.VerifyRequest(r, body); err != nil {
		return nil, &provider.Error{Kind: provider.KindUnauthorized, Err: err}
	}
	n, err := parseNotification(body)
	if err != nil {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("whoop notification: %w", err)}
	}
	resource, event, _ := strings.Cut(n.Type, ".")
	ev, okEvent := notificationEvent(event)
	switch {
	case !okEvent:
		return nil, nil
	case resource != CollSleep && resource != CollWorkout && resource != CollRecovery:
		return nil, nil
	}
	if n.UserID.String() == "" {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("whoop notification: no user_id")}
	}
	id := n.DocumentID()
	if id == "" {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("whoop notification: no id")}
	}
	return []provider.Notification{{ExternalUserID: n.UserID.String(), Collection: resource, Event: ev, ID: id}}, nil
}

// Normalize implements provider.Normalizer with the configured one.
func (p *Provider) Normalize(docs []provider.Document, opt provider.NormalizeOptions) ([]provider.Normalized, error) {
	if p.cfg.Normalizer == nil {
		return nil, errors.New("whoop provider: no normalizer configured")
	}
	return p.cfg.Normalizer.Normalize(docs, opt)
}
