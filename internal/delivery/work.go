package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// errAborted: the attempt was cut off by the caller (shutdown); nothing
// was recorded and the delivery is still due.
var errAborted = errors.New("delivery: attempt aborted")

// nextDelay is the wait after the n-th failed attempt of a round (n >= 1),
// jittered, and no shorter than a Retry-After within MaxRetryAfter; false
// when the schedule is exhausted.
func (s *Service) nextDelay(n int, retryAfter time.Duration) (time.Duration, bool) {
	if n < 1 || n > len(s.cfg.Schedule) {
		return 0, false
	}
	base := s.cfg.Schedule[n-1]
	d := time.Duration(float64(base) * (1 + s.cfg.Jitter*(2*s.cfg.Rand()-1)))
	if retryAfter > 0 {
		d = max(d, min(retryAfter, s.cfg.MaxRetryAfter))
	}
	return d, true
}

// work runs one delivery job. again says the job must run again after
// wait (the delivery is still pending); a job that ends without again
// reports its outcome to Config.OnOutcome.
func (s *Service) work(ctx context.Context, id int64) (wait time.Duration, again bool, err error) {
	// One read for both: a delivery's first attempt, the common case,
	// needs its endpoint.
	d, ep, err := s.st.GetDeliveryToSend(ctx, id)
	if health.ErrorCode(err) == health.ENOTFOUND {
		return s.ended(OutcomeGone) // pruned, or its endpoint deleted
	}
	if err != nil {
		return 0, false, err
	}
	if d.Status != store.DeliveryPending {
		return s.ended(d.Status)
	}
	now := s.now()
	if w := d.NextAttemptAt.Sub(now); w > 0 {
		return w, true, nil
	}
	if !ep.Enabled && d.Kind != store.MessageTest {
		killed, err := s.st.KillDelivery(ctx, d.ID, "endpoint disabled: "+ep.DisabledReason, now)
		if err != nil {
			return 0, false, err
		}
		if !killed {
			// Another run finished it meanwhile (a rescued job): the outcome
			// is what that run recorded.
			cur, err := s.st.GetDelivery(ctx, id)
			switch {
			case health.ErrorCode(err) == health.ENOTFOUND:
				return s.ended(OutcomeGone)
			case err != nil:
				// The job is done all the same; only its label is lost.
				return s.ended(OutcomeUnknown)
			}
			return s.ended(cur.Status)
		}
		return s.ended(store.DeliveryDead)
	}
	if ep.Paused && d.Kind != store.MessageTest {
		// The delivery waits, unqueued: resuming queues it again.
		return s.ended(OutcomePaused)
	}
	rec, _, err := s.attempt(ctx, d, ep, now)
	if err != nil {
		return 0, false, err
	}
	if rec.Status != store.DeliveryPending {
		return s.ended(rec.Status)
	}
	return max(rec.NextAttemptAt.Sub(s.now()), 0), true, nil
}

// Outcomes of a delivery job besides the delivery's final status
// (store.DeliverySucceeded, store.DeliveryDead).
const (
	// OutcomeGone: the delivery or its endpoint no longer exists.
	OutcomeGone = "gone"
	// OutcomePaused: the delivery waits, unqueued, for its paused endpoint.
	OutcomePaused = "paused"
	// OutcomeUnknown: the job ended but its delivery could not be read.
	OutcomeUnknown = "unknown"
)

// ended reports a finished job's outcome and returns work's result for
// it.
func (s *Service) ended(outcome string) (time.Duration, bool, error) {
	if s.cfg.OnOutcome != nil {
		s.cfg.OnOutcome(outcome)
	}
	return 0, false, nil
}

// attempt posts d to ep once (writes it, for a destination), records the attempt, and acts on it: a dead
// data delivery is announced to the client's notification endpoints; a
// 410 or DisableAfter of unbroken failures disables the endpoint.
func (s *Service) attempt(ctx context.Context, d store.Delivery, ep store.WebhookEndpoint, now time.Time) (store.Delivery, outcome, error) {
	var o outcome
	if ep.IsDestination() {
		o = s.write(ctx, ep, d)
	} else {
		o = s.post(ctx, ep, d, now)
	}
	if o.aborted {
		return d, o, errAborted
	}
	r := store.AttemptRecord{
		DeliveryID: d.ID, ExpectAttempts: d.Attempts, Failed: !o.ok(),
		Attempt: store.DeliveryAttempt{AttemptedAt: now, StatusCode: o.status, Duration: o.duration,
			ErrorClass: o.class, Error: o.err, Response: o.response},
	}
	gone := o.status == http.StatusGone
	test := d.Kind == store.MessageTest
	switch {
	case o.ok():
		r.Status = store.DeliverySucceeded
	case gone || test || !retryable(o.class):
		r.Status = store.DeliveryDead
	default:
		r.Status = store.DeliveryDead
		if wait, ok := s.nextDelay(d.RoundAttempts+1, o.retryAfter); ok {
			r.Status, r.NextAttemptAt = store.DeliveryPending, now.Add(wait)
		}
	}
	rec, failingSince, err := s.record(ctx, r)
	if health.ErrorCode(err) == health.ECONFLICT {
		// Another worker recorded this attempt (a rescued job ran twice).
		s.log.Info("delivery attempt already recorded", "delivery", d.ID, "err", err)
		cur, gerr := s.st.GetDelivery(ctx, d.ID)
		return cur, o, gerr
	}
	if err != nil {
		return d, o, err
	}
	s.log.Debug("delivery attempt", "delivery", d.ID, "endpoint", ep.ID, "webhook_id", d.WebhookID, "attempt", rec.Attempts,
		"status", o.status, "class", o.class, "duration", o.duration, "next", rec.Status)
	if test {
		return rec, o, nil
	}
	if rec.Status == store.DeliveryDead && d.Kind == store.MessageData {
		s.rejected(ctx, rec, ep, o.class)
	}
	switch {
	case gone:
		s.disable(ctx, ep, "the endpoint answered 410 Gone", failingSince, now)
	case !o.ok() && !failingSince.IsZero() && now.Sub(failingSince) >= s.cfg.DisableAfter:
		s.disable(ctx, ep, fmt.Sprintf("every attempt failed since %s", failingSince.UTC().Format(time.RFC3339)), failingSince, now)
	}
	return rec, o, nil
}

// disable turns an endpoint off (its pending deliveries become dead
// letters) and tells the client.
func (s *Service) disable(ctx context.Context, ep store.WebhookEndpoint, reason string, failingSince, now time.Time) {
	upd, err := s.st.SetEndpointEnabled(ctx, ep.ID, false, reason, now)
	if err != nil {
		s.log.Error("disable webhook endpoint", "endpoint", ep.ID, "err", err)
		return
	}
	s.log.Warn("webhook endpoint disabled", "endpoint", ep.ID, "client", ep.ClientUUID, "reason", reason)
	s.endpointDisabled(ctx, upd, failingSince, reason)
}

// pump turns every outbox record into deliveries and queues their jobs.
func (s *Service) pump(ctx context.Context) error {
	for {
		res, err := s.st.FanOut(ctx, s.cfg.FanoutBatch, s.now())
		if err != nil {
			return err
		}
		if res.Records > 0 {
			s.log.Debug("fanned out", "records", res.Records, "superseded", res.Superseded, "deliveries", res.Deliveries)
		}
		if err := s.enqueuePending(ctx); err != nil {
			return err
		}
		if res.Records < s.cfg.FanoutBatch {
			return nil
		}
	}
}

const enqueueBatch = 1000

// enqueuePending queues a job for every pending delivery that has none
// yet (new, replayed, or left by a process that stopped in between).
func (s *Service) enqueuePending(ctx context.Context) error {
	if s.jobs == nil {
		return nil
	}
	for {
		ids, err := s.st.UnenqueuedDeliveries(ctx, enqueueBatch)
		if err != nil {
			return err
		}
		if err := s.enqueue(ctx, ids); err != nil {
			return err
		}
		if len(ids) < enqueueBatch {
			return nil
		}
	}
}

// enqueue queues delivery jobs and marks the deliveries enqueued. A job
// still waiting or running for a delivery makes the insert a no-op
// (unique by delivery), so queuing twice is harmless.
func (s *Service) enqueue(ctx context.Context, ids []int64) error {
	if s.jobs == nil || len(ids) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: DeliverArgs{DeliveryID: id}}
	}
	if _, err := s.jobs.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("queue deliveries: %w", err)
	}
	return s.st.MarkEnqueued(ctx, ids)
}

// maintain prunes deliveries past their retention and re-queues pending
// deliveries long overdue, whose job may have been lost.
func (s *Service) maintain(ctx context.Context) error {
	now := s.now()
	n, err := s.st.PruneDeliveries(ctx, now.Add(-s.cfg.DeadLetterRetention), now.Add(-s.cfg.SucceededRetention))
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("pruned deliveries", "deliveries", n)
	}
	ids, err := s.st.OverdueDeliveries(ctx, now.Add(-s.cfg.OverdueAfter), enqueueBatch)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, ids)
}

// recorder batches the attempt records of concurrent workers into one
// transaction. On SQLite every commit waits for an fsync on the single
// writer, so a commit per attempt would cap deliveries at the disk's
// fsync rate. One worker at a time leads: it commits everything queued,
// its own record included, then hands the lead to the first record that
// queued meanwhile, so no worker serves others for long.
type recorder struct {
	mu    sync.Mutex
	queue []*recordReq
	busy  bool
}

type recordReq struct {
	r    store.AttemptRecord
	res  store.AttemptResult
	err  error // the batch's
	done chan struct{}
	lead chan struct{}
}

func (q *recordReq) result() (store.Delivery, time.Time, error) {
	if q.err != nil {
		return store.Delivery{}, time.Time{}, q.err
	}
	return q.res.Delivery, q.res.FailingSince, q.res.Err
}

// record stores one attempt, in a batch with those of other workers.
func (s *Service) record(ctx context.Context, r store.AttemptRecord) (store.Delivery, time.Time, error) {
	req := &recordReq{r: r, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	rc := &s.rec
	rc.mu.Lock()
	rc.queue = append(rc.queue, req)
	leader := !rc.busy
	rc.busy = true
	rc.mu.Unlock()
	if !leader {
		select {
		case <-req.done:
			return req.result()
		case <-req.lead:
		}
	}
	rc.mu.Lock()
	batch := rc.queue
	rc.queue = nil
	rc.mu.Unlock()

	rs := make([]store.AttemptRecord, len(batch))
	for i, q := range batch {
		rs[i] = q.r
	}
	// The batch holds other workers' records: this worker's cancellation
	// must not lose them.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	res, err := s.st.RecordAttempts(bctx, rs)
	cancel()
	for i, q := range batch {
		if err != nil {
			q.err = err
		} else {
			q.res = res[i]
		}
		if q != req {
			close(q.done)
		}
	}

	rc.mu.Lock()
	if len(rc.queue) > 0 {
		rc.queue[0].lead <- struct{}{}
	} else {
		rc.busy = false
	}
	rc.mu.Unlock()
	return req.result()
}
