package pull

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// StateFile is the name of the state file in the output directory.
const StateFile = ".wearlink-pull.json"

// state records, per collection, the span of days fetched completely.
type state struct {
	Version int `json:"version"`
	// DataSource is the provider the directory holds; "" in the files of
	// the first versions, which any provider may take over.
	DataSource  string                `json:"data_source,omitempty"`
	Collections map[string]collection `json:"collections"`
}

type collection struct {
	From    string `json:"from"`
	Through string `json:"through"` // the last complete day fetched
}

// loadState reads the state of dir for dataSource: a directory holds one
// provider's files, since collections are known by name only.
func loadState(dir, dataSource string) (*state, error) {
	st := &state{Version: 1, DataSource: dataSource, Collections: map[string]collection{}}
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pull: read state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("pull: state file %s is damaged (delete it to fetch everything again): %w", filepath.Join(dir, StateFile), err)
	}
	if st.Collections == nil {
		st.Collections = map[string]collection{}
	}
	switch st.DataSource {
	case "":
		st.DataSource = dataSource
	case dataSource:
	default:
		return nil, fmt.Errorf("pull: %s holds %s data; pull %s into another directory", dir, st.DataSource, dataSource)
	}
	return st, nil
}

// advance records that [from, through] of coll was fetched. A span that
// overlaps or touches the known one extends it; a detached one replaces it,
// since the days between were never read.
func (s *state) advance(coll string, from, through string) {
	old, ok := s.Collections[coll]
	if ok && from <= addDays(old.Through, 1) && through >= addDays(old.From, -1) {
		s.Collections[coll] = collection{From: min(old.From, from), Through: max(old.Through, through)}
		return
	}
	s.Collections[coll] = collection{From: from, Through: through}
}

// earliest is the first day of any collection fetched, or "" before the
// first run.
func (s *state) earliest() string {
	var d string
	for _, c := range s.Collections {
		if d == "" || c.From < d {
			d = c.From
		}
	}
	return d
}

func (s *state) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, StateFile), append(b, '\n'))
}

// writeFileAtomic replaces path only once the new content is complete.
func writeFileAtomic(path string, data []byte) error {
	return ReplaceFile(path, 0o644, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// writeFileAtomicWith replaces path with what write writes, once it is
// complete.
func writeFileAtomicWith(path string, write func(io.Writer) error) error {
	return ReplaceFile(path, 0o644, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 256<<10)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// ReplaceFile writes a temporary file beside path and renames it over path,
// with mode perm, when write and the close succeed. The temporary file is
// created 0600 and only then given perm, so a file meant for its owner
// alone is never readable by others, not even for a moment.
func ReplaceFile(path string, perm os.FileMode, write func(*os.File) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	tmp := f.Name()
	werr := write(f)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pull: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, perm); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pull: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pull: %w", err)
	}
	return nil
}

func fileExists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}
