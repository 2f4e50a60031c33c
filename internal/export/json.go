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
	if len(docs) == 0 {
		return []byte("[]\n")
	}
	n := 4
	for _, d := range docs {
		n += len(d) + 2
	}
	var buf bytes.Buffer
	buf.Grow(n)
	buf.WriteString("[\n")
	for i, d := range docs {
		if i > 0 {
			buf.WriteString(",\n")
		}
		buf.Write(d)
	}
	buf.WriteString("\n]\n")
	return buf.Bytes()
}

// WriteJSONArray writes what JSONArray gives straight to w, without
// holding all of it: the files of a year of documents are tens of
// megabytes.
func WriteJSONArray[T ~[]byte](w io.Writer, docs []T) error {
	if len(docs) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("[\n")
	for i, d := range docs {
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.Write(d)
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
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
