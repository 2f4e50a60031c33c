package ingest

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/provider"
)

// UserSubscribeArgs subscribes one connection's account to its provider's
// notifications (providers subscribed per user, Withings), after a link.
type UserSubscribeArgs struct {
	ConnectionID int64 `json:"connection_id"`
}

// Kind implements river.JobArgs.
func (UserSubscribeArgs) Kind() string { return "ingest_user_subscribe" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (UserSubscribeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePoll, MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// userSubscribeWorker runs UserSubscribeArgs.
type userSubscribeWorker struct {
	river.WorkerDefaults[UserSubscribeArgs]
	e *Engine
}

func (w *userSubscribeWorker) Timeout(*river.Job[UserSubscribeArgs]) time.Duration {
	return 2 * time.Minute
}

func (w *userSubscribeWorker) Work(ctx context.Context, job *river.Job[UserSubscribeArgs]) error {
	e := w.e
	conn, active, err := e.jobConnection(ctx, job.Args.ConnectionID)
	if err != nil || !active {
		return err
	}
	prov, err := e.providerOf(conn)
	if err != nil {
		return river.JobCancel(err)
	}
	sub, ok := prov.(provider.UserSubscriber)
	cb := e.UserCallbackURL(conn.DataSource)
	if !ok || cb == "" {
		return nil
	}
	err = sub.SubscribeUser(ctx, e.auth(conn), cb)
	if provider.KindOf(err) == provider.KindRateLimited && provider.RetryAfter(err) > 0 {
		return river.JobSnooze(provider.RetryAfter(err))
	}
	if err != nil {
		return e.jobError(ctx, conn.ID, "subscribe to notifications", err)
	}
	e.log.InfoContext(ctx, "notifications subscribed", "connection", conn.ID, "data_source", conn.DataSource)
	return nil
}

// notificationPurpose names the URL tokens of a data source's callback.
func notificationPurpose(dataSource string) string { return "notifications " + dataSource }

// UserCallbackURL is the callback URL wearlink registers for the users of
// a provider subscribed per user: it carries the current URL token. ""
// when the engine has no public base or no tokens.
func (e *Engine) UserCallbackURL(dataSource string) string {
	if e.cfg.PublicBase == "" || e.cfg.URLTokens == nil {
		return ""
	}
	toks := e.cfg.URLTokens(notificationPurpose(dataSource))
	if len(toks) == 0 {
		return ""
	}
	return e.cfg.PublicBase + "/webhooks/" + dataSource + "/" + toks[0]
}

// callbackTokenValid reports whether tok is one of a data source's URL
// tokens: the current key's, or an older key's while URLs registered
// under it are still in use.
func (e *Engine) callbackTokenValid(dataSource, tok string) bool {
	if e.cfg.URLTokens == nil || tok == "" {
		return false
	}
	ok := false
	for _, t := range e.cfg.URLTokens(notificationPurpose(dataSource)) {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			ok = true
		}
	}
	return ok
}
