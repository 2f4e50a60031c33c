// Package jobs holds what the services' River jobs have in common. It
// imports only River, so every service (sync, delivery, erase) may
// import it.
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
