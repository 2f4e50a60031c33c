package provider

import (
	"encoding/json"
	"time"
)

// The interfaces in this file serve the offline tools: `wearlink pull`,
// which keeps a person's raw documents in one JSON file per collection and
// merges every new read into them, and `wearlink normalize`, which converts
// such files without network access.

// DocumentReader is implemented by providers whose raw documents can be
// read back from a file, where only their bytes were kept.
type DocumentReader interface {
	// ReadDocument checks that raw is one document of collection as the
	// provider sends it and returns it with its stable ID (as Fetch gives
	// it) and its local Day, loc placing instants on days (nil: UTC, or
	// the document's own offset where it has one). at is the instant that
	// orders the document within its day, zero when it has none.
	//
	// The error says what is wrong with the document (a field missing, of
	// the wrong type, a time that does not parse), not where it is. The
	// document is filled as far as it could be read even then, so that a
	// merge can still keep it.
	ReadDocument(collection string, raw json.RawMessage, loc *time.Location) (doc Document, at time.Time, err error)
}

// CollectionRecognizer is implemented by providers that can tell which
// collection a file holds, whatever the file is called.
type CollectionRecognizer interface {
	// CollectionNamed finds the collection a name stands for as a person
	// or a file name writes it: the collection's own name or another name
	// the provider gives it (a notification's data type), in any letter
	// case, with or without FilePrefix. ok is false when it names none.
	CollectionNamed(name string) (collection string, ok bool)
	// CollectionOf recognises the collection of documents from their
	// shape alone. ok is false when no collection fits them all, or when
	// several fit equally well.
	CollectionOf(docs []json.RawMessage) (collection string, ok bool)
}

// FileSplitter is implemented by providers whose saved API answers are
// not lists of documents (Withings' {"status":0,"body":{...}} envelopes).
type FileSplitter interface {
	// SplitFile returns the documents of a file as the provider's own
	// answer holds them, where naming document i's place in it. ok is
	// false when the file is not such an answer (a list of documents, as
	// wearlink pull keeps them): the caller then splits it its own way.
	// An answer that reports a failure is an error.
	SplitFile(data []byte) (docs []json.RawMessage, where func(int) string, ok bool, err error)
}

// FileNamer is implemented by providers whose files have names of their
// own: FilePrefix is what the name of a collection's file starts with,
// before the collection's name.
type FileNamer interface {
	FilePrefix() string
}

// FilePrefix is what the files of p's collections are named with: its
// FileNamer's prefix, else "<data source>-".
func FilePrefix(p Provider) string {
	if n, ok := p.(FileNamer); ok {
		return n.FilePrefix()
	}
	return p.Info().DataSource + "-"
}

// Tabler is implemented by providers whose documents carry granular
// samples (a night's heart rate every five minutes) that read best as long
// tables, one row per sample. Tables makes them from all of a person's
// documents, of every collection; loc places instants on days (nil: UTC).
// Documents that do not decode are left out; a table may have no rows.
type Tabler interface {
	Tables(docs []Document, loc *time.Location) []Table
}

// Table is a flat table: named columns and rows of one cell per column.
type Table struct {
	// Name names the table's files; it is unique among a provider's
	// tables and needs no prefix.
	Name    string
	Columns []string
	Rows    [][]Cell
}

// CellKind is what a Cell holds.
type CellKind uint8

const (
	CellNull CellKind = iota
	CellString
	// CellNumber: Text holds the number as JSON writes it.
	CellNumber
)

// Cell is one value of a Table.
type Cell struct {
	Kind CellKind
	Text string
}
