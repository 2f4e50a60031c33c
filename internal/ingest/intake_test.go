package ingest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// refusingCursors fails the cursor writes of one connection.
type refusingCursors struct {
	store.CursorWriter
	id int64
}

func (r refusingCursors) SetCursors(ctx context.Context, id int64, cursors map[string]string, syncedAt time.Time) error {
	if id == r.id {
		return errors.New("connection gone")
	}
	return r.CursorWriter.SetCursors(ctx, id, cursors, syncedAt)
}

// TestNotificationsShareCommits: notifications that arrive while another
// one commits are written together, in one transaction, and each
// connection gets its notified time and one fetch job. When that
// transaction fails, each notification is written again alone: only the
// one whose write fails is refused (so its provider sends it again), the
// others are stored.
func TestNotificationsShareCommits(t *testing.T) {
	const users = 4
	var txs atomic.Int32
	var refuse atomic.Int64
	held, hold := make(chan struct{}), make(chan struct{})
	var holdOnce gosync.Once
	var holding atomic.Bool
	e := newEnv(t, envOptions{users: users, backfillDays: 2,
		// Nothing takes the jobs while the test looks.
		engine: func(c *ingest.Config) { c.FetchSettle = time.Hour },
		jobTx: func(begin jobTxFunc) jobTxFunc {
			return func(ctx context.Context, fn func(*sql.Tx, store.CursorWriter) error) error {
				if !holding.Load() {
					return begin(ctx, fn)
				}
				txs.Add(1)
				holdOnce.Do(func() { close(held); <-hold })
				return begin(ctx, func(tx *sql.Tx, w store.CursorWriter) error {
					return fn(tx, refusingCursors{w, refuse.Load()})
				})
			}
		}})
	conns := make([]store.Connection, users)
	for i := range conns {
		conns[i] = e.link(i)
	}
	e.waitBackfill(5*time.Minute, conns...)
	e.waitIdle(5 * time.Minute)
	if n := len(e.jobs("ingest_fetch")); n != 0 {
		t.Fatalf("%d fetch jobs pending before the notifications", n)
	}
	refuse.Store(conns[users-1].ID)
	holding.Store(true)
	notify := func(i int) error {
		_, err := e.eng.Notify(e.ctx, "oura", provider.Notification{ExternalUserID: conns[i].ExternalUserID, Collection: "daily_sleep", Event: "create", ID: "doc"})
		return err
	}
	// The first notification commits alone and is held in its
	// transaction; the others arrive meanwhile.
	errs := make([]error, users)
	var wg gosync.WaitGroup
	wg.Go(func() { errs[0] = notify(0) })
	<-held
	for i := 1; i < users; i++ {
		wg.Go(func() { errs[i] = notify(i) })
	}
	// Until they have joined the next batch, whatever the machine's load.
	for deadline := time.Now().Add(time.Minute); ingest.WaitingNotifications(e.eng) < users-1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d notifications joined the batch in a minute", ingest.WaitingNotifications(e.eng), users-1)
		}
	}
	close(hold)
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == users-1) {
			t.Errorf("notification %d: error %v, want one only for the connection whose write fails", i, err)
		}
	}
	// One transaction for the first, one for the others together, which
	// fails, then one for each of them.
	if n := txs.Load(); n != 2+users-1 {
		t.Errorf("%d transactions, want %d", n, 2+users-1)
	}
	jobs := map[int64]int{}
	for _, j := range e.jobs("ingest_fetch") {
		var a ingest.FetchArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		jobs[a.ConnectionID]++
	}
	for i, c := range conns {
		got, err := e.st.GetConnection(e.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored := i < users-1
		if notified := !ingest.CursorsOf(got).Coll("daily_sleep").Notified.IsZero(); notified != stored || (jobs[c.ID] == 1) != stored || jobs[c.ID] > 1 {
			t.Errorf("connection %d: notified %v, %d fetch jobs; want stored %v, with one job", i, notified, jobs[c.ID], stored)
		}
	}
}
