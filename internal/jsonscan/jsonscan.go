// Package jsonscan walks JSON that is already known to be valid, finding
// where each value ends without decoding it: cheaper than a decoder where
// only a document's layout is wanted (its keys, the bytes of its values).
package jsonscan

import "bytes"

// Scanner is a position in valid JSON.
type Scanner struct {
	B []byte
	I int
}

// Space moves past white space.
func (s *Scanner) Space() {
	for s.I < len(s.B) && (s.B[s.I] == ' ' || s.B[s.I] == '\t' || s.B[s.I] == '\n' || s.B[s.I] == '\r') {
		s.I++
	}
}

// String returns the string starting at s.I, quotes included, and moves
// past it.
func (s *Scanner) String() []byte {
	start := s.I
	for s.I++; s.B[s.I] != '"'; s.I++ {
		if s.B[s.I] == '\\' {
			s.I++
		}
	}
	s.I++
	return s.B[start:s.I]
}

// Value returns the value starting at s.I and moves past it.
func (s *Scanner) Value() []byte {
	start := s.I
	switch s.B[s.I] {
	case '"':
		return s.String()
	case '[', '{':
		depth := 0
		for {
			switch s.B[s.I] {
			case '"':
				s.String()
				continue
			case '[', '{':
				depth++
			case ']', '}':
				depth--
			}
			s.I++
			if depth == 0 {
				return s.B[start:s.I]
			}
		}
	}
	for ; s.I < len(s.B); s.I++ { // a number, true, false or null
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r', ',', ']', '}':
			return s.B[start:s.I]
		}
	}
	return s.B[start:]
}

// IsCompact reports whether valid JSON b has no white space outside its
// strings, so that compacting it would change nothing. Most JSON written by
// programs has none at all, which a few vectorised searches tell.
func IsCompact(b []byte) bool {
	if bytes.IndexByte(b, ' ') < 0 && bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\t') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return true
	}
	s := Scanner{B: b}
	for s.I < len(b) {
		switch b[s.I] {
		case '"':
			s.String()
			continue
		case ' ', '\t', '\n', '\r':
			return false
		}
		s.I++
	}
	return true
}
