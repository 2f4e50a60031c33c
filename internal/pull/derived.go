package pull

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/provider"
)

// Directories of the derived files inside the output directory.
const (
	ROOKDir    = "rook"
	CSVDir     = "csv"
	ParquetDir = "parquet"
)

// writeDerived rewrites everything made from the raw files: the ROOK
// documents and the tables. It reads every collection's file in dir rather
// than what this run fetched, so the result depends only on what is on disk
// (a run for some collections still joins them with the others). merged
// holds the files this run has just written, so they are not read again.
func writeDerived(dir string, opt *Options, merged map[string][]rawDoc) ([]string, error) {
	var files []string
	var all []provider.Document
	reader := opt.Provider.(provider.DocumentReader)
	prefix := provider.FilePrefix(opt.Provider)
	for _, c := range opt.Provider.Collections() {
		coll := c.Name
		name := rawFileName(opt, coll)
		read, ok := merged[coll]
		if !ok {
			if !fileExists(dir, name) {
				continue
			}
			bodies, err := readRaw(dir, name)
			if err != nil {
				return files, err
			}
			for _, b := range bodies {
				read = append(read, newRawDoc(reader, coll, b, opt.rowZone()))
			}
		}
		files = append(files, name)
		docs := make([]json.RawMessage, len(read))
		for i, r := range read {
			if r.err != nil {
				// Still given to the normalizer, which uses what it can.
				opt.Logger.Warn("raw document does not read", "collection", coll, "index", i, "err", r.err)
			}
			all = append(all, r.doc)
			docs[i] = r.body
		}
		if len(docs) == 0 {
			continue // a table needs at least one column
		}
		t, err := export.FlattenAll(docs)
		if err != nil {
			return files, fmt.Errorf("pull: flatten %s: %w", coll, err)
		}
		written, err := writeTable(dir, prefix+coll, t)
		files = append(files, written...)
		if err != nil {
			return files, err
		}
	}

	var results []provider.Normalized
	if n, ok := opt.Provider.(provider.Normalizer); ok {
		var nerr error
		results, nerr = n.Normalize(all, provider.NormalizeOptions{ClientUUID: opt.ClientUUID, UserID: opt.UserID, Location: opt.Location})
		if nerr != nil {
			// The other documents are whole; say which ones could not be used.
			opt.Logger.Warn("some documents could not be normalized", "err", nerr)
		}
	}
	structures := map[string][][]byte{}
	for _, r := range results {
		b, err := json.Marshal(r.Doc)
		if err != nil {
			return files, fmt.Errorf("pull: encode %s %s: %w", r.Doc.DataStructure(), r.Key, err)
		}
		name := export.StructureFileName(r.Doc.Pillar(), r.Doc.DataStructure())
		structures[name] = append(structures[name], b)
	}
	names := make([]string, 0, len(structures))
	for name := range structures {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		docs := structures[name]
		rel := filepath.Join(ROOKDir, name+".json")
		if err := writeFileAtomic(filepath.Join(dir, rel), export.JSONArray(docs)); err != nil {
			return files, err
		}
		files = append(files, rel)
		t, err := export.FlattenAll(docs)
		if err != nil {
			return files, fmt.Errorf("pull: flatten %s: %w", name, err)
		}
		written, err := writeTable(dir, "rook-"+name, t)
		files = append(files, written...)
		if err != nil {
			return files, err
		}
	}

	if opt.FHIR {
		written, err := writeFHIR(dir, opt, results)
		files = append(files, written...)
		if err != nil {
			return files, err
		}
	}

	if tb, ok := opt.Provider.(provider.Tabler); ok {
		for _, t := range tb.Tables(all, opt.rowZone()) {
			if len(t.Rows) == 0 {
				continue
			}
			written, err := writeTable(dir, t.Name, exportTable(t))
			files = append(files, written...)
			if err != nil {
				return files, err
			}
		}
	}
	return files, removeStale(dir, files)
}

// removeStale removes the derived files an earlier run wrote that this one
// did not (a structure or table that is no longer made), so the directories
// hold only what the raw files give now.
func removeStale(dir string, written []string) error {
	keep := make(map[string]bool, len(written))
	for _, f := range written {
		keep[f] = true
	}
	for _, d := range []struct{ sub, ext string }{{ROOKDir, ".json"}, {CSVDir, ".csv"}, {ParquetDir, ".parquet"}} {
		entries, err := os.ReadDir(filepath.Join(dir, d.sub))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("pull: %w", err)
		}
		for _, e := range entries {
			rel := filepath.Join(d.sub, e.Name())
			if !e.Type().IsRegular() || filepath.Ext(e.Name()) != d.ext || keep[rel] {
				continue
			}
			if err := os.Remove(filepath.Join(dir, rel)); err != nil {
				return fmt.Errorf("pull: %w", err)
			}
		}
	}
	return nil
}

// writeTable writes csv/<name>.csv and parquet/<name>.parquet.
func writeTable(dir, name string, t *export.Table) ([]string, error) {
	var c, p bytes.Buffer
	if err := export.WriteCSV(&c, t); err != nil {
		return nil, fmt.Errorf("pull: %s: %w", name, err)
	}
	if err := export.WriteParquet(&p, t); err != nil {
		return nil, fmt.Errorf("pull: %s: %w", name, err)
	}
	csvRel := filepath.Join(CSVDir, name+".csv")
	pqRel := filepath.Join(ParquetDir, name+".parquet")
	if err := writeFileAtomic(filepath.Join(dir, csvRel), c.Bytes()); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, pqRel), p.Bytes()); err != nil {
		return []string{csvRel}, err
	}
	return []string{csvRel, pqRel}, nil
}
