package jsonscan

import "testing"

func TestValueEnds(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`"a\"b" ,`, `"a\"b"`},
		{`{"x": [1, "]"], "y": {}} ,`, `{"x": [1, "]"], "y": {}}`},
		{`-1.5e3}`, `-1.5e3`},
		{`null`, `null`},
		{`true ]`, `true`},
	} {
		s := &Scanner{B: []byte(c.in)}
		if got := string(s.Value()); got != c.want || s.I != len(c.want) {
			t.Errorf("%s: %q ending at %d, want %q", c.in, got, s.I, c.want)
		}
	}
}

func TestIsCompact(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":[1,2]}`:        true,
		`{"a b":"c\" d"}`:    true,
		`{"a": 1}`:           false,
		"[1,\n2]":            false,
		`["x\\", "y"]`:       false,
		`"only a string "`:   true,
		`{"a":"\t is text"}`: true,
	} {
		if got := IsCompact([]byte(in)); got != want {
			t.Errorf("IsCompact(%s) = %v, want %v", in, got, want)
		}
	}
}
