package sqlite_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/store/storetest"
	"github.com/wearlink/wearlink/internal/testutil/benchdata"
)

var quiet = slog.New(slog.DiscardHandler)

// template is a migrated, empty database file: River's migrations take a
// few hundred milliseconds, so tests copy the file instead of migrating.
var template struct {
	once sync.Once
	path string
	err  error
}

func templatePath(t testing.TB) string {
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "wearlink-sqlite-template-")
		if err != nil {
			template.err = err
			return
		}
		template.path = filepath.Join(dir, sqlite.FileName)
		s, err := sqlite.New(context.Background(), sqlite.Options{Path: template.path, Sealer: newSealer(t), Logger: quiet})
		if err != nil {
			template.err = err
			return
		}
		template.err = s.Migrate(context.Background())
		// Closing the last connection checkpoints the WAL into the file.
		if err := s.Close(); template.err == nil {
			template.err = err
		}
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
	return template.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if template.path != "" {
		os.RemoveAll(filepath.Dir(template.path))
	}
	os.Exit(code)
}

func newSealer(t testing.TB) *secret.Sealer {
	key, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return sealer
}

// newStore opens a migrated, empty store in a temporary directory.
func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	src, err := os.Open(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.New(t.Context(), sqlite.Options{Path: path, Sealer: newSealer(t), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
}

// go test ./internal/store/sqlite -run '^$' -bench . -benchmem
func BenchmarkPutRawDocuments(b *testing.B) {
	storetest.BenchPutRaw(b, func(tb testing.TB) store.Store { return newStore(tb) }, benchMonth(b))
}

func BenchmarkApplyHealthDocuments(b *testing.B) {
	storetest.BenchApplyHealth(b, func(tb testing.TB) store.Store { return newStore(tb) }, benchMonth(b))
}

func benchMonth(b *testing.B) *storetest.BenchData {
	d, err := benchdata.OuraMonth()
	if err != nil {
		b.Fatal(err)
	}
	return d
}
