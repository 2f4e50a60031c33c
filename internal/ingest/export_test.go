package ingest

// WaitingNotifications is how many notifications wait in the batch that
// commits next: a test holding a commit waits for its notifications to
// have joined rather than for a while.
func WaitingNotifications(e *Engine) int {
	e.intake.mu.Lock()
	defer e.intake.mu.Unlock()
	if e.intake.open == nil {
		return 0
	}
	return len(e.intake.open.items)
}
