package pull

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// rawFileName is the name Open Humans gives a collection's export.
func rawFileName(coll string) string { return "oura-v2-" + coll + ".json" }

// rawDoc is one raw document with what orders and identifies it.
type rawDoc struct {
	key  string // id, or the timestamp of a time-series row
	day  string
	at   time.Time
	body json.RawMessage
}

// orderFields are the fields that place a document in time.
type orderFields struct {
	ID            string `json:"id"`
	Day           string `json:"day"`
	StartDay      string `json:"start_day"`
	Timestamp     string `json:"timestamp"`
	BedtimeStart  string `json:"bedtime_start"`
	StartDatetime string `json:"start_datetime"`
	StartTime     string `json:"start_time"`
}

func newRawDoc(coll string, body json.RawMessage, loc *time.Location) rawDoc {
	var f orderFields
	_ = json.Unmarshal(body, &f)
	d := rawDoc{key: f.ID, day: f.Day, body: body}
	for _, s := range []string{f.Timestamp, f.BedtimeStart, f.StartDatetime, f.StartTime} {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			d.at = t
			break
		}
	}
	if d.day == "" {
		d.day = f.StartDay
	}
	if d.day == "" && !d.at.IsZero() {
		d.day = d.at.In(loc).Format(time.DateOnly)
	}
	if c, _ := oura.LookupCollection(coll); c.Range == oura.RangeDateTime {
		d.key = f.Timestamp
	}
	if d.key == "" {
		d.key = string(body) // a document without id is only equal to itself
	}
	return d
}

func compareRaw(a, b rawDoc) int {
	if c := strings.Compare(a.day, b.day); c != 0 {
		return c
	}
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// readRaw reads a collection's file; a missing file is empty.
func readRaw(dir, coll string) ([]json.RawMessage, error) {
	path := filepath.Join(dir, rawFileName(coll))
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
// document replaces the stored one with the same key, and the file stays
// sorted by day, then time. It returns the documents now in the file.
func mergeRaw(dir, coll string, fetched []oura.RawDocument, loc *time.Location) ([]json.RawMessage, error) {
	old, err := readRaw(dir, coll)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]rawDoc, len(old)+len(fetched))
	for _, b := range old {
		d := newRawDoc(coll, b, loc)
		byKey[d.key] = d
	}
	for _, f := range fetched {
		d := newRawDoc(coll, f.Raw, loc)
		byKey[d.key] = d
	}
	docs := make([]rawDoc, 0, len(byKey))
	for _, d := range byKey {
		docs = append(docs, d)
	}
	slices.SortFunc(docs, compareRaw)
	bodies := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		bodies[i] = d.body
	}
	if err := writeFileAtomic(filepath.Join(dir, rawFileName(coll)), export.JSONArray(bodies)); err != nil {
		return nil, err
	}
	return bodies, nil
}
