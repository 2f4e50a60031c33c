package ingest

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
)

// MaxNotificationBytes bounds a notification body (providers send a few
// hundred bytes: an id or a short form).
const MaxNotificationBytes = 64 << 10

// Challenge answers a provider's check of the callback URL before it sends
// notifications there (a GET with a verification token). Errors carry
// health codes: ENOTFOUND when the data source is not served or has no such
// check, EUNAUTHORIZED when the check is not the provider's.
func (e *Engine) Challenge(r *http.Request, dataSource string) (any, error) {
	p, ok := e.cfg.Providers.Lookup(dataSource)
	if !ok {
		return nil, health.Errorf(health.ENOTFOUND, "This server takes no notifications from %s.", dataSource)
	}
	ch, ok := p.(provider.Challenger)
	if !ok {
		return nil, health.Errorf(health.ENOTFOUND, "%s does not check callback URLs with a GET; notifications are POSTed.", p.Info().Name)
	}
	out, err := ch.Challenge(r)
	if err != nil {
		e.log.WarnContext(r.Context(), "callback check refused", "data_source", dataSource, "remote", r.RemoteAddr, "err", err)
		return nil, health.Errorf(health.EUNAUTHORIZED, "The verification token is not this server's.")
	}
	return out, nil
}

// HandleNotification reads one notification request of a data source
// (body is its raw body, at most MaxNotificationBytes) and records what it
// announces (see Notify). Only a request the provider's reader verifies
// (typically an HMAC of a timestamp and the exact body under the app's
// client secret) changes anything. It returns the number of connections
// notified. Errors carry health codes: ENOTFOUND for a data source not
// served or without notifications, EUNAUTHORIZED for a request that is not
// the provider's, EINVALID for a body that is not a notification; any
// other error means nothing was enqueued and the provider should retry.
func (e *Engine) HandleNotification(r *http.Request, dataSource, token string, body []byte) (int, error) {
	ctx := r.Context()
	p, ok := e.cfg.Providers.Lookup(dataSource)
	if !ok {
		return 0, health.Errorf(health.ENOTFOUND, "This server takes no notifications from %s.", dataSource)
	}
	// Providers subscribed per user sign nothing: only the URL wearlink
	// registered, with its token, is theirs. The others are signed and
	// come to the URL without one.
	if _, perUser := p.(provider.UserSubscriber); perUser != (token != "") || (perUser && !e.callbackTokenValid(dataSource, token)) {
		if perUser {
			e.log.WarnContext(ctx, "notification to an unknown callback URL", "data_source", dataSource, "remote", r.RemoteAddr)
		}
		return 0, health.Errorf(health.ENOTFOUND, "No notifications are taken at this URL.")
	}
	reader, ok := p.(provider.NotificationReader)
	if !ok {
		return 0, health.Errorf(health.ENOTFOUND, "%s sends no notifications; its data is polled.", p.Info().Name)
	}
	ns, err := reader.ReadNotification(r, body)
	switch provider.KindOf(err) {
	case provider.KindUnknown:
		if err != nil {
			return 0, err
		}
	case provider.KindUnauthorized:
		e.log.WarnContext(ctx, "notification rejected", "data_source", dataSource, "remote", r.RemoteAddr, "err", err)
		return 0, health.Errorf(health.EUNAUTHORIZED, "The notification's signature does not verify.")
	default:
		return 0, health.Errorf(health.EINVALID, "Not a %s notification.", p.Info().Name)
	}
	// A verified notification is recorded even if the provider hangs up
	// while the database is busy: its retry then finds the job already
	// there.
	if len(ns) == 0 {
		e.log.InfoContext(ctx, "notification announces nothing wearlink reads", "data_source", dataSource)
	}
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	total := 0
	for _, n := range ns {
		k, err := e.Notify(nctx, dataSource, n)
		if err != nil {
			e.log.ErrorContext(ctx, "notification not enqueued", "data_source", dataSource, "collection", n.Collection, "err", err)
			return total, fmt.Errorf("notification not enqueued: %w", err)
		}
		total += k
	}
	return total, nil
}

// maxIgnoredTypes bounds the types of ignored notifications told apart:
// the names come from outside, so past it they are all "other".
const maxIgnoredTypes = 64

// ignored accepts a notification of something wearlink does not read:
// counted by type through OnIgnoredNotification, logged the first time
// its type is seen.
func (e *Engine) ignored(ctx context.Context, dataSource string, n provider.Notification) {
	typ := n.Type
	if typ == "" {
		typ = n.Collection
	}
	e.ignoredTypes.mu.Lock()
	key := dataSource + "/" + typ
	first := !e.ignoredTypes.seen[key]
	if first && len(e.ignoredTypes.seen) >= maxIgnoredTypes {
		typ, key, first = "other", dataSource+"/other", !e.ignoredTypes.seen[dataSource+"/other"]
	}
	if e.ignoredTypes.seen == nil {
		e.ignoredTypes.seen = map[string]bool{}
	}
	e.ignoredTypes.seen[key] = true
	e.ignoredTypes.mu.Unlock()
	if first {
		e.log.InfoContext(ctx, "notifications of this type are accepted and ignored: wearlink reads nothing for them", "data_source", dataSource, "type", typ)
	}
	if e.cfg.OnIgnoredNotification != nil {
		e.cfg.OnIgnoredNotification(dataSource, typ)
	}
}

// notifyTimeout bounds recording one notification.
const notifyTimeout = 30 * time.Second

// Notify records a verified notification on every active connection of
// the provider's account and enqueues the fetch that reads it, or, for a
// delete that names its document, the delete job that removes it (a fetch
// of recent days would neither see nor remove an older document). It
// returns the number of connections notified; notifications for unknown
// accounts or collections are accepted and ignored.
func (e *Engine) Notify(ctx context.Context, dataSource string, n provider.Notification) (int, error) {
	jobs, err := e.inserter()
	if err != nil {
		return 0, err
	}
	c, ok := e.cfg.Providers.Collection(dataSource, n.Collection)
	if !ok {
		e.ignored(ctx, dataSource, n)
		return 0, nil
	}
	conns, err := e.st.ConnectionsByExternalUser(ctx, dataSource, n.ExternalUserID)
	if err != nil {
		return 0, fmt.Errorf("connections of %s user %s: %w", dataSource, n.ExternalUserID, err)
	}
	if len(conns) == 0 {
		e.log.InfoContext(ctx, "notification for an account with no active connection", "data_source", dataSource, "external_user_id", n.ExternalUserID)
		return 0, nil
	}
	now := e.now()
	if n.Event == "delete" && n.ID != "" {
		// Nothing to read: the delete job needs no fetch, and a fetch
		// running now need not read again for it. Inserted outside a
		// transaction, so that on SQLite River wakes its workers at once.
		patch := cursorPatch{}
		patch.webhookAt(now)
		for _, conn := range conns {
			if err := e.st.SetCursors(ctx, conn.ID, patch, time.Time{}); err != nil {
				return 0, err
			}
			if _, err := jobs.Insert(ctx, DeleteArgs{ConnectionID: conn.ID, Collection: c.Name, ID: n.ID}, nil); err != nil {
				return 0, fmt.Errorf("enqueue delete: %w", err)
			}
			e.log.DebugContext(ctx, "notification", "connection", conn.ID, "event", n.Event, "collection", c.Name, "id", n.ID)
		}
		return len(conns), nil
	}
	patch := cursorPatch{}
	patch.webhookAt(now)
	patch.notified(c.Name, now)
	if n.Event == "update" && n.ID != "" && c.ByID {
		patch.update(c.Name, n.ID, now)
	}
	if !n.From.IsZero() {
		// The window's first instant is on this UTC day or the one before
		// in every zone: reading from the day before covers it without
		// knowing the user's zone.
		patch.since(c.Name, addDays(dayOf(n.From, time.UTC), -1), now)
	}
	// The time goes in first: a fetch that starts after it covers this
	// notification, one already running sees it and reads again. In one
	// transaction (AttachTx) the time and the job become visible at once,
	// which keeps that: a fetch that sees the job sees the time. One commit
	// per notification rather than two, shared with the notifications
	// that arrive meanwhile (intake.go), also spares SQLite's single
	// writer most of its commits.
	ids := make([]int64, len(conns))
	for i, conn := range conns {
		ids[i] = conn.ID
	}
	if err := e.write(ctx, jobs, noted{conns: ids, coll: c.Name, patch: patch}); err != nil {
		return 0, err
	}
	for _, conn := range conns {
		e.log.DebugContext(ctx, "notification", "connection", conn.ID, "event", n.Event, "collection", c.Name, "id", n.ID)
	}
	return len(conns), nil
}
