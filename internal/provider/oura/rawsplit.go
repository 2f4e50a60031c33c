package oura

import (
	"encoding/json"
	"errors"
	"fmt"
)

// decodePage decodes a list answer into typed documents that also keep their
// raw bytes. encoding/json cannot hand out the bytes of each element without
// scanning them again (an Unmarshaler re-validates and re-decodes), so the
// page is decoded once into the models and the element boundaries are found
// by splitRawData, a plain structural scan that is several times faster.
func decodePage[T any](body []byte) ([]Document[T], *string, error) {
	if _, isKey := any((*T)(nil)).(*docKey); isKey {
		if docs, next, ok := decodeKeyPage(body); ok {
			return any(docs).([]Document[T]), next, nil
		}
	}
	return decodePageJSON[T](body)
}

// decodePageJSON is decodePage through encoding/json.
func decodePageJSON[T any](body []byte) ([]Document[T], *string, error) {
	var p page[T]
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, nil, err
	}
	raws, err := splitRawData(body)
	if err != nil {
		return nil, nil, err
	}
	if len(raws) != len(p.Data) {
		return nil, nil, fmt.Errorf("oura: page has %d documents but %d raw elements", len(p.Data), len(raws))
	}
	// The raw documents alias body, which the caller owns and never reuses:
	// copying them would double the page's memory for nothing.
	docs := make([]Document[T], len(p.Data))
	for i := range p.Data {
		docs[i] = Document[T]{Value: p.Data[i], Raw: raws[i][:len(raws[i]):len(raws[i])]}
	}
	return docs, p.NextToken, nil
}

var errNotObject = errors.New("oura: list answer is not a JSON object")

// splitRawData returns the elements of the top-level "data" array of a valid
// JSON document (the caller has already decoded it, so validity is given).
func splitRawData(b []byte) ([]json.RawMessage, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errNotObject
	}
	i++
	var out []json.RawMessage
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == '}' {
			return out, nil
		}
		if b[i] == ',' {
			i++
			continue
		}
		keyStart := i
		i = skipString(b, i)
		key := b[keyStart:i]
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return nil, errNotObject
		}
		i = skipSpace(b, i+1)
		if string(key) == `"data"` && i < len(b) && b[i] == '[' {
			// Keep going: with a repeated key encoding/json keeps the last.
			var err error
			if out, err = splitArray(b, i); err != nil {
				return nil, err
			}
		}
		i = skipValue(b, i)
	}
}

func splitArray(b []byte, i int) ([]json.RawMessage, error) {
	var out []json.RawMessage
	i++ // '['
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, errNotObject
		}
		switch b[i] {
		case ']':
			return out, nil
		case ',':
			i++
			continue
		}
		start := i
		i = skipValue(b, i)
		out = append(out, json.RawMessage(b[start:i]))
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
			i++
		}
		return i
	}
}
