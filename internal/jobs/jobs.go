// Package jobs holds what the services' River jobs have in common, and
// builds the one River client they share, on either River driver
// (riversqlite on the SQLite writer, riverpgxv5 on the PostgreSQL pool).
// The composition root owns the client; each service registers its own
// workers, queues and periodic jobs through a Registrar and is given the
// client to enqueue with afterwards. It imports only River, so every
// service (ingest, delivery, erase) may import it.
package jobs

import "github.com/riverqueue/river/rivertype"

// PendingStates make a job unique while it waits or runs, but not after
// it finished: a finished job must not block the next one. Use it as
// river.UniqueOpts.ByState.
var PendingStates = []rivertype.JobState{
	rivertype.JobStateAvailable,
	rivertype.JobStatePending,
	rivertype.JobStateRunning,
	rivertype.JobStateRetryable,
	rivertype.JobStateScheduled,
}
