// Package export writes documents as flat tables: nested JSON objects become
// dotted column names (a.b.c), arrays and objects keyed by numbers (series of
// samples) stay whole as JSON text in one cell, and
// the tables go out as CSV or Parquet.
package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/wearlink/wearlink/internal/jsonscan"
)

// Kind is the JSON type of a cell.
type Kind uint8

// Cell kinds. A Number keeps the digits as they were written.
const (
	Null Kind = iota
	String
	Number
	Bool
	JSON // an array, kept as compact JSON text
)

// Value is one cell: its kind and its text (the string itself, the number's
// digits, "true"/"false", or compact JSON).
type Value struct {
	Kind Kind
	Text string
}

// Str, Num, Int and NullValue build cells for tables made by hand.
func Str(s string) Value { return Value{Kind: String, Text: s} }

// Num is a number cell from its JSON text.
func Num(text string) Value { return Value{Kind: Number, Text: text} }

// Int is an integer cell.
func Int(n int64) Value { return Value{Kind: Number, Text: strconv.FormatInt(n, 10)} }

// NullValue is an empty cell.
func NullValue() Value { return Value{} }

// Field is one flattened column of one document.
type Field struct {
	Name  string
	Value Value
}

// Table is a set of rows over named columns; every row has one cell per
// column.
type Table struct {
	Columns []string
	Rows    [][]Value
}

// Flatten turns one JSON object into its columns, in the order the keys
// appear: nested objects are walked with their keys joined by dots, arrays
// are kept whole as compact JSON, and an empty object adds no column.
func Flatten(doc []byte) ([]Field, error) {
	return newScanner().flatten(doc, nil)
}

// flatten appends the columns of doc to out.
func (s *scanner) flatten(doc []byte, out []Field) ([]Field, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || doc[0] != '{' || !jsonscan.Valid(doc) {
		return nil, errors.New("flatten: the document is not a JSON object")
	}
	s.Scanner = jsonscan.Scanner{B: doc}
	if err := s.object("", &out); err != nil {
		return nil, fmt.Errorf("flatten: %w", err)
	}
	return out, nil
}

// scanner walks a document already known to be valid JSON, so it only
// needs to find where each value ends. It keeps one copy of each column
// name, so that the documents of a table, which repeat the same names,
// do not allocate them again.
type scanner struct {
	jsonscan.Scanner
	names map[string]string
	buf   []byte
}

func newScanner() *scanner { return &scanner{names: map[string]string{}} }

// name is the column of key (a JSON string, quotes included) inside prefix.
func (s *scanner) name(prefix string, key []byte) (string, error) {
	if bytes.IndexByte(key, '\\') >= 0 {
		k, err := unquote(key)
		if err != nil {
			return "", err
		}
		key = []byte(k)
	} else {
		key = key[1 : len(key)-1]
	}
	s.buf = s.buf[:0]
	if prefix != "" {
		s.buf = append(append(s.buf, prefix...), '.')
	}
	s.buf = append(s.buf, key...)
	if n, ok := s.names[string(s.buf)]; ok {
		return n, nil
	}
	n := string(s.buf)
	s.names[n] = n
	return n, nil
}

func (s *scanner) object(prefix string, out *[]Field) error {
	s.I++ // '{'
	s.Space()
	if s.B[s.I] == '}' {
		s.I++
		return nil
	}
	for {
		s.Space()
		name, err := s.name(prefix, s.String())
		if err != nil {
			return err
		}
		s.Space()
		s.I++ // ':'
		s.Space()
		if s.B[s.I] == '{' && !s.series() {
			if err := s.object(name, out); err != nil {
				return err
			}
		} else {
			v, err := cell(s.Value())
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*out = append(*out, Field{Name: name, Value: v})
		}
		s.Space()
		s.I++ // ',' or '}'
		if s.B[s.I-1] == '}' {
			return nil
		}
	}
}

// series reports whether the object at s.I is keyed by numbers only (a
// sleep's heart rate keyed by epoch second, say): samples, not fields, so
// it stays whole as JSON in one cell, as an array does, instead of making
// a column per sample. It walks the keys in place and stops at the first
// that is not a number: decoding the object would cost as much as the
// document again, at every level of nesting.
func (s *scanner) series() bool {
	start := s.I
	defer func() { s.I = start }()
	s.I++ // '{'
	s.Space()
	if s.B[s.I] == '}' {
		return false
	}
	for {
		s.Space()
		key, err := unquote(s.String())
		if err != nil {
			return false
		}
		if _, err := strconv.ParseFloat(key, 64); err != nil {
			return false
		}
		s.Space()
		s.I++ // ':'
		s.Space()
		s.Value()
		s.Space()
		s.I++ // ',' or '}'
		if s.B[s.I-1] == '}' {
			return true
		}
	}
}

func unquote(raw []byte) (string, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var str string
	err := json.Unmarshal(raw, &str)
	return str, err
}

func cell(raw []byte) (Value, error) {
	switch raw[0] {
	case 'n':
		return Value{}, nil
	case 't', 'f':
		return Value{Kind: Bool, Text: string(raw)}, nil
	case '"':
		str, err := unquote(raw)
		return Str(str), err
	case '[', '{':
		if jsonscan.IsCompact(raw) {
			// Already compact (as Oura and encoding/json write arrays):
			// compacting would copy it unchanged.
			return Value{Kind: JSON, Text: string(raw)}, nil
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return Value{}, err
		}
		return Value{Kind: JSON, Text: b.String()}, nil
	}
	return Num(string(raw)), nil
}

// FlattenAll makes one row per document. The columns are the union of every
// document's columns in the order they are first seen; a document without a
// column has a null cell there.
func FlattenAll[T ~[]byte](docs []T) (*Table, error) {
	t := &Table{}
	index := map[string]int{}
	// A document's cells by column, until the columns are all known.
	type cellAt struct {
		col   int
		value Value
	}
	rows := make([][]cellAt, len(docs))
	s := newScanner()
	var fields []Field
	for i, d := range docs {
		var err error
		if fields, err = s.flatten(d, fields[:0]); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		row := make([]cellAt, len(fields))
		for j, f := range fields {
			col, ok := index[f.Name]
			if !ok {
				col = len(t.Columns)
				index[f.Name] = col
				t.Columns = append(t.Columns, f.Name)
			}
			row[j] = cellAt{col, f.Value}
		}
		rows[i] = row
	}
	// One block for every cell rather than one per row.
	n := len(t.Columns)
	cells := make([]Value, len(rows)*n)
	t.Rows = make([][]Value, len(rows))
	for i, row := range rows {
		r := cells[i*n : (i+1)*n : (i+1)*n]
		for _, c := range row {
			r[c.col] = c.value
		}
		t.Rows[i] = r
	}
	return t, nil
}
