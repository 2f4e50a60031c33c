package ingest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// DeleteArgs deletes one raw document that the provider announced as
// deleted, and normalizes again the day it belonged to. It is unique per
// (connection, collection, id) while it waits or runs: the provider's
// retries of one notification coalesce into it.
type DeleteArgs struct {
	ConnectionID int64  `json:"connection_id" river:"unique"`
	Collection   string `json:"collection" river:"unique"`
	ID           string `json:"id" river:"unique"`
}

// Kind implements river.JobArgs.
func (DeleteArgs) Kind() string { return "ingest_delete" }

// InsertOpts implements river.JobArgsWithInsertOpts. Deletes run on the
// fetch queue: they follow notifications and cost no provider request.
func (DeleteArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFetch, MaxAttempts: 20,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// deleteWorker runs DeleteArgs.
//
// What a receiver sees: each health document the deleted document was part
// of gets a new version built from what remains (a day's sleep summary
// without the deleted sleep). A health document that only the deleted
// document produced (the activity event of a deleted workout, the summary
// of a day whose one record was deleted) is not deleted: it gets a new
// version with no data (every value null, an event list null), so a receiver
// that keeps the newest version of each document ends with nothing of the
// deleted record. Health documents are never removed by a delete, so
// versions only grow and the API keeps answering for the key.
//
// Crash safety: the day is recorded before the document is deleted. The
// job reads the document, works out which health documents only it
// produced, and writes both into the connection's cursors (a deleteMark
// under del:COLL:ID); then it deletes the raw document, normalizes the
// recorded days, writes the empty versions and clears the mark. Killed at
// any point, the job runs again: before the delete it finds the document
// and does the same again; after it, it finds the mark and finishes from
// it. Every step is idempotent (a delete of a missing document is a
// no-op, an unchanged health document keeps its version), so a job run
// twice, or two notifications of one delete, change nothing more. The
// alternative, normalizing without the document and deleting it in one
// transaction, would need the normalizer inside the store's transaction.
type deleteWorker struct {
	river.WorkerDefaults[DeleteArgs]
	e *Engine
}

func (w *deleteWorker) Timeout(*river.Job[DeleteArgs]) time.Duration { return 5 * time.Minute }

func (w *deleteWorker) Work(ctx context.Context, job *river.Job[DeleteArgs]) error {
	e, a := w.e, job.Args
	conn, err := e.st.GetConnection(ctx, a.ConnectionID)
	if health.ErrorCode(err) == health.ENOTFOUND {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if _, ok := e.cfg.Providers.Collection(conn.DataSource, a.Collection); !ok || a.ID == "" {
		return river.JobCancel(health.Errorf(health.EINVALID, "delete of %q %q: unknown collection or no id", a.Collection, a.ID))
	}
	// A delete is carried out whatever the connection's status: the
	// provider no longer has the record, and keeping it would serve data
	// the user deleted.
	return e.deleteDocument(ctx, conn, a.Collection, a.ID)
}

// deleteDocument deletes one raw document of a connection and normalizes
// again what it was part of (see deleteWorker).
func (e *Engine) deleteDocument(ctx context.Context, conn store.Connection, coll, id string) error {
	mark, marked := CursorsOf(conn).Coll(coll).Deletes[id]
	doc, err := e.st.RawDocument(ctx, conn.ID, coll, id)
	found := err == nil
	if err != nil && health.ErrorCode(err) != health.ENOTFOUND {
		return err
	}
	if !found && !marked {
		e.log.InfoContext(ctx, "delete of a document not stored: ignored", "connection", conn.ID, "collection", coll, "id", id)
		return nil
	}
	if found {
		loc, err := e.location(ctx, conn)
		if err != nil {
			return err
		}
		gone, err := e.goneWithout(ctx, conn, loc, doc)
		if err != nil {
			return err
		}
		if mark.add([]string{doc.Day}, gone) || !marked {
			if err := e.setMark(ctx, conn.ID, coll, id, mark); err != nil {
				return err
			}
		}
		deleted, err := e.st.DeleteRawDocument(ctx, conn.ID, coll, id)
		switch {
		case health.ErrorCode(err) == health.ENOTFOUND:
			// Deleted meanwhile by another run of the same delete, which
			// recorded the same mark first.
		case err != nil:
			return err
		case mark.add([]string{deleted.Day}, nil):
			// A fetch moved the document to another day between the read
			// and the delete; that day is redone too.
			if err := e.setMark(ctx, conn.ID, coll, id, mark); err != nil {
				return err
			}
		}
		// Worked out again now that the document is gone: a document
		// deleted at the same time (WHOOP deletes a sleep's recovery with
		// it) still counted when the mark was made, and each delete then
		// found the other keeping the health documents both produced. Of
		// concurrent deletes, the last to get here sees them all gone.
		again, err := e.goneWithout(ctx, conn, loc, doc)
		if err != nil {
			return err
		}
		if mark.add(nil, again) {
			if err := e.setMark(ctx, conn.ID, coll, id, mark); err != nil {
				return err
			}
		}
	}
	var days []string
	undated := false
	for _, d := range mark.Days {
		if d == "" {
			undated = true
		} else {
			days = append(days, d)
		}
	}
	hw, err := e.renormalize(ctx, conn, days, undated)
	if err != nil {
		return err
	}
	emptied, err := e.emptyGone(ctx, conn, mark.Gone)
	if err != nil {
		return err
	}
	patch := cursorPatch{}
	patch.deleted(coll, id)
	if err := e.st.SetCursors(ctx, conn.ID, patch, time.Time{}); err != nil {
		return err
	}
	e.log.InfoContext(ctx, "document deleted", "connection", conn.ID, "collection", coll, "id", id, "days", mark.Days,
		"health_written", hw.Inserted+hw.Updated, "health_emptied", emptied)
	return nil
}

func (e *Engine) setMark(ctx context.Context, connID int64, coll, id string, m deleteMark) error {
	patch := cursorPatch{}
	patch.deleting(coll, id, m)
	if err := e.st.SetCursors(ctx, connID, patch, time.Time{}); err != nil {
		return fmt.Errorf("record delete of %s %s: %w", coll, id, err)
	}
	return nil
}

// goneWithout returns the health documents that doc's day and its
// neighbours (the days a normalization of doc's day rewrites) have with
// doc and would not have without it: the documents only doc produced.
// For a document of no day, none: what the undated documents are filed
// under is rebuilt from what remains, and a key they no longer produce
// keeps its last version.
func (e *Engine) goneWithout(ctx context.Context, conn store.Connection, loc *time.Location, doc store.RawDocument) ([]goneKey, error) {
	if doc.Day == "" {
		return nil, nil
	}
	prov, err := e.providerOf(conn)
	if err != nil {
		return nil, err
	}
	norm, ok := prov.(provider.Normalizer)
	if !ok {
		return nil, nil
	}
	raws, err := e.st.RawDocuments(ctx, conn.ID, nil, addDays(doc.Day, -2), addDays(doc.Day, 2))
	if err != nil {
		return nil, err
	}
	without := make([]store.RawDocument, 0, len(raws)+1)
	for _, r := range raws {
		if r.Collection != doc.Collection || r.ExternalID != doc.ExternalID {
			without = append(without, r)
		}
	}
	// doc is added back rather than read, so that this works after doc
	// was deleted too.
	with := append(slices.Clip(without), doc)
	affected := map[string]bool{addDays(doc.Day, -1): true, doc.Day: true, addDays(doc.Day, 1): true}
	left := producedKeys(e.normalizeRaw(ctx, conn, norm, loc, without), affected)
	var gone []goneKey
	for k := range producedKeys(e.normalizeRaw(ctx, conn, norm, loc, with), affected) {
		if !left[k] {
			gone = append(gone, k)
		}
	}
	return gone, nil
}

// producedKeys are the keys of the results that fall on affected days.
func producedKeys(results []provider.Normalized, affected map[string]bool) map[goneKey]bool {
	out := map[goneKey]bool{}
	for _, r := range results {
		day := r.Doc.Envelope().Day
		if affected[day] {
			out[goneKey{DataStructure: r.Doc.DataStructure(), Pillar: r.Doc.Pillar(), Key: r.Key, Day: day}] = true
		}
	}
	return out
}

// emptyGone writes a new version with no data of each stored health
// document of gone that the stored raw documents still do not produce
// (data may have come for it since the mark was made). It holds the
// connection's normalization lock, so no normalization in the process
// writes between its check and its write. It returns how many documents
// got an empty version.
func (e *Engine) emptyGone(ctx context.Context, conn store.Connection, gone []goneKey) (int, error) {
	if len(gone) == 0 {
		return 0, nil
	}
	prov, err := e.providerOf(conn)
	if err != nil {
		return 0, err
	}
	norm, ok := prov.(provider.Normalizer)
	if !ok {
		return 0, nil
	}
	loc, err := e.location(ctx, conn)
	if err != nil {
		return 0, err
	}
	unlock := e.lockConn(conn.ID)
	defer unlock()
	var inputs []store.HealthInput
	for _, g := range gone {
		raws, err := e.st.RawDocuments(ctx, conn.ID, nil, addDays(g.Day, -2), addDays(g.Day, 2))
		if err != nil {
			return 0, err
		}
		if producedKeys(e.normalizeRaw(ctx, conn, norm, loc, raws), map[string]bool{g.Day: true})[g] {
			continue
		}
		stored, err := e.st.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: conn.ClientUUID, UserID: conn.UserID,
			DataStructure: g.DataStructure, Pillar: g.Pillar, Day: g.Day})
		if err != nil {
			return 0, err
		}
		has := false
		for _, d := range stored {
			has = has || d.Key == g.Key
		}
		if !has {
			continue
		}
		s, ok := health.Lookup(g.Pillar, g.DataStructure)
		if !ok {
			return 0, fmt.Errorf("empty %s/%s %s: unknown data structure", g.Pillar, g.DataStructure, g.Key)
		}
		doc := s.New()
		h := doc.Envelope()
		h.ClientUUID, h.UserID, h.Day = conn.ClientUUID, conn.UserID, g.Day
		inputs = append(inputs, store.HealthInput{Key: g.Key, Doc: doc})
	}
	hw, err := e.applyHealth(ctx, inputs)
	if err != nil {
		return 0, fmt.Errorf("empty health documents of a deleted document: %w", err)
	}
	return hw.Inserted + hw.Updated, nil
}
