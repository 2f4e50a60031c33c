package pull

import (
	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/provider"
)

// exportTable turns a provider's table into one export writes.
func exportTable(t provider.Table) *export.Table {
	out := &export.Table{Columns: t.Columns, Rows: make([][]export.Value, len(t.Rows))}
	for i, row := range t.Rows {
		cells := make([]export.Value, len(row))
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
