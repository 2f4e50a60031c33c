package export

import (
	"fmt"
	"io"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// columnType is the Parquet type chosen for a column from its cells.
type columnType uint8

const (
	colString columnType = iota
	colInt
	colDouble
	colBool
)

// typeOf picks the narrowest type that holds every non-null cell: integers,
// then any number, then booleans; anything else (or a mix) is text. A column
// of nulls only is text.
func typeOf(t *Table, col int) columnType {
	seen, ints, nums, bools := false, true, true, true
	for _, row := range t.Rows {
		v := row[col]
		if v.Kind == Null {
			continue
		}
		seen = true
		if v.Kind != Number {
			ints, nums = false, false
		} else if ints {
			// Once one is not, the others need not be tried: a failed
			// parse allocates its error.
			if _, err := strconv.ParseInt(v.Text, 10, 64); err != nil {
				ints = false
			}
		}
		if v.Kind != Bool {
			bools = false
		}
	}
	switch {
	case !seen:
		return colString
	case ints:
		return colInt
	case nums:
		return colDouble
	case bools:
		return colBool
	}
	return colString
}

func (c columnType) node() parquet.Node {
	switch c {
	case colInt:
		return parquet.Optional(parquet.Int(64))
	case colDouble:
		return parquet.Optional(parquet.Leaf(parquet.DoubleType))
	case colBool:
		return parquet.Optional(parquet.Leaf(parquet.BooleanType))
	}
	return parquet.Optional(parquet.String())
}

func (c columnType) value(v Value) (parquet.Value, error) {
	switch c {
	case colInt:
		n, err := strconv.ParseInt(v.Text, 10, 64)
		return parquet.Int64Value(n), err
	case colDouble:
		f, err := strconv.ParseFloat(v.Text, 64)
		return parquet.DoubleValue(f), err
	case colBool:
		return parquet.BooleanValue(v.Text == "true"), nil
	}
	// Copied, not lent through unsafe: that the Parquet library never
	// writes into a value's bytes is not part of its contract.
	return parquet.ByteArrayValue([]byte(v.Text)), nil
}

// WriteParquet writes the table as one Parquet file with one optional
// column per table column. Column names keep their dots: a flat schema, not
// nested groups. Parquet orders the columns by name.
func WriteParquet(w io.Writer, t *Table) error {
	if len(t.Columns) == 0 {
		return fmt.Errorf("parquet: a table without columns")
	}
	group := parquet.Group{}
	types := make(map[string]columnType, len(t.Columns))
	index := make(map[string]int, len(t.Columns))
	for j, name := range t.Columns {
		if _, dup := index[name]; dup {
			return fmt.Errorf("parquet: column %q twice", name)
		}
		index[name] = j
		types[name] = typeOf(t, j)
		group[name] = types[name].node()
	}
	schema := parquet.NewSchema("document", group)
	fields := schema.Fields()
	// Each Parquet column's table column and type, looked up once rather
	// than by name in every cell.
	cols := make([]int, len(fields))
	colTypes := make([]columnType, len(fields))
	for k, f := range fields {
		cols[k], colTypes[k] = index[f.Name()], types[f.Name()]
	}
	// Zstandard: the tables repeat themselves (ids, days, arrays of samples)
	// and shrink to a fraction.
	pw := parquet.NewWriter(w, schema, parquet.Compression(&parquet.Zstd))
	const batch = 1024
	rows := make([]parquet.Row, 0, batch)
	// The writer copies the values it is given, so one batch's cells are
	// reused for the next.
	cells := make([]parquet.Value, batch*len(fields))
	flush := func() error {
		if _, err := pw.WriteRows(rows); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		rows = rows[:0]
		return nil
	}
	for i, src := range t.Rows {
		b := len(rows) * len(fields)
		row := parquet.Row(cells[b : b+len(fields) : b+len(fields)])
		for k, j := range cols {
			v := src[j]
			if v.Kind == Null {
				row[k] = parquet.NullValue().Level(0, 0, k)
				continue
			}
			pv, err := colTypes[k].value(v)
			if err != nil {
				return fmt.Errorf("parquet: row %d column %s: %w", i, fields[k].Name(), err)
			}
			row[k] = pv.Level(0, 1, k)
		}
		rows = append(rows, row)
		if len(rows) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}
