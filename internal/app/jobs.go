package app

import (
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/jobs"
)

// AttachInsertOnly gives eng an insert-only River client on st's database,
// for commands that enqueue (wearlink link) while a server works the jobs.
func AttachInsertOnly(st *OpenedStore, eng *ingest.Engine) error {
	cfg := jobs.Config{Services: []jobs.Registrar{eng.Jobs(ingest.JobOptions{})}, Logger: eng.RiverLogger()}
	if st.SQLite != nil {
		c, err := jobs.NewClient(riversqlite.New(st.SQLite), cfg)
		if err != nil {
			return err
		}
		ingest.AttachTx(eng, c, st.lite.JobTx)
		return nil
	}
	c, err := jobs.NewClient(riverpgxv5.New(st.PG), cfg)
	if err != nil {
		return err
	}
	ingest.AttachTx(eng, c, st.pg.JobTx)
	return nil
}
