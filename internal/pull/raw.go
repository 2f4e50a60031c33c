package pull

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/provider"
)

// rawFileName is the name of a collection's file: the provider's file
// prefix and the collection.
func rawFileName(opt *Options, coll string) string {
	return provider.FilePrefix(opt.Provider) + coll + ".json"
}

// rawDoc is one raw document with what orders and identifies it.
type rawDoc struct {
	key  string // the provider's stable id, or the bytes for a document without one
	day  string
	at   time.Time
	body json.RawMessage
	// doc and err are what the provider read, for the derived files.
	doc provider.Document
	err error
}

// newRawDoc reads what keys and orders a document. A document that does
// not pass the provider's checks is kept all the same, as far as it reads:
// the file holds what the provider sent.
func newRawDoc(r provider.DocumentReader, coll string, body json.RawMessage, loc *time.Location) rawDoc {
	doc, at, err := r.ReadDocument(coll, body, loc)
	return keyed(rawDoc{key: doc.ID, day: doc.Day, at: at, body: body, doc: doc, err: err})
}

// fetchedRawDoc is a document as Fetch gave it. Its ID and Day are the
// provider's answer and are kept: a lone document read back may not know
// them (a WHOOP recovery is given its sleep's day by Fetch, but only its
// created_at day when read alone). The reader still gives the instant that
// orders it within its day, its checks, and the document decoded, which
// the derived files use rather than decode it again.
func fetchedRawDoc(r provider.DocumentReader, f provider.Document, loc *time.Location) rawDoc {
	read, at, err := r.ReadDocument(f.Collection, f.Raw, loc)
	if f.Decoded == nil {
		f.Decoded = read.Decoded
	}
	return keyed(rawDoc{key: f.ID, day: f.Day, at: at, body: f.Raw, doc: f, err: err})
}

// keyed keys a document without id by its bytes: it is only equal to
// itself.
func keyed(d rawDoc) rawDoc {
	if d.key == "" {
		d.key = string(d.body)
	}
	return d
}

func compareRaw(a, b *rawDoc) int {
	if c := strings.Compare(a.day, b.day); c != 0 {
		return c
	}
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// readRaw reads a collection's file; a missing file is empty.
func readRaw(dir, name string) ([]json.RawMessage, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(b, &docs); err != nil {
		return nil, fmt.Errorf("pull: %s is not a JSON array of documents: %w", path, err)
	}
	return docs, nil
}

// mergeRaw adds fetched documents to a collection's file: a fetched
// document replaces the stored one with the same key (a fetched singleton
// replaces the whole file), and the file stays sorted by day, then time. It
// returns the documents now in the file.
func mergeRaw(dir string, opt *Options, coll string, fetched []rawDoc) ([]rawDoc, error) {
	name := rawFileName(opt, coll)
	old, err := readRaw(dir, name)
	if err != nil {
		return nil, err
	}
	if opt.table[coll].Range == provider.RangeSingleton && len(fetched) > 0 {
		// A singleton is what the provider holds now: what was fetched
		// replaces the file. Without this, one without an id (WHOOP's body
		// measurement), keyed by its bytes, would pile up a copy per change
		// in an order that says nothing about which is the newest.
		old = nil
	}
	var docs []rawDoc
	if len(old) == 0 {
		// The first run: no file to merge with, only duplicates to drop
		// (the last copy wins, as below).
		docs = dedupe(fetched)
	} else {
		r := opt.Provider.(provider.DocumentReader)
		loc := opt.rowZone()
		byKey := make(map[string]rawDoc, len(old)+len(fetched))
		for _, b := range old {
			d := newRawDoc(r, coll, b, loc)
			byKey[d.key] = d
		}
		for _, d := range fetched {
			byKey[d.key] = d
		}
		docs = make([]rawDoc, 0, len(byKey))
		for _, d := range byKey {
			docs = append(docs, d)
		}
	}
	docs = sortRaw(docs)
	bodies := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		bodies[i] = d.body
	}
	if err := writeFileAtomicWith(filepath.Join(dir, name), func(w io.Writer) error { return export.WriteJSONArray(w, bodies) }); err != nil {
		return nil, err
	}
	return docs, nil
}

// sortRaw orders documents as the files keep them. Windows arrive in
// order and mostly in order within, so a check often spares the sort; the
// sort moves indices rather than the documents themselves.
func sortRaw(docs []rawDoc) []rawDoc {
	sorted := true
	for i := 1; i < len(docs) && sorted; i++ {
		sorted = compareRaw(&docs[i-1], &docs[i]) <= 0
	}
	if sorted {
		return docs
	}
	idx := make([]int32, len(docs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return compareRaw(&docs[a], &docs[b]) })
	out := make([]rawDoc, len(docs))
	for i, j := range idx {
		out[i] = docs[j]
	}
	return out
}

// dedupe keeps the last of the documents with one key, in a new slice.
func dedupe(docs []rawDoc) []rawDoc {
	last := make(map[string]int, len(docs))
	for i, d := range docs {
		last[d.key] = i
	}
	out := make([]rawDoc, 0, len(last))
	for i, d := range docs {
		if last[d.key] == i {
			out = append(out, d)
		}
	}
	return out
}

// collWrite is one collection's part of the writing: its raw file merged
// with what was fetched, and the table made from it.
type collWrite struct {
	stored []rawDoc
	err    error // of the merge
	// tabled, when not nil, is closed once files and tableErr are set by
	// writeTable; a collection only merged has its table written with the
	// derived files.
	tabled   chan struct{}
	files    []string
	tableErr error
}

// merge merges the windows that arrived, up to the first that failed.
func (cw *collWrite) merge(opt *Options, coll string, rs []windowResult) {
	ok := rs[:fetchedSpan(rs).windows]
	n := 0
	for _, r := range ok {
		n += len(r.docs)
	}
	docs := make([]rawDoc, 0, n)
	for _, r := range ok {
		docs = append(docs, r.docs...)
	}
	cw.stored, cw.err = mergeRaw(opt.Out, opt, coll, docs)
}

// writeTable writes the table of the merged collection; tabled says
// when it is done.
func (cw *collWrite) writeTable(opt *Options, coll string) {
	defer close(cw.tabled)
	if cw.err != nil {
		return
	}
	cw.files, cw.tableErr = rawTable(opt, coll, cw.stored)
}
