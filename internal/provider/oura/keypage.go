package oura

import (
	"bytes"

	"github.com/wearlink/wearlink/internal/jsonscan"
)

// decodeKeyPage is decodePage for docKey, the part of every document Days
// reads, without encoding/json: a page of a time series is a thousand
// small rows. It takes a page only when it can tell what encoding/json
// would make of it: valid JSON, an object, keys without escapes or
// non-ASCII letters (so that none matches a field only when letter case is
// folded), the fields it reads given once, strings of printable ASCII
// without escapes or null, and rows that are objects. ok is false for
// anything else, which decodePage then decodes as before.
func decodeKeyPage(body []byte) (docs []Document[docKey], next *string, ok bool) {
	if !jsonscan.Valid(body) {
		return nil, nil, false
	}
	s := jsonscan.Scanner{B: body}
	s.Space()
	if s.B[s.I] != '{' {
		return nil, nil, false
	}
	seenData, seenNext := false, false
	err := eachField(&s, func(key []byte) bool {
		switch string(key) {
		case "data":
			if seenData || s.B[s.I] != '[' {
				return false
			}
			seenData = true
			var rowsOK bool
			docs, rowsOK = keyRows(&s)
			return rowsOK
		case "next_token":
			if seenNext {
				return false
			}
			seenNext = true
			v, isStr, plain := plainValue(&s)
			if !plain {
				return false
			}
			if isStr {
				next = &v
			}
			return true
		}
		if foldsTo(key, "data", "next_token") {
			return false
		}
		s.Value()
		return true
	})
	if !err {
		return nil, nil, false
	}
	if docs == nil {
		docs = []Document[docKey]{}
	}
	return docs, next, true
}

// keyRows reads the rows of the array at s.I.
func keyRows(s *jsonscan.Scanner) ([]Document[docKey], bool) {
	var docs []Document[docKey]
	s.I++ // '['
	s.Space()
	if s.B[s.I] == ']' {
		s.I++
		return docs, true
	}
	for {
		s.Space()
		if s.B[s.I] != '{' {
			return nil, false
		}
		start := s.I
		var k docKey
		var seen [4]bool
		ok := eachField(s, func(key []byte) bool {
			var dst *string
			var n int
			switch string(key) {
			case "id":
				dst, n = &k.ID, 0
			case "day":
				dst, n = (*string)(&k.Day), 1
			case "start_day":
				dst, n = (*string)(&k.StartDay), 2
			case "timestamp":
				dst, n = (*string)(&k.Timestamp), 3
			default:
				if foldsTo(key, "id", "day", "start_day", "timestamp") {
					return false
				}
				s.Value()
				return true
			}
			if seen[n] {
				return false
			}
			seen[n] = true
			v, isStr, plain := plainValue(s)
			if !plain {
				return false
			}
			if isStr {
				*dst = v
			}
			return true
		})
		if !ok {
			return nil, false
		}
		raw := s.B[start:s.I]
		docs = append(docs, Document[docKey]{Value: k, Raw: raw[:len(raw):len(raw)]})
		s.Space()
		s.I++ // ',' or ']'
		if s.B[s.I-1] == ']' {
			return docs, true
		}
	}
}

// eachField calls fn with each key of the object at s.I (valid JSON), s
// at the key's value, which fn must move past; fn returning false, or a
// key with an escape or a byte outside ASCII, stops with false.
func eachField(s *jsonscan.Scanner, fn func(key []byte) bool) bool {
	s.I++ // '{'
	s.Space()
	if s.B[s.I] == '}' {
		s.I++
		return true
	}
	for {
		s.Space()
		quoted := s.String()
		key := quoted[1 : len(quoted)-1]
		for _, c := range key {
			if c == '\\' || c >= 0x80 {
				return false
			}
		}
		s.Space()
		s.I++ // ':'
		s.Space()
		if !fn(key) {
			return false
		}
		s.Space()
		s.I++ // ',' or '}'
		if s.B[s.I-1] == '}' {
			return true
		}
	}
}

// plainValue reads the value at s.I when it is null or a string of
// printable ASCII without escapes; plain is false for anything else.
func plainValue(s *jsonscan.Scanner) (v string, isStr, plain bool) {
	if isNull(s.B, s.I) {
		s.I += 4
		return "", false, true
	}
	if s.B[s.I] != '"' {
		return "", false, false
	}
	end := plainStringEnd(s.B, s.I+1)
	if end < 0 {
		return "", false, false
	}
	v = string(s.B[s.I+1 : end])
	s.I = end + 1
	return v, true, true
}

// foldsTo reports whether an ASCII key equals one of names when letter
// case is ignored, as encoding/json matches a key it has no exact field
// for.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}
