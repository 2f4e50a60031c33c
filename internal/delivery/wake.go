package delivery

import "context"

// Fan-out follows the commits at once. The pump job (PumpArgs) looks at
// the outbox every FanoutInterval; that timer stays, as the fallback for
// writers that do not wake. A writer in this process calls Wake after its
// transaction committed, and RunWoken makes a pass at once. On PostgreSQL
// the commit also notifies every process, whose listener (the store's
// ListenOutbox, wired by the app) calls Wake: records written by another
// process, or by one that runs no pump (the API role, the CLI), wait for
// the timer only while the listener is reconnecting.
//
// A woken pass is the same pass the job makes: outbox records are taken
// in the transaction that writes their deliveries, and delivery jobs are
// queued after it, so a process that dies in a woken pass leaves the
// records or the deliveries for the next pass, as it does in the job's.

// Wake tells the pump that outbox records were committed.
// It never blocks: wakes that arrive while a pass is pending or running
// make one more pass between them. Without RunWoken running (the CLI, an
// API-only process) it does nothing but leave a wake for a later start.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunWoken makes a fan-out pass after each Wake until ctx ends. The
// process that works the queues runs it beside the River client.
func (s *Service) RunWoken(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		if err := s.pass(ctx); err != nil && ctx.Err() == nil {
			// The pump job's next turn takes the records.
			s.log.Warn("webhook pump (woken)", "err", err)
		}
	}
}

// pass fans the outbox out, one pass at a time in this process: the
// woken passes and the pump job's would only contend for the same rows.
func (s *Service) pass(ctx context.Context) error {
	s.passMu.Lock()
	defer s.passMu.Unlock()
	return s.pump(ctx)
}
