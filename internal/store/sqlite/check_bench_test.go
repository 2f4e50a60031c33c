package sqlite_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// BenchmarkCheckIntegrity times quick_check and integrity_check on a
// database of WEARLINK_BENCH_CHECK_MB megabytes (skipped when unset),
// shaped like raw documents: 1.2 KB rows with two indexes. It chose
// the start check's size bound (BENCHMARKS.md).
func BenchmarkCheckIntegrity(b *testing.B) {
	mb, _ := strconv.Atoi(os.Getenv("WEARLINK_BENCH_CHECK_MB"))
	if mb <= 0 {
		b.Skip("set WEARLINK_BENCH_CHECK_MB to the database size to build")
	}
	path := filepath.Join(b.TempDir(), "big.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE raw (id INTEGER PRIMARY KEY, ext TEXT NOT NULL, day TEXT NOT NULL, body BLOB NOT NULL)`,
		`CREATE INDEX raw_ext ON raw (ext)`, `CREATE INDEX raw_day ON raw (day, ext)`} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	body, id := make([]byte, 1200), make([]byte, 16)
	rows := mb << 20 / 1400 // about 1.4 KB a row with its index entries
	for done := 0; done < rows; {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 10000 && done < rows; i, done = i+1, done+1 {
			rand.Read(body)
			rand.Read(id)
			if _, err := tx.Exec(`INSERT INTO raw (ext, day, body) VALUES (?, ?, ?)`, hex.EncodeToString(id),
				fmt.Sprintf("2025-%02d-%02d", done%12+1, done%28+1), body); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	db.Close()
	fi, _ := os.Stat(path)
	b.Logf("database: %d bytes", fi.Size())
	for _, full := range []bool{false, true} {
		b.Run(map[bool]string{false: "quick_check", true: "integrity_check"}[full], func(b *testing.B) {
			for b.Loop() {
				res, err := sqlite.CheckIntegrity(b.Context(), path, full, 10)
				if err != nil || !res.OK() {
					b.Fatal(res, err)
				}
			}
		})
	}
	b.Run("header", func(b *testing.B) {
		for b.Loop() {
			if res, err := sqlite.CheckHeader(b.Context(), path); err != nil || !res.OK() {
				b.Fatal(res, err)
			}
		}
	})
}
