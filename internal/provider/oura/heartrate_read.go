package oura

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// readHeartRate is ReadDocument for a heart-rate row in the one plain
// form Oura sends it: an object without white space whose keys are the
// model's, each at most once and spelled exactly, with integers (no
// fraction or exponent, at most 18 digits), strings of printable ASCII
// without escapes, and null only where the model has a pointer. For such
// a row encoding/json's decoding is known exactly, so it is done here
// without reflection: most of the documents a pull reads are these rows.
// ok is false for anything else, which readDocument then reads as before,
// with the same checks and errors.
func readHeartRate(c Collection, raw json.RawMessage, loc *time.Location) (doc provider.Document, at time.Time, err error, ok bool) {
	const (
		fBPM = 1 << iota
		fSource
		fTimestamp
		fTimestampUnix
		fProducerTimestamp
	)
	b := raw
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return doc, at, nil, false
	}
	hr := &HeartRate{}
	var buf [5]topField
	fields := buf[:0]
	seen := 0
	i := 1
	for {
		// A key.
		if i >= len(b) || b[i] != '"' {
			return doc, at, nil, false
		}
		ks := i + 1
		ke := plainStringEnd(b, ks)
		if ke < 0 || ke+1 >= len(b) || b[ke+1] != ':' {
			return doc, at, nil, false
		}
		key := b[ks:ke]
		var bit int
		switch string(key) {
		case "bpm":
			bit = fBPM
		case "source":
			bit = fSource
		case "timestamp":
			bit = fTimestamp
		case "timestamp_unix":
			bit = fTimestampUnix
		case "producer_timestamp":
			bit = fProducerTimestamp
		default:
			return doc, at, nil, false
		}
		if seen&bit != 0 {
			return doc, at, nil, false
		}
		seen |= bit
		// Its value.
		i = ke + 2
		var ve int
		switch bit {
		case fBPM:
			n, end, isInt := plainInt(b, i)
			if !isInt {
				return doc, at, nil, false
			}
			hr.BPM, ve = int(n), end
		case fTimestampUnix:
			if isNull(b, i) {
				ve = i + 4
				break
			}
			n, end, isInt := plainInt(b, i)
			if !isInt {
				return doc, at, nil, false
			}
			hr.TimestampUnix, ve = &n, end
		case fSource, fTimestamp:
			if i >= len(b) || b[i] != '"' {
				return doc, at, nil, false
			}
			end := plainStringEnd(b, i+1)
			if end < 0 {
				return doc, at, nil, false
			}
			if bit == fSource {
				hr.Source = HeartRateSource(b[i+1 : end])
			} else {
				hr.Timestamp = DateTime(b[i+1 : end])
			}
			ve = end + 1
		case fProducerTimestamp:
			if isNull(b, i) {
				ve = i + 4
				break
			}
			if i >= len(b) || b[i] != '"' {
				return doc, at, nil, false
			}
			end := plainStringEnd(b, i+1)
			if end < 0 {
				return doc, at, nil, false
			}
			t := DateTime(b[i+1 : end])
			hr.ProducerTimestamp, ve = &t, end+1
		}
		if ve >= len(b) {
			return doc, at, nil, false
		}
		fields = append(fields, topField{key: key, value: b[i:ve]})
		i = ve + 1
		switch b[ve] {
		case ',':
			continue
		case '}':
			if i != len(b) {
				return doc, at, nil, false
			}
		default:
			return doc, at, nil, false
		}
		break
	}
	doc, at = identify(c, raw, readOrderFields(raw, fields, true), loc)
	doc.Decoded = hr
	if err := checkFields(c, fields); err != nil {
		return doc, at, err, true
	}
	// What checkTimes looks at in a HeartRate, in its order.
	if s := hr.Timestamp; s != "" {
		if _, err := s.Time(); err != nil {
			return doc, at, fmt.Errorf("%s: %q is not an ISO 8601 timestamp", "timestamp", string(s)), true
		}
	}
	if p := hr.ProducerTimestamp; p != nil && *p != "" {
		if _, err := p.Time(); err != nil {
			return doc, at, fmt.Errorf("%s: %q is not an ISO 8601 timestamp", "producer_timestamp", string(*p)), true
		}
	}
	return doc, at, nil, true
}

// plainStringEnd returns the index of the quote that closes a string whose
// text starts at b[i], or -1 when the text holds anything but printable
// ASCII without escapes (what decoding gives back byte for byte).
func plainStringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return i
		case c < 0x20 || c == '\\' || c >= 0x80:
			return -1
		}
	}
	return -1
}

// plainInt reads a JSON integer at b[i] (an optional minus, then 0 or a
// digit string without leading zeros) of at most 18 digits, which int64
// holds; end is the index after it. ok is false for anything else
// (fractions and exponents included).
func plainInt(b []byte, i int) (n int64, end int, ok bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || (digits > 1 && b[start] == '0') {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}

func isNull(b []byte, i int) bool {
	return len(b)-i >= 4 && string(b[i:i+4]) == "null"
}
