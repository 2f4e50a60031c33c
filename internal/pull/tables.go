package pull

import (
	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/provider"
)

// exportTable turns a provider's table into one export writes.
func exportTable(t provider.Table) *export.Table {
	out := &export.Table{Columns: t.Columns, Rows: make([][]export.Value, len(t.Rows))}
	n := 0
	for _, row := range t.Rows {
		n += len(row)
	}
	// One block for every cell rather than one per row: half a million
	// rows of activity_met.
	block := make([]export.Value, n)
	for i, row := range t.Rows {
		cells := block[:len(row):len(row)]
		block = block[len(row):]
		for j, c := range row {
			switch c.Kind {
			case provider.CellString:
				cells[j] = export.Str(c.Text)
			case provider.CellNumber:
				cells[j] = export.Num(c.Text)
			default:
				cells[j] = export.NullValue()
			}
		}
		out.Rows[i] = cells
	}
	return out
}
