package common

import (
	"strconv"
	"strings"
)

// Rebind turns the "?" placeholders of a statement written once for both
// drivers into PostgreSQL's $1, $2 ... (the statements it is used on have
// no "?" inside literals).
func Rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
