package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"os"
)

// Integrity is what CheckIntegrity found in a database file.
type Integrity struct {
	Path      string
	Size      int64 // bytes of the main file (without the WAL)
	PageSize  int64
	Pages     int64
	FreePages int64
	// Full is true for PRAGMA integrity_check, false for quick_check
	// (which skips checking that indexes match their tables).
	Full bool
	// Problems are SQLite's findings, at most the limit asked; none when
	// the database is sound.
	Problems []string
}

// OK reports whether the check found nothing wrong.
func (i Integrity) OK() bool { return len(i.Problems) == 0 }

// CheckHeader is the cheap check, for databases too large to read whole
// at start: the file starts with SQLite's header, its size is whole pages
// of a valid size, the schema reads, and the free list is shorter than the
// file. It reads a few pages, whatever the size.
func CheckHeader(ctx context.Context, path string) (Integrity, error) {
	res := Integrity{Path: path}
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	res.Size = fi.Size()
	hdr := make([]byte, 100)
	if _, err := io.ReadFull(f, hdr); err != nil || string(hdr[:16]) != "SQLite format 3\x00" {
		res.Problems = append(res.Problems, "the file does not start with a SQLite header")
		return res, nil
	}
	ps := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if ps == 1 {
		ps = 65536
	}
	if ps < 512 || ps&(ps-1) != 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("the header's page size %d is not valid", ps))
		return res, nil
	}
	res.PageSize = ps
	if res.Size%ps != 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("the file's size %d is not a whole number of %d-byte pages", res.Size, ps))
	}
	db, err := openAndCount(ctx, path, &res)
	if err != nil || db == nil {
		return res, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		res.Problems = append(res.Problems, "the schema does not read: "+err.Error())
	}
	if res.FreePages >= res.Pages && res.Pages > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("the free list (%d pages) is not shorter than the file (%d pages)", res.FreePages, res.Pages))
	}
	return res, nil
}

func openReadOnly(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// openAndCount opens path read-only and reads its page counts into res.
// A file too damaged to read them gets a problem and no connection.
func openAndCount(ctx context.Context, path string, res *Integrity) (*sql.DB, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	if err := pageCounts(ctx, db, res); err != nil {
		db.Close()
		res.Problems = append(res.Problems, err.Error())
		return nil, nil
	}
	return db, nil
}

func pageCounts(ctx context.Context, db *sql.DB, res *Integrity) error {
	for _, p := range []struct {
		name string
		v    *int64
	}{{"page_size", &res.PageSize}, {"page_count", &res.Pages}, {"freelist_count", &res.FreePages}} {
		if err := db.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(p.v); err != nil {
			return fmt.Errorf("PRAGMA %s: %w", p.name, err)
		}
	}
	return nil
}

// CheckIntegrity runs PRAGMA quick_check, or integrity_check when full,
// on its own read-only connection to the file at path, reporting at most
// limit problems. It reads every page (quick_check) and every index entry
// too (integrity_check): see BENCHMARKS.md for what that costs.
func CheckIntegrity(ctx context.Context, path string, full bool, limit int) (Integrity, error) {
	res := Integrity{Path: path, Full: full}
	fi, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	res.Size = fi.Size()
	db, err := openAndCount(ctx, path, &res)
	if err != nil || db == nil {
		return res, err
	}
	defer db.Close()
	pragma := "quick_check"
	if full {
		pragma = "integrity_check"
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA %s(%d)", pragma, max(limit, 1)))
	if err != nil {
		// A file too damaged to read its schema fails here.
		res.Problems = append(res.Problems, err.Error())
		return res, nil
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			res.Problems = append(res.Problems, err.Error())
			return res, nil
		}
		if line != "ok" {
			res.Problems = append(res.Problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		res.Problems = append(res.Problems, err.Error())
	}
	return res, nil
}
