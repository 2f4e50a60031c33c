package ingest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// undatedUnseen is a store whose reads of the undated documents alone
// (personal_info and ring_configuration) find none: what a normalization
// sees when it reads them just before another process stores them, and
// then reads its days after.
type undatedUnseen struct{ store.Store }

func (s undatedUnseen) RawDocuments(ctx context.Context, id int64, colls []string, from, to string) ([]store.RawDocument, error) {
	if slices.Equal(colls, []string{oura.CollPersonalInfo, oura.CollRingConfiguration}) {
		return nil, nil
	}
	return s.Store.RawDocuments(ctx, id, colls, from, to)
}

// TestUndatedFiledFromTheSameRead: the day personal_info and
// ring_configuration are filed under comes from the read that loads them
// for normalization, so a separate read that missed them cannot file them
// under the wrong day and leave documents offline normalization does not
// make.
func TestUndatedFiledFromTheSameRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{users: 1, seed: 5, backfillDays: 7,
		engine: func(c *ingest.Config) { c.Store = undatedUnseen{c.Store} }})
	conn := e.link(0)
	e.waitBackfill(3*time.Minute, conn)
	e.waitIdle(time.Minute)
	tz := e.sim.Tokens()[0].TimeZone
	want, got := e.offline(conn, tz, e.asOf(conn, tz)), e.stored(conn)
	if len(want) == 0 || diff(want, got) != "" {
		t.Errorf("%d documents offline, %d stored\n%s", len(want), len(got), diff(want, got))
	}
}
