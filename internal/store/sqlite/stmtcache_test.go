package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/store/sqlstore"
)

// oneConn opens a database with one connection, as the writer pool is:
// a statement cache that took a second connection inside a transaction
// would wait for itself there.
func oneConn(t *testing.T) *stmtCache {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "c.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	c := newStmtCache(db)
	t.Cleanup(c.close)
	return c
}

func TestStmtCacheAcrossTransactions(t *testing.T) {
	c := oneConn(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	const ins = `INSERT INTO t (k, v) VALUES (?, ?)`
	write := func(k int) error {
		return inTx(ctx, c, nil, func(q sqlstore.Querier) error {
			_, err := q.Exec(ctx, ins, k, fmt.Sprint("v", k))
			return err
		})
	}
	if err := write(1); err != nil {
		t.Fatal(err)
	}
	if c.get(ins) == nil {
		t.Fatal("a statement prepared in a transaction is not cached after it")
	}
	// The cached statement serves later transactions, a rolled-back one
	// included, and statements outside any.
	if err := write(2); err != nil {
		t.Fatal(err)
	}
	errBoom := fmt.Errorf("boom")
	err := inTx(ctx, c, nil, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, ins, 3, "v3"); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("rollback: %v", err)
	}
	p := querier{pooled{c}}
	if _, err := p.Exec(ctx, ins, 4, "v4"); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, err := p.Query(ctx, `SELECT v FROM t WHERE k > ? ORDER BY k`, 0)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	rows.Close()
	if strings.Join(got, ",") != "v1,v2,v4" {
		t.Fatalf("rows %v, want v1,v2,v4", got)
	}
	// A duplicate key through the cached statement is the same error as
	// without it.
	if err := write(1); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("duplicate insert: %v", err)
	}
}

func TestStmtCacheBadQueryAndBound(t *testing.T) {
	c := oneConn(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p := querier{pooled{c}}
	bad := `SELECT v FROM missing WHERE k = ?`
	var v string
	if err := p.QueryRow(ctx, bad, 1).Scan(&v); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Fatalf("outside a transaction: %v", err)
	}
	err := inTx(ctx, c, nil, func(q sqlstore.Querier) error { return q.QueryRow(ctx, bad, 1).Scan(&v) })
	if err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Fatalf("in a transaction: %v", err)
	}
	if c.get(bad) != nil {
		t.Fatal("a query that does not prepare was cached")
	}

	for i := range maxCachedStmts + 10 {
		q := fmt.Sprintf(`SELECT count(*) FROM t WHERE k > %d AND k > ?`, i)
		var n int
		if err := p.QueryRow(ctx, q, 0).Scan(&n); err != nil || n != 0 {
			t.Fatalf("query %d: %d %v", i, n, err)
		}
	}
	if len(c.m) != maxCachedStmts {
		t.Fatalf("cache holds %d statements, bound %d", len(c.m), maxCachedStmts)
	}
}
