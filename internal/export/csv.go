package export

import (
	"encoding/csv"
	"fmt"
	"io"
)

// WriteCSV writes a header line with the column names and one line per row.
// A null cell is empty; every other cell is its text.
func WriteCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return fmt.Errorf("csv header: %w", err)
	}
	rec := make([]string, len(t.Columns))
	for i, row := range t.Rows {
		for j := range rec {
			rec[j] = ""
			if j < len(row) {
				rec[j] = row[j].Text
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("csv row %d: %w", i, err)
		}
	}
	cw.Flush()
	return cw.Error()
}
