// Package export writes documents as flat tables: nested JSON objects become
// dotted column names (a.b.c), arrays stay whole as JSON text in one cell, and
// the tables go out as CSV or Parquet.
package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || doc[0] != '{' {
		return nil, errors.New("flatten: the document is not a JSON object")
	}
	var out []Field
	if err := flattenObject(doc, "", &out); err != nil {
		return nil, fmt.Errorf("flatten: %w", err)
	}
	return out, nil
}

func flattenObject(obj []byte, prefix string, out *[]Field) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return fmt.Errorf("object key %v is not a string", t)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		name := key
		if prefix != "" {
			name = prefix + "." + key
		}
		if raw[0] == '{' {
			if err := flattenObject(raw, name, out); err != nil {
				return err
			}
			continue
		}
		v, err := cell(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		*out = append(*out, Field{Name: name, Value: v})
	}
	_, err := dec.Token() // '}'
	return err
}

func cell(raw json.RawMessage) (Value, error) {
	switch raw[0] {
	case 'n':
		return Value{}, nil
	case 't', 'f':
		return Value{Kind: Bool, Text: string(raw)}, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Value{}, err
		}
		return Str(s), nil
	case '[':
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
func FlattenAll(docs []json.RawMessage) (*Table, error) {
	t := &Table{}
	index := map[string]int{}
	rows := make([][]Field, len(docs))
	for i, d := range docs {
		fields, err := Flatten(d)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		for _, f := range fields {
			if _, ok := index[f.Name]; !ok {
				index[f.Name] = len(t.Columns)
				t.Columns = append(t.Columns, f.Name)
			}
		}
		rows[i] = fields
	}
	t.Rows = make([][]Value, len(rows))
	for i, fields := range rows {
		row := make([]Value, len(t.Columns))
		for _, f := range fields {
			row[index[f.Name]] = f.Value
		}
		t.Rows[i] = row
	}
	return t, nil
}
