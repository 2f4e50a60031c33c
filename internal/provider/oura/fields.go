package oura

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/wearlink/wearlink/internal/jsonscan"
)

// topField is one top-level field of a document: its key, unescaped, and
// the bytes of its value.
type topField struct {
	key   []byte
	value []byte
}

// topFields lists the top-level fields of raw, in order, repeated keys
// included. raw must be valid JSON. ok is false when it is not an object;
// null has no fields, as it decodes into an empty map. Walking the bytes
// spares the map, and the copy of every value, that decoding would make
// for each of the many small documents a pull reads.
func topFields(raw []byte, buf []topField) (fields []topField, ok bool) {
	s := jsonscan.Scanner{B: raw}
	s.Space()
	if s.I == len(s.B) {
		return nil, false
	}
	switch s.B[s.I] {
	case 'n':
		return buf[:0], true
	case '{':
	default:
		return nil, false
	}
	fields = buf[:0]
	s.I++
	s.Space()
	if s.B[s.I] == '}' {
		return fields, true
	}
	for {
		s.Space()
		key := jsonString(s.String())
		s.Space()
		s.I++ // ':'
		s.Space()
		fields = append(fields, topField{key: key, value: s.Value()})
		s.Space()
		s.I++ // ',' or '}'
		if s.B[s.I-1] == '}' {
			return fields, true
		}
	}
}

// jsonString is the text of a JSON string (quotes included), as decoding
// it gives: the bytes between the quotes when there is nothing to undo.
func jsonString(quoted []byte) []byte {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner
	}
	var str string
	_ = json.Unmarshal(quoted, &str)
	return []byte(str)
}
