package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// OutboxChannel is the channel InsertOutbox notifies on commit. The
// payload is the schema the outbox is in, so that deployments sharing a
// database in different schemas do not wake each other.
const OutboxChannel = "wearlink_outbox"

// ListenerAppName is the application_name of the listening connection, to
// find it in pg_stat_activity.
const ListenerAppName = "wearlink outbox listener"

// Reconnection delays of ListenOutbox: doubled after each failed attempt,
// back to the first after a connection that listened.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 30 * time.Second
)

// ListenOutbox calls woken for each commit of outbox records in this
// database and schema, by any process, until ctx ends. It holds one
// connection of its own, outside the pool. When that connection drops it
// reconnects, with growing delays while the server is unreachable; since
// commits made while it was not listening sent it nothing, it calls woken
// once each time it starts listening. woken must not block.
func (s *Store) ListenOutbox(ctx context.Context, woken func()) {
	delay := listenRetryMin
	for {
		listened, err := s.listenOnce(ctx, woken)
		if ctx.Err() != nil {
			return
		}
		if listened {
			delay = listenRetryMin
		}
		s.log.Warn("outbox listener: not listening; other processes' writes wait for the pump's timer until it is back",
			"err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, listenRetryMax)
	}
}

// listenOnce connects, listens and calls woken for each notification of
// this schema until the connection fails or ctx ends. listened says
// whether it got as far as listening.
func (s *Store) listenOnce(ctx context.Context, woken func()) (listened bool, err error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ListenerAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		// The context may be over; closing must not wait on it.
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	// The schema the writers' current_schema() names: the same
	// search_path is set on this connection as on the pool's.
	var schema string
	if err := conn.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+OutboxChannel); err != nil {
		return false, err
	}
	woken()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if n.Channel == OutboxChannel && n.Payload == schema {
			woken()
		}
	}
}
