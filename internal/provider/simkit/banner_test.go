package simkit

import (
	"bytes"
	"testing"
)

func TestBanner(t *testing.T) {
	var out bytes.Buffer
	Banner{
		Title:       "sim listening on http://x",
		Fields:      [][2]string{{"client id", "id"}, {"control API", "http://x/_sim/"}},
		TokensTitle: "Ready tokens:",
		Columns:     []string{"USER", "TOKEN"},
		Rows:        [][]string{{"0", "abc"}, {"10", "d"}},
		Example:     "curl http://x",
	}.Write(&out)
	want := "sim listening on http://x\n\n" +
		"  client id      id\n" +
		"  control API    http://x/_sim/\n\n" +
		"Ready tokens:\n" +
		"  USER  TOKEN\n" +
		"  0     abc\n" +
		"  10    d\n\n" +
		"Example:\n  curl http://x\n"
	if out.String() != want {
		t.Errorf("banner:\n%s\nwant:\n%s", out.String(), want)
	}
}
