package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// doctorProblems bounds the integrity_check findings reported.
const doctorProblems = 100

// Doctor checks the store cfg selects and writes a report to w: on SQLite
// the files (a lost database beside its key file) and a full PRAGMA
// integrity_check, which reads every page and index entry (14-18 s for
// 1 GiB, BENCHMARKS.md) and so is not run at start; on PostgreSQL that it
// answers and takes a write. It returns false when something is wrong.
// It opens a damaged SQLite database read-only, never through the store.
func Doctor(ctx context.Context, cfg StoreConfig, w io.Writer) (bool, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.DatabaseURL != "" {
		return doctorPostgres(ctx, cfg, w)
	}
	path := filepath.Join(cfg.DataDir, sqlite.FileName)
	fmt.Fprintf(w, "database: sqlite %s\n", path)
	keyPath := filepath.Join(cfg.DataDir, secret.KeyFileName)
	switch _, err := os.Stat(keyPath); {
	case strings.TrimSpace(cfg.SecretKey) != "":
		fmt.Fprintf(w, "key: from %s\n", secret.EnvKey)
	case err == nil:
		fmt.Fprintf(w, "key: %s\n", keyPath)
	default:
		fmt.Fprintf(w, "key: none yet (%s is made on the first start)\n", keyPath)
	}
	if err := checkSQLiteFiles(cfg.DataDir, cfg.SecretKey); err != nil {
		fmt.Fprintf(w, "files: LOST\n  %v\n", err)
		return false, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		fmt.Fprintf(w, "files: no database yet (a new data directory)\n")
		return true, nil
	}
	fmt.Fprintf(w, "size: %d bytes\n", fi.Size())
	res, err := sqlite.CheckIntegrity(ctx, path, true, doctorProblems)
	if err != nil {
		return false, err
	}
	if res.PageSize > 0 {
		fmt.Fprintf(w, "pages: %d of %d bytes, %d free\n", res.Pages, res.PageSize, res.FreePages)
	}
	if res.OK() {
		fmt.Fprintf(w, "integrity_check: ok\n")
		return true, nil
	}
	fmt.Fprintf(w, "integrity_check: DAMAGED, %d problem(s)%s\n", len(res.Problems), more(len(res.Problems)))
	for _, p := range res.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	fmt.Fprintf(w, "next: stop every wearlink process on %s, copy the data directory aside, and restore %s from a backup "+
		"(or recover what is readable with sqlite3's .recover into a new file)\n", cfg.DataDir, sqlite.FileName)
	return false, nil
}

func more(n int) string {
	if n >= doctorProblems {
		return " (the first ones)"
	}
	return ""
}

func doctorPostgres(ctx context.Context, cfg StoreConfig, w io.Writer) (bool, error) {
	o, err := OpenStore(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer o.Close()
	fmt.Fprintf(w, "database: postgres %s\n", o.Location)
	if err := o.PG.Ping(ctx); err != nil {
		fmt.Fprintf(w, "connection: FAILED: %v\n", err)
		return false, nil
	}
	fmt.Fprintf(w, "connection: ok\n")
	if err := o.Store.ProbeWrite(ctx); err != nil {
		fmt.Fprintf(w, "write: FAILED: %v\n", err)
		return false, nil
	}
	fmt.Fprintf(w, "write: ok\n")
	fmt.Fprintf(w, "integrity: PostgreSQL checks its own pages (data checksums); its amcheck extension checks indexes\n")
	return true, nil
}
