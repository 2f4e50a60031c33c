package harness

import (
	"database/sql"
	"testing"
)

// PendingIngestJobs counts the sync engine's River jobs not finished yet
// in the SQLite database db.
func PendingIngestJobs(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	err := db.QueryRow(`SELECT count(*) FROM river_job
		WHERE kind LIKE 'ingest\_%' ESCAPE '\' AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// FailedIngestJobs lists, as "KIND STATE ERRORS", the sync engine's River
// jobs in the SQLite database db that gave up or recorded an error on
// some attempt.
func FailedIngestJobs(t testing.TB, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT kind, state, errors FROM river_job
		WHERE kind LIKE 'ingest\_%' ESCAPE '\' AND (state = 'discarded' OR (errors IS NOT NULL AND errors != '[]' AND errors != 'null'))`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kind, state string
		var errs []byte
		if err := rows.Scan(&kind, &state, &errs); err != nil {
			t.Fatal(err)
		}
		out = append(out, kind+" "+state+" "+string(errs))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
