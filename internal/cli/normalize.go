package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/oura/normalize"
)

const normalizeLong = `Convert Oura API v2 documents already on disk into ROOK data structures,
without any network access.

Each FILE holds the documents of one Oura collection, in any of these shapes:
  - an Oura list response: {"data": [...], "next_token": ...}
  - a bare JSON array of documents (the Open Humans export)
  - a single document object (personal_info, or one document of any collection)

personal_info and ring_configuration carry no day of their own: they are
filed under --as-of, by default the newest day of the other documents (so
give --as-of when they are converted alone).

The collection is taken from --collection or from the file name: the name
without ".json" and without an "oura-v2-" prefix must be a collection path
name or webhook data type, in any letter case (oura-v2-sleep.json, sleep.json,
daily_activity.json, heartrate.json, vO2_max.json, vo2_max.json).

A DIR argument reads every *.json file in it whose name names a collection;
other files are skipped with a note on standard error. --collection cannot be
combined with a DIR.

All files are read together before anything is normalized, so structures that
join several collections (a night's sleep_summary takes sleep, daily_sleep,
daily_readiness and daily_spo2) come out whole when their files are given
together.

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

Without --time-zone, heart-rate and battery rows (UTC) are placed on local
days with the offsets of the user's own sleep and activity documents.`

// normalizeOptions are the flags of wearlink normalize.
type normalizeOptions struct {
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
		Short: "Convert Oura JSON files to ROOK documents (offline)",
		Long:  normalizeLong,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNormalize(o, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.collection, "collection", "", "collection of every FILE (default: from each file name)")
	f.StringVar(&o.out, "out", "", "write one JSON array file per data structure into this directory instead of NDJSON on stdout")
	f.StringVar(&o.clientUUID, "client-uuid", "local", "client_uuid of the documents")
	f.StringVar(&o.userID, "user-id", "me", "user_id of the documents (1 to 50 letters, digits or hyphens)")
	f.StringVar(&o.timeZone, "time-zone", "", "IANA time zone that places samples on local days (default: each timestamp's own offset)")
	f.StringVar(&o.asOf, "as-of", "", "YYYY-MM-DD day to file personal_info and ring_configuration under (default: the newest day of the input)")
	return cmd
}

func runNormalize(o normalizeOptions, args []string, stdout, stderr io.Writer) error {
	// Flags first: they are cheap to check and a typo should not cost a read
	// of a large export.
	opt := normalize.Options{ClientUUID: o.clientUUID, UserID: o.userID}
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

	in, src, err := readNormalizeInput(args, o.collection, stderr)
	if err != nil {
		return err
	}
	if opt.AsOf == "" && onlyUndated(in) {
		return errors.New("personal_info and ring_configuration carry no day: give --as-of YYYY-MM-DD, or convert them together with dated collections")
	}
	results, err := normalize.Normalize(in, opt)
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
func encodeResults(results []normalize.Result, perFile bool) (map[string][]byte, error) {
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

// onlyUndated reports whether in holds personal_info or ring_configuration
// documents and nothing that has a day.
func onlyUndated(in *normalize.Input) bool {
	v := reflect.ValueOf(in).Elem()
	undated := 0
	for i := range v.NumField() {
		n := v.Field(i).Len()
		switch v.Type().Field(i).Name {
		case "Raw": // bytes of the documents counted here
		case "PersonalInfo", "RingConfiguration":
			undated += n
		default:
			if n > 0 {
				return false
			}
		}
	}
	return undated > 0
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
		var ie *normalize.InputError
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

// readNormalizeInput reads every path (files and directories) into one
// Input. collection, when set, names the collection of every file; it
// cannot be combined with a directory. Notes about skipped files go to
// notes.
func readNormalizeInput(paths []string, collection string, notes io.Writer) (*normalize.Input, *inputSources, error) {
	forced := ""
	if collection != "" {
		c, ok := collectionFromName(collection)
		if !ok {
			return nil, nil, fmt.Errorf("--collection %q: unknown collection (one of %s)", collection, strings.Join(collectionNames(), ", "))
		}
		forced = c
	}
	type job struct{ path, coll string }
	var jobs []job
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			c := forced
			if c == "" {
				var ok bool
				if c, ok = collectionFromFile(p); !ok {
					return nil, nil, fmt.Errorf("%s: cannot tell the collection from the file name; name it like oura-v2-sleep.json or pass --collection", p)
				}
			}
			jobs = append(jobs, job{p, c})
			continue
		}
		if forced != "" {
			return nil, nil, fmt.Errorf("%s: --collection applies to files, not to a directory", p)
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for _, e := range entries { // ReadDir sorts by name: a stable order
			if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".json") {
				continue
			}
			fp := filepath.Join(p, e.Name())
			c, ok := collectionFromFile(fp)
			if !ok {
				fmt.Fprintf(notes, "normalize: skipping %s: its name names no Oura collection\n", fp)
				continue
			}
			jobs = append(jobs, job{fp, c})
			n++
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("%s: no *.json file named after an Oura collection", p)
		}
	}
	in := new(normalize.Input)
	src := &inputSources{byID: map[string]string{}, byColl: map[string][]string{}}
	for _, j := range jobs {
		if err := readCollectionFile(in, src, j.path, j.coll); err != nil {
			return nil, nil, err
		}
	}
	return in, src, nil
}

// collectionFromFile finds the collection a file name stands for:
// oura-v2-sleep.json, sleep.json, vo2_max.json, VO2_MAX.JSON ...
func collectionFromFile(path string) (string, bool) {
	base := filepath.Base(path)
	base = base[:len(base)-len(filepath.Ext(base))]
	lower := strings.ToLower(base)
	for _, prefix := range []string{"oura-v2-", "oura_v2_"} {
		if strings.HasPrefix(lower, prefix) {
			base = base[len(prefix):]
			break
		}
	}
	return collectionFromName(base)
}

// collectionFromName accepts a collection path name or webhook data type in
// any letter case, and heart_rate for heartrate (the only collection whose
// path name is not snake case).
func collectionFromName(name string) (string, bool) {
	if c, ok := oura.LookupCollection(name); ok {
		return c.Name, true
	}
	for _, c := range oura.Collections() {
		if strings.EqualFold(name, c.Name) || (c.DataType != "" && strings.EqualFold(name, string(c.DataType))) {
			return c.Name, true
		}
	}
	if strings.EqualFold(name, "heart_rate") {
		return oura.CollHeartRate, true
	}
	return "", false
}

func collectionNames() []string {
	var names []string
	for _, c := range oura.Collections() {
		names = append(names, c.Name)
	}
	return names
}

// readCollectionFile decodes one file of collection coll into in.
func readCollectionFile(in *normalize.Input, src *inputSources, path, coll string) error {
	c, ok := oura.LookupCollection(coll)
	if !ok || c.Model == nil {
		return fmt.Errorf("%s: collection %s is not supported", path, coll)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	docs, where, err := splitDocuments(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	known := jsonKeys(c.Model)
	for i, raw := range docs {
		id := documentID(raw)
		name := fmt.Sprintf("%s: %s document %s", path, coll, where(i))
		if id != "" {
			name += fmt.Sprintf(" (id %q)", id)
		}
		if err := checkDocument(in, c, raw, known); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		src.add(coll, id, name, path)
		// Keep the bytes as read, so attachments carry fields our models
		// do not know.
		in.KeepRaw(coll, raw)
	}
	return nil
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
			Data *[]json.RawMessage `json:"data"`
		}
		// An object with a data array is a list response; no Oura model has
		// a field named data.
		if err := json.Unmarshal(trimmed, &list); err == nil && list.Data != nil {
			return *list.Data, func(i int) string { return fmt.Sprintf("data[%d]", i) }, nil
		}
		return []json.RawMessage{trimmed}, func(int) string { return "(single object)" }, nil
	}
	return nil, nil, errors.New("expected a JSON object or array of Oura documents")
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

// checkDocument decodes one document of collection c into in.
func checkDocument(in *normalize.Input, c oura.Collection, raw json.RawMessage, known map[string]bool) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return errors.New("not a JSON object")
	}
	for _, k := range c.Required {
		if v, ok := obj[k]; !ok || string(v) == "null" {
			return fmt.Errorf("missing %q (does the file hold another collection?)", k)
		}
	}
	hit := false
	for k := range obj {
		if known[k] {
			hit = true
			break
		}
	}
	if !hit {
		return errors.New("none of the collection's fields (does the file hold another collection?)")
	}
	check := func(doc any) error { return checkTimes(reflect.ValueOf(doc), "") }
	if err := in.Decode(c.Name, raw, check); err != nil {
		return strip(err)
	}
	return nil
}

// strip drops encoding/json's "json: " prefix: the message already says
// which file and document it is about.
func strip(err error) error {
	if msg, ok := strings.CutPrefix(err.Error(), "json: "); ok {
		return errors.New(msg)
	}
	return err
}

// jsonKeys lists the top-level JSON names of a model.
func jsonKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for f := range t.Fields() {
		if name := jsonName(f); name != "" {
			keys[name] = true
		}
	}
	return keys
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name
}

var (
	dateType     = reflect.TypeFor[oura.Date]()
	dateTimeType = reflect.TypeFor[oura.DateTime]()
)

// checkTimes rejects a day or timestamp that does not parse, anywhere in a
// decoded document, so the error can name the file and the document rather
// than surface later without either.
func checkTimes(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkTimes(v.Elem(), path)
	case reflect.Slice:
		for i := range v.Len() {
			if err := checkTimes(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			name := jsonName(v.Type().Field(i))
			if name == "" {
				continue
			}
			if path != "" {
				name = path + "." + name
			}
			if err := checkTimes(v.Field(i), name); err != nil {
				return err
			}
		}
	case reflect.String:
		s := v.String()
		if s == "" {
			return nil
		}
		switch v.Type() {
		case dateType:
			if _, err := oura.Date(s).Time(); err != nil {
				return fmt.Errorf("%s: %q is not a YYYY-MM-DD day", path, s)
			}
		case dateTimeType:
			if _, err := oura.DateTime(s).Time(); err != nil {
				return fmt.Errorf("%s: %q is not an ISO 8601 timestamp", path, s)
			}
		}
	}
	return nil
}
