package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

const normalizeLong = `Convert a provider's documents already on disk (--data-source, default
oura: Oura API v2) into ROOK data structures, without any network access.

Each FILE holds the documents of one collection, in any of these shapes:
  - a list response: {"data": [...], "next_token": ...} (Oura) or
    {"records": [...], "next_token": ...} (WHOOP)
  - a bare JSON array of documents (the Open Humans export, wearlink pull)
  - a single document object (Oura's personal_info, WHOOP's profile and
    body_measurement, or one document of any collection)

Documents that belong to no day (Oura's personal_info and ring_configuration,
WHOOP's profile and body_measurement) are filed under --as-of, by default the newest day of the other documents (so
give --as-of when they are converted alone).

The collection is taken from --collection, else from the file name, else
from the documents themselves. The file name without ".json" and without the
provider's prefix ("oura-v2-" for Oura, as wearlink pull and Open Humans name
the files; "whoop-" for WHOOP) must name a collection in any letter case
(oura-v2-sleep.json, sleep.json, daily_activity.json, heartrate.json,
vO2_max.json, vo2_max.json; for WHOOP also its API's paths, such as
activity_sleep.json or measurement_body.json); a name that names none is read
and its documents' fields decide, where the provider can tell.

A DIR argument reads every *.json file in it whose collection can be told;
other files are skipped with a note on standard error. --collection cannot be
combined with a DIR.

All files are read together before anything is normalized, so structures that
join several collections (Oura: a night's sleep_summary takes sleep,
daily_sleep, daily_readiness and daily_spo2) come out whole when their files
are given together.

Output: one ROOK document per line (NDJSON) on standard output, or with
--out DIR one JSON array file per data structure, named
<data_structure>.json (sleep_summary.json, activity_event.json, ...). The two
structures that exist in two pillars are named <pillar>.<data_structure>.json:
physical_health.heart_rate_event.json, body_health.heart_rate_event.json,
physical_health.oxygenation_event.json and body_health.oxygenation_event.json.
Files in DIR for structures this run does not produce are left as they are.

Nothing is written unless every file reads and every document converts: a bad
document is reported with its file, its position (data[3], [3]) and its id,
and the exit status is non-zero.

Without --time-zone, samples in UTC (Oura's heart-rate and battery rows) are
placed on local days with the offsets of the user's own documents.`

// normalizeOptions are the flags of wearlink normalize.
type normalizeOptions struct {
	dataSource string
	collection string
	out        string
	clientUUID string
	userID     string
	timeZone   string
	asOf       string
}

func newNormalizeCmd() *cobra.Command {
	var o normalizeOptions
	cmd := &cobra.Command{
		Use:   "normalize [flags] FILE... | DIR...",
		Short: "Convert a provider's JSON files to ROOK documents (offline)",
		Long:  normalizeLong,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNormalize(o, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataSource, "data-source", oura.DataSource, "provider whose documents the files hold")
	f.StringVar(&o.collection, "collection", "", "collection of every FILE (default: from each file name, else from its documents)")
	f.StringVar(&o.out, "out", "", "write one JSON array file per data structure into this directory instead of NDJSON on stdout")
	f.StringVar(&o.clientUUID, "client-uuid", "local", "client_uuid of the documents")
	f.StringVar(&o.userID, "user-id", "me", "user_id of the documents (1 to 50 letters, digits or hyphens)")
	f.StringVar(&o.timeZone, "time-zone", "", "IANA time zone that places samples on local days (default: each timestamp's own offset)")
	f.StringVar(&o.asOf, "as-of", "", "YYYY-MM-DD day to file documents that belong to no day under (default: the newest day of the input)")
	return cmd
}

// fileProvider is what wearlink normalize needs of a provider.
type fileProvider interface {
	provider.Provider
	provider.DocumentReader
	provider.Normalizer
}

// normalizingProvider takes dataSource's provider from the registry and
// checks that it can read files back and normalize.
func normalizingProvider(dataSource string) (fileProvider, error) {
	p, err := registeredProvider(dataSource, offlineURL)
	if err != nil {
		return nil, err
	}
	fp, ok := p.(fileProvider)
	if !ok {
		return nil, fmt.Errorf("--data-source %s: %s documents cannot be normalized from files", dataSource, p.Info().Name)
	}
	return fp, nil
}

func runNormalize(o normalizeOptions, args []string, stdout, stderr io.Writer) error {
	// Flags first: they are cheap to check and a typo should not cost a read
	// of a large export.
	p, err := normalizingProvider(o.dataSource)
	if err != nil {
		return err
	}
	opt := provider.NormalizeOptions{ClientUUID: o.clientUUID, UserID: o.userID}
	if o.clientUUID == "" {
		return errors.New("--client-uuid must not be empty")
	}
	if !health.ValidUserID(o.userID) {
		return fmt.Errorf("--user-id %q must be 1 to 50 letters, digits or hyphens", o.userID)
	}
	if o.timeZone != "" {
		loc, err := loadTimeZone(o.timeZone)
		if err != nil {
			return err
		}
		opt.Location = loc
	}
	if o.asOf != "" {
		if _, err := time.Parse(time.DateOnly, o.asOf); err != nil {
			return fmt.Errorf("--as-of %q: not a YYYY-MM-DD day", o.asOf)
		}
		opt.AsOf = o.asOf
	}
	if o.out != "" {
		if fi, err := os.Stat(o.out); err == nil && !fi.IsDir() {
			return fmt.Errorf("--out %s: not a directory", o.out)
		}
	}

	docs, src, err := readNormalizeInput(p, args, o.collection, opt.Location, stderr)
	if err != nil {
		return err
	}
	if opt.AsOf == "" && onlyUndated(docs) {
		return fmt.Errorf("%s carry no day: give --as-of YYYY-MM-DD, or convert them together with dated collections", strings.Join(undatedCollections(p), " and "))
	}
	results, err := p.Normalize(docs, opt)
	if err != nil {
		// Normalize still returns the usable documents, but a partial
		// conversion would pass for a complete one: write nothing.
		return src.explain(err)
	}
	files, err := encodeResults(results, o.out != "")
	if err != nil {
		return err
	}
	if o.out == "" {
		_, err := stdout.Write(files[""])
		return err
	}
	if err := writeOutDir(o.out, files); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "normalize: %d documents in %d files under %s\n", len(results), len(files), o.out)
	return nil
}

// loadTimeZone accepts IANA names only: "Local" would make the output depend
// on the machine that ran the conversion.
func loadTimeZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("--time-zone %q: give an IANA name such as Europe/Berlin", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--time-zone %q: not a known IANA time zone", name)
	}
	return loc, nil
}

// encodeResults renders the whole output in memory, so that an encoding
// error leaves nothing half-written. Without perFile everything is one
// NDJSON stream under the key "".
func encodeResults(results []provider.Normalized, perFile bool) (map[string][]byte, error) {
	docs := map[string][][]byte{}
	var order []string
	for i, r := range results {
		if r.Doc == nil {
			return nil, fmt.Errorf("normalize: result %d (key %q) has no document", i, r.Key)
		}
		b, err := json.Marshal(r.Doc)
		if err != nil {
			return nil, fmt.Errorf("encode %s %q: %w", r.Doc.DataStructure(), r.Key, err)
		}
		name := ""
		if perFile {
			name = outFileName(r.Doc.Pillar(), r.Doc.DataStructure())
		}
		if _, ok := docs[name]; !ok {
			order = append(order, name)
		}
		docs[name] = append(docs[name], b)
	}
	files := make(map[string][]byte, len(order))
	for _, name := range order {
		var buf bytes.Buffer
		if !perFile {
			for _, b := range docs[name] {
				buf.Write(b)
				buf.WriteByte('\n')
			}
		} else {
			buf.Write(export.JSONArray(docs[name]))
		}
		files[name] = buf.Bytes()
	}
	return files, nil
}

// outFileName is <data_structure>.json, or <pillar>.<data_structure>.json
// for a structure that exists in two pillars.
func outFileName(pillar, structure string) string {
	return export.StructureFileName(pillar, structure) + ".json"
}

// writeOutDir writes every file into a temporary directory next to dir and
// only then moves them into place, so a failure leaves dir as it was.
func writeOutDir(dir string, files map[string][]byte) (err error) {
	if len(files) == 0 {
		return nil
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".wearlink-normalize-")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("--out: %w", rmErr)
		}
	}()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(tmp, name), files[name], 0o644); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		// MkdirTemp makes the directory 0700; the output is ordinary data.
		if err := os.Chmod(tmp, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		return nil
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	return nil
}

// onlyUndated reports whether there are documents and none of them has a
// day.
func onlyUndated(docs []provider.Document) bool {
	for _, d := range docs {
		if d.Day != "" {
			return false
		}
	}
	return len(docs) > 0
}

// undatedCollections names the collections whose documents belong to no
// day: those read whole or with the account.
func undatedCollections(p provider.Provider) []string {
	var names []string
	for _, c := range p.Collections() {
		if c.Range == provider.RangeAll || c.Range == provider.RangeSingleton {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		names = []string{"the documents"}
	}
	return names
}

// inputSources remembers where each document came from, so that an error
// Normalize reports by collection and id can name the file.
type inputSources struct {
	byID   map[string]string   // collection + "\x00" + id -> "file: document data[3]"
	byColl map[string][]string // collection -> files
}

func (s *inputSources) add(coll, id, where, path string) {
	if id != "" {
		s.byID[coll+"\x00"+id] = where
	}
	if files := s.byColl[coll]; len(files) == 0 || files[len(files)-1] != path {
		s.byColl[coll] = append(files, path)
	}
}

// explain rewrites Normalize's error so that each unusable document is
// named with its file and position.
func (s *inputSources) explain(err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	lines := make([]string, 0, len(errs))
	for _, e := range errs {
		var ie *provider.InputError
		if !errors.As(e, &ie) {
			lines = append(lines, e.Error())
			continue
		}
		if where, ok := s.byID[ie.Collection+"\x00"+ie.ID]; ok {
			lines = append(lines, fmt.Sprintf("%s: %s", where, ie.Reason))
			continue
		}
		if files := s.byColl[ie.Collection]; len(files) > 0 {
			lines = append(lines, fmt.Sprintf("%s: %v", strings.Join(files, ", "), ie))
			continue
		}
		lines = append(lines, ie.Error())
	}
	if len(lines) == 1 {
		return fmt.Errorf("normalize: %s", lines[0])
	}
	return fmt.Errorf("normalize: %d documents cannot be converted:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// inputFile is one file to read and, once known, its collection.
type inputFile struct {
	path, coll string
	docs       []json.RawMessage
	where      func(int) string
	// answer is true for a provider's own saved answer (FileSplitter),
	// which may hold nothing: a night without data.
	answer bool
}

// readNormalizeInput reads every path (files and directories) into one list
// of documents, in the order of the paths (a directory's files by name).
// collection, when set, names the collection of every file; it cannot be
// combined with a directory. Notes about skipped files go to notes.
func readNormalizeInput(p fileProvider, paths []string, collection string, loc *time.Location, notes io.Writer) ([]provider.Document, *inputSources, error) {
	forced := ""
	if collection != "" {
		c, ok := collectionNamed(p, collection)
		if !ok {
			return nil, nil, fmt.Errorf("--collection %q: unknown collection (one of %s)", collection, strings.Join(collectionNames(p), ", "))
		}
		forced = c
	}
	var files []*inputFile
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			f := &inputFile{path: path, coll: forced}
			if f.coll == "" {
				f.coll, _ = collectionFromFile(p, path)
			}
			if f.coll == "" {
				if err := f.read(p); err != nil {
					return nil, nil, err
				}
				if f.answer && len(f.docs) == 0 {
					fmt.Fprintf(notes, "normalize: %s holds no documents\n", path)
					continue
				}
				var ok bool
				if f.coll, ok = collectionOf(p, f.docs); !ok {
					return nil, nil, fmt.Errorf("%s: cannot tell the collection from the file name or from its documents; name it like %s or pass --collection", path, exampleFileName(p))
				}
			}
			files = append(files, f)
			continue
		}
		if forced != "" {
			return nil, nil, fmt.Errorf("%s: --collection applies to files, not to a directory", path)
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for _, e := range entries { // ReadDir sorts by name: a stable order
			if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".json") {
				continue
			}
			f := &inputFile{path: filepath.Join(path, e.Name())}
			if f.coll, _ = collectionFromFile(p, f.path); f.coll == "" {
				// Read it to ask its documents; a file that does not read
				// is not one of the provider's, like any other stranger.
				ok := f.read(p) == nil
				if ok && f.answer && len(f.docs) == 0 {
					fmt.Fprintf(notes, "normalize: %s holds no documents\n", f.path)
					n++ // one of the provider's answers, only empty
					continue
				}
				if ok {
					f.coll, ok = collectionOf(p, f.docs)
				}
				if !ok {
					fmt.Fprintf(notes, "normalize: skipping %s: neither its name nor its documents name one of %s's collections\n", f.path, p.Info().Name)
					continue
				}
			}
			files = append(files, f)
			n++
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("%s: no *.json file holds one of %s's collections", path, p.Info().Name)
		}
	}
	var docs []provider.Document
	src := &inputSources{byID: map[string]string{}, byColl: map[string][]string{}}
	for _, f := range files {
		if f.docs == nil {
			if err := f.read(p); err != nil {
				return nil, nil, err
			}
		}
		read, err := readCollectionFile(p, src, f, loc)
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, read...)
	}
	return docs, src, nil
}

// read reads and splits the file: as the provider's saved answer where it
// is one, else by the shapes every provider's files share.
func (f *inputFile) read(p provider.Provider) error {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return err
	}
	if s, ok := p.(provider.FileSplitter); ok {
		docs, where, ok, err := s.SplitFile(b)
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if ok {
			if docs == nil {
				docs = []json.RawMessage{}
			}
			f.docs, f.where, f.answer = docs, where, true
			return nil
		}
	}
	docs, where, err := splitDocuments(b)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	if docs == nil {
		docs = []json.RawMessage{}
	}
	f.docs, f.where = docs, where
	return nil
}

// collectionFromFile finds the collection a file name stands for
// (oura-v2-sleep.json, sleep.json, vo2_max.json, VO2_MAX.JSON ...).
func collectionFromFile(p provider.Provider, path string) (string, bool) {
	base := filepath.Base(path)
	return collectionNamed(p, base[:len(base)-len(filepath.Ext(base))])
}

// collectionNamed asks the provider what a name stands for; one that
// cannot say accepts its own collection names in any letter case, with or
// without its file prefix.
func collectionNamed(p provider.Provider, name string) (string, bool) {
	if r, ok := p.(provider.CollectionRecognizer); ok {
		return r.CollectionNamed(name)
	}
	prefix := provider.FilePrefix(p)
	if len(name) > len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
		name = name[len(prefix):]
	}
	for _, c := range p.Collections() {
		if strings.EqualFold(name, c.Name) {
			return c.Name, true
		}
	}
	return "", false
}

// collectionOf asks the provider which collection documents are of.
func collectionOf(p provider.Provider, docs []json.RawMessage) (string, bool) {
	if r, ok := p.(provider.CollectionRecognizer); ok {
		return r.CollectionOf(docs)
	}
	return "", false
}

func collectionNames(p provider.Provider) []string {
	var names []string
	for _, c := range p.Collections() {
		names = append(names, c.Name)
	}
	return names
}

// exampleFileName is a file name that names a collection.
func exampleFileName(p provider.Provider) string {
	names := collectionNames(p)
	if len(names) == 0 {
		return provider.FilePrefix(p) + "<collection>.json"
	}
	return provider.FilePrefix(p) + names[0] + ".json"
}

// readCollectionFile reads the documents of one file through the provider,
// each named with its file and position in an error.
func readCollectionFile(p fileProvider, src *inputSources, f *inputFile, loc *time.Location) ([]provider.Document, error) {
	out := make([]provider.Document, 0, len(f.docs))
	for i, raw := range f.docs {
		// The provider's id where it read one (a number, another field),
		// else the document's own "id".
		doc, _, err := p.ReadDocument(f.coll, raw, loc)
		id := doc.ID
		if id == "" {
			id = documentID(raw)
		}
		name := fmt.Sprintf("%s: %s document %s", f.path, f.coll, f.where(i))
		if id != "" {
			name += fmt.Sprintf(" (id %q)", id)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		src.add(f.coll, doc.ID, name, f.path)
		out = append(out, doc)
	}
	return out, nil
}

// splitDocuments accepts the three shapes a file can have and returns its
// documents, with a function that names the position of document i.
func splitDocuments(b []byte) ([]json.RawMessage, func(int) string, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return nil, nil, errors.New("empty file")
	}
	if !json.Valid(trimmed) {
		return nil, nil, fmt.Errorf("malformed JSON: %w", jsonSyntaxError(trimmed))
	}
	switch trimmed[0] {
	case '[':
		var docs []json.RawMessage
		if err := json.Unmarshal(trimmed, &docs); err != nil {
			return nil, nil, err
		}
		return docs, func(i int) string { return fmt.Sprintf("[%d]", i) }, nil
	case '{':
		var list struct {
			Data    *[]json.RawMessage `json:"data"`
			Records *[]json.RawMessage `json:"records"`
		}
		// An object with a data (Oura) or records (WHOOP) array is a page
		// of a list response; no document has such a field.
		if err := json.Unmarshal(trimmed, &list); err == nil {
			switch {
			case list.Data != nil:
				return *list.Data, func(i int) string { return fmt.Sprintf("data[%d]", i) }, nil
			case list.Records != nil:
				return *list.Records, func(i int) string { return fmt.Sprintf("records[%d]", i) }, nil
			}
		}
		return []json.RawMessage{trimmed}, func(int) string { return "(single object)" }, nil
	}
	return nil, nil, errors.New("expected a JSON object or array of documents")
}

// jsonSyntaxError turns the decoder's byte offset into a line and column.
func jsonSyntaxError(b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	off := int(se.Offset)
	if off > len(b) {
		off = len(b)
	}
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(b[:off], '\n')
	return fmt.Errorf("line %d, column %d: %v", line, col, se)
}

// documentID is a document's id, "" when it has none.
func documentID(raw json.RawMessage) string {
	var d struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return ""
	}
	id, _ := d.ID.(string)
	return id
}
