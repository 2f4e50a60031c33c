package oura

import (
	"context"
	"errors"
	"fmt"

	"github.com/wearlink/wearlink/internal/provider"
)

var _ provider.Subscriber = (*Provider)(nil)

// subscribedDataTypes are the data types wearlink subscribes to: every
// ExtApiV2DataType with a collection to read ("meal" has none in the API
// version wearlink speaks).
func subscribedDataTypes() []DataType {
	var out []DataType
	for _, dt := range WebhookDataTypes() {
		if _, ok := LookupCollection(string(dt)); ok {
			out = append(out, dt)
		}
	}
	return out
}

// Subscribe implements provider.Subscriber: one subscription per event
// type and data type for callbackURL, the missing ones created, those
// expiring within RenewBefore renewed. Oura checks a new subscription by
// calling the callback (see Challenge), so the server must be listening.
func (p *Provider) Subscribe(ctx context.Context, callbackURL string) (provider.SubscribeReport, error) {
	var rep provider.SubscribeReport
	if p.cfg.ClientID == "" || p.cfg.ClientSecret == "" || p.cfg.VerificationToken == "" || callbackURL == "" {
		return rep, errors.New("webhook subscriptions need the Oura client id and secret, a verification token and a callback URL")
	}
	hooks := p.cfg.Client.Webhooks(p.cfg.ClientID, p.cfg.ClientSecret)
	subs, err := hooks.List(ctx)
	if err != nil {
		return rep, fmt.Errorf("list subscriptions: %w", err)
	}
	type key struct {
		ev WebhookOperation
		dt DataType
	}
	have := map[key]WebhookSubscription{}
	for _, s := range subs {
		if s.CallbackURL == callbackURL {
			have[key{s.EventType, s.DataType}] = s
		}
	}
	now := p.cfg.Now()
	for _, ev := range []WebhookOperation{WebhookCreate, WebhookUpdate, WebhookDelete} {
		for _, dt := range subscribedDataTypes() {
			s, ok := have[key{ev, dt}]
			if !ok {
				_, err := hooks.Create(ctx, CreateWebhookSubscription{CallbackURL: callbackURL, VerificationToken: p.cfg.VerificationToken, EventType: ev, DataType: dt})
				var oe *Error
				if errors.As(err, &oe) && oe.StatusCode == 409 {
					rep.Existing++ // created meanwhile by another process
					continue
				}
				if err != nil {
					return rep, fmt.Errorf("create subscription %s %s: %w", ev, dt, err)
				}
				rep.Created++
				continue
			}
			exp, err := s.ExpirationTime.Time()
			if err == nil && exp.Sub(now) > p.cfg.RenewBefore {
				rep.Existing++
				continue
			}
			if _, err := hooks.Renew(ctx, s.ID); err != nil {
				return rep, fmt.Errorf("renew subscription %s: %w", s.ID, err)
			}
			rep.Renewed++
		}
	}
	return rep, nil
}
