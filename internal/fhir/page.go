package fhir

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cursor is where a page of search results ends: the effective start and
// the id of its last Observation. Results are ordered by (start, id), so
// the next page is what comes after the cursor, and an Observation stored
// between two requests neither shifts nor repeats the others.
type Cursor struct {
	Start time.Time
	ID    string
}

// String encodes the cursor for a next link.
func (c Cursor) String() string {
	return strconv.FormatInt(c.Start.UnixNano(), 10) + "." + c.ID
}

// ParseCursor reads what String wrote.
func ParseCursor(s string) (Cursor, error) {
	ns, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return Cursor{}, errors.New("it is not a cursor of this server: follow the next link as given")
	}
	return Cursor{Start: time.Unix(0, n).UTC(), ID: id}, nil
}

// Ranked is an Observation with its place in the search order.
type Ranked struct {
	Observation
	Start, End time.Time
}

// Rank gives each Observation its range; ones whose effective time does
// not read are left out.
func Rank(obs []Observation) []Ranked {
	out := make([]Ranked, 0, len(obs))
	for _, o := range obs {
		if s, e, ok := o.Range(); ok {
			out = append(out, Ranked{Observation: o, Start: s, End: e})
		}
	}
	return out
}

// SortRanked orders Observations by effective start, then id.
func SortRanked(rs []Ranked) {
	slices.SortFunc(rs, func(a, b Ranked) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// After reports whether r comes after the cursor in the search order.
func (r Ranked) After(c Cursor) bool {
	if d := r.Start.Compare(c.Start); d != 0 {
		return d > 0
	}
	return r.ID > c.ID
}

// Cursor is the cursor that ends a page at r.
func (r Ranked) Cursor() Cursor { return Cursor{Start: r.Start, ID: r.ID} }

// NDJSON writes resources one per line, as FHIR Bulk Data files hold them.
type NDJSON struct {
	w io.Writer
}

// NewNDJSON writes to w.
func NewNDJSON(w io.Writer) *NDJSON { return &NDJSON{w: w} }

// Write writes one resource and its newline.
func (n *NDJSON) Write(resource any) error {
	b, err := json.Marshal(resource)
	if err != nil {
		return err
	}
	_, err = n.w.Write(append(b, '\n'))
	return err
}

// Everything writes a Patient, its Devices and the Observations of its
// documents, in that order: the Patient $everything export and wearlink
// pull --format fhir.
func Everything(n *NDJSON, p Patient, devices []Device, docs []Document) error {
	if err := n.Write(p); err != nil {
		return err
	}
	for _, d := range devices {
		if err := n.Write(d); err != nil {
			return err
		}
	}
	for _, d := range docs {
		obs, err := Observations(d)
		if err != nil {
			return err
		}
		for _, o := range obs {
			if err := n.Write(o); err != nil {
				return err
			}
		}
	}
	return nil
}
