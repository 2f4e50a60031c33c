package export

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WriteCSV writes a header line with the column names and one line per row.
// A null cell is empty; every other cell is its text.
//
// The lines are those of encoding/csv's Writer with its defaults (comma,
// "\n" line ends), written without it: it looks for the characters to
// escape one byte at a time, which the long JSON cells of the ROOK tables
// made the larger part of writing them.
func WriteCSV(w io.Writer, t *Table) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for j, name := range t.Columns {
		if j > 0 {
			bw.WriteByte(',')
		}
		writeCSVField(bw, name)
	}
	bw.WriteByte('\n')
	for _, row := range t.Rows {
		for j := range t.Columns {
			if j > 0 {
				bw.WriteByte(',')
			}
			if j < len(row) {
				writeCSVField(bw, row[j].Text)
			}
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}

// writeCSVField writes one field as encoding/csv does: quoted when it
// needs to be, with its double quotes doubled; carriage returns and line
// feeds stay as they are.
func writeCSVField(w *bufio.Writer, f string) {
	if !csvNeedsQuotes(f) {
		w.WriteString(f)
		return
	}
	w.WriteByte('"')
	for {
		i := strings.IndexByte(f, '"')
		if i < 0 {
			w.WriteString(f)
			break
		}
		w.WriteString(f[:i+1])
		w.WriteByte('"')
		f = f[i+1:]
	}
	w.WriteByte('"')
}

// csvNeedsQuotes is encoding/csv's rule for a comma-separated field.
func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` {
		return true
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '\n', '\r', '"', ',':
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}
