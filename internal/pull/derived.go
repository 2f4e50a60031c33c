package pull

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"

	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/jsonscan"
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
// holds the files this run has just written, so they are not read again,
// and the tables written from them or being written. Independent files are
// written side by side, each as soon as what it needs is there; the list of
// files keeps one order.
func writeDerived(dir string, opt *Options, merged map[string]*collWrite) ([]string, error) {
	reader := opt.Provider.(provider.DocumentReader)
	colls := opt.Provider.Collections()
	type part struct {
		present bool
		read    []rawDoc
		readErr error
		files   []string
		err     error
		// streamed, when set, writes files and err, and says so by
		// closing its tabled.
		streamed *collWrite
	}
	parts := make([]part, len(colls))
	work := newTasks()
	// Nothing written here outlives the call, whatever it returns.
	defer work.wait()
	var reads sync.WaitGroup
	for i, c := range colls {
		coll, p := c.Name, &parts[i]
		if cw, ok := merged[coll]; ok {
			p.present, p.read = true, cw.stored
			if cw.tabled != nil {
				p.streamed = cw
				continue
			}
			work.do(func() { p.files, p.err = rawTable(opt, coll, p.read) })
			continue
		}
		name := rawFileName(opt, coll)
		if !fileExists(dir, name) {
			continue
		}
		p.present = true
		reads.Add(1)
		work.do(func() {
			bodies, err := readRaw(dir, name)
			if err != nil {
				p.readErr = err
				reads.Done()
				return
			}
			for _, b := range bodies {
				p.read = append(p.read, newRawDoc(reader, coll, b, opt.rowZone()))
			}
			reads.Done()
			p.files, p.err = rawTable(opt, coll, p.read)
		})
	}
	reads.Wait()
	n := 0
	for i := range parts {
		if parts[i].readErr != nil {
			return nil, parts[i].readErr
		}
		n += len(parts[i].read)
	}
	all := make([]provider.Document, 0, n)
	for i := range parts {
		for _, r := range parts[i].read {
			all = append(all, r.doc)
		}
	}

	// The provider's tables are written as soon as they are made, beside
	// the normalization and the ROOK documents.
	var tables []part
	if tabler, ok := opt.Provider.(provider.Tabler); ok {
		work.do(func() {
			var kept []provider.Table
			for _, t := range tabler.Tables(all, opt.rowZone()) {
				if len(t.Rows) > 0 {
					kept = append(kept, t)
				}
			}
			tables = make([]part, len(kept))
			for i, t := range kept {
				p := &tables[i]
				work.do(func() { p.files, p.err = writeTable(dir, t.Name, exportTable(t)) })
			}
		})
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
	structures := map[string][]provider.Normalized{}
	for _, r := range results {
		name := export.StructureFileName(r.Doc.Pillar(), r.Doc.DataStructure())
		structures[name] = append(structures[name], r)
	}
	names := make([]string, 0, len(structures))
	for name := range structures {
		names = append(names, name)
	}
	slices.Sort(names)
	rook := make([]part, len(names))
	for i, name := range names {
		p := &rook[i]
		work.do(func() { p.files, p.err = writeStructure(dir, name, structures[name]) })
	}
	var fhirFiles []string
	var fhirErr error
	if opt.FHIR {
		fhirFiles, fhirErr = writeFHIR(dir, opt, results)
	}
	work.wait()

	var files []string
	for i, c := range colls {
		p := &parts[i]
		if !p.present {
			continue
		}
		if cw := p.streamed; cw != nil {
			<-cw.tabled
			p.files, p.err = cw.files, cw.tableErr
		}
		files = append(files, rawFileName(opt, c.Name))
		files = append(files, p.files...)
		if p.err != nil {
			return files, p.err
		}
	}
	for _, p := range rook {
		files = append(files, p.files...)
		if p.err != nil {
			return files, p.err
		}
	}
	files = append(files, fhirFiles...)
	if fhirErr != nil {
		return files, fhirErr
	}
	for _, p := range tables {
		files = append(files, p.files...)
		if p.err != nil {
			return files, p.err
		}
	}
	return files, removeStale(dir, files)
}

// rawTable writes the table of one collection's raw documents.
func rawTable(opt *Options, coll string, read []rawDoc) ([]string, error) {
	docs := make([]json.RawMessage, len(read))
	for i, r := range read {
		if r.err != nil {
			// Still given to the normalizer, which uses what it can.
			opt.Logger.Warn("raw document does not read", "collection", coll, "index", i, "err", r.err)
		}
		docs[i] = r.body
	}
	if len(docs) == 0 {
		return nil, nil // a table needs at least one column
	}
	t, err := export.FlattenAll(docs)
	if err != nil {
		return nil, fmt.Errorf("pull: flatten %s: %w", coll, err)
	}
	return writeTable(opt.Out, provider.FilePrefix(opt.Provider)+coll, t)
}

// writeStructure writes the ROOK documents of one data structure and
// their table.
func writeStructure(dir, name string, results []provider.Normalized) ([]string, error) {
	docs := make([][]byte, len(results))
	for i, r := range results {
		b, err := marshalDoc(r.Doc)
		if err != nil {
			return nil, fmt.Errorf("pull: encode %s %s: %w", r.Doc.DataStructure(), r.Key, err)
		}
		docs[i] = b
	}
	// The JSON file is written while the table is made.
	rel := filepath.Join(ROOKDir, name+".json")
	jsonDone := make(chan error, 1)
	go func() {
		jsonDone <- writeFileAtomicWith(filepath.Join(dir, rel), func(w io.Writer) error { return export.WriteJSONArray(w, docs) })
	}()
	t, flatErr := export.FlattenAll(docs)
	if err := <-jsonDone; err != nil {
		return nil, err
	}
	files := []string{rel}
	if flatErr != nil {
		return files, fmt.Errorf("pull: flatten %s: %w", name, flatErr)
	}
	written, err := writeTable(dir, "rook-"+name, t)
	return append(files, written...), err
}

// marshalDoc is json.Marshal of a ROOK document. Those marshal
// themselves, and json.Marshal then compacts and HTML-escapes what their
// MarshalJSON gave, a second pass over every byte; it is skipped when it
// would change nothing. A document that is not valid JSON still fails
// where its table is flattened.
func marshalDoc(doc any) ([]byte, error) {
	m, ok := doc.(json.Marshaler)
	if !ok {
		return json.Marshal(doc)
	}
	if v := reflect.ValueOf(doc); v.Kind() == reflect.Pointer && v.IsNil() {
		return json.Marshal(doc)
	}
	b, err := m.MarshalJSON()
	if err != nil || !marshalLeavesAlone(b) {
		return json.Marshal(doc)
	}
	return b, nil
}

// marshalLeavesAlone reports whether json.Marshal would give a
// MarshalJSON result back unchanged: no white space between tokens, and
// none of what it escapes (<, >, &, U+2028, U+2029).
func marshalLeavesAlone(b []byte) bool {
	for _, c := range []byte("<>&") {
		if bytes.IndexByte(b, c) >= 0 {
			return false
		}
	}
	if bytes.Contains(b, []byte("\u2028")) || bytes.Contains(b, []byte("\u2029")) {
		return false
	}
	return jsonscan.IsCompact(b)
}

// tasks runs functions side by side, as many at once as there are
// processors: the writing is bound by them.
type tasks struct {
	sem chan struct{}
	wg  sync.WaitGroup
}

func newTasks() *tasks { return newTasksN(runtime.GOMAXPROCS(0)) }

func newTasksN(n int) *tasks { return &tasks{sem: make(chan struct{}, max(1, n))} }

func (t *tasks) do(f func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.sem <- struct{}{}
		defer func() { <-t.sem }()
		f()
	}()
}

func (t *tasks) wait() { t.wg.Wait() }

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

// writeTable writes csv/<name>.csv and parquet/<name>.parquet, each
// straight into its file rather than through a buffer of its whole size,
// and both at once: the largest tables are the last files written, each
// alone on a processor otherwise.
func writeTable(dir, name string, t *export.Table) ([]string, error) {
	csvRel := filepath.Join(CSVDir, name+".csv")
	pqRel := filepath.Join(ParquetDir, name+".parquet")
	csvDone := make(chan error, 1)
	go func() {
		csvDone <- writeFileAtomicWith(filepath.Join(dir, csvRel), func(w io.Writer) error { return export.WriteCSV(w, t) })
	}()
	pqErr := writeFileAtomicWith(filepath.Join(dir, pqRel), func(w io.Writer) error { return export.WriteParquet(w, t) })
	if err := <-csvDone; err != nil {
		return nil, err
	}
	if pqErr != nil {
		return []string{csvRel}, pqErr
	}
	return []string{csvRel, pqRel}, nil
}
