package export

import (
	"bufio"
	"bytes"
	"io"

	"github.com/wearlink/wearlink/internal/health"
)

// JSONArray lays documents out as one JSON array with one document per
// line, each byte for byte as given: valid JSON that still diffs line by
// line.
func JSONArray[T ~[]byte](docs []T) []byte {
	n := 4
	for _, d := range docs {
		n += len(d) + 2
	}
	var buf bytes.Buffer
	buf.Grow(n)
	writeArray(&buf, docs)
	return buf.Bytes()
}

// WriteJSONArray writes what JSONArray gives straight to w, without
// holding all of it: the files of a year of documents are tens of
// megabytes.
func WriteJSONArray[T ~[]byte](w io.Writer, docs []T) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	writeArray(bw, docs) // bufio keeps the first error for Flush
	return bw.Flush()
}

// writeArray lays docs out for JSONArray and WriteJSONArray.
func writeArray[T ~[]byte](w interface {
	io.Writer
	io.StringWriter
}, docs []T) {
	if len(docs) == 0 {
		_, _ = w.WriteString("[]\n")
		return
	}
	_, _ = w.WriteString("[\n")
	for i, d := range docs {
		if i > 0 {
			_, _ = w.WriteString(",\n")
		}
		_, _ = w.Write(d)
	}
	_, _ = w.WriteString("\n]\n")
}

// StructureFileName is the base name (without extension) of the file of a
// ROOK data structure: its name, with the pillar in front for the
// structures whose name alone is ambiguous (heart_rate_event and
// oxygenation_event exist in the physical and the body pillar).
func StructureFileName(pillar, structure string) string {
	if _, ok := health.Lookup("", structure); ok {
		return structure
	}
	return pillar + "." + structure
}
