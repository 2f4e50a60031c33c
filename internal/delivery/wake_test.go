package delivery

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// A write that wakes the pump is fanned out at once, and nothing is fanned
// out without a wake (the timer is the pump job's, not the woken pump's).
// In the bubble, synctest.Wait returns once the pump blocks and moves no
// clock: a pass that waited on a timer would show as no deliveries queued.
// Wakes never block, with or without a runner, and wakes that come
// together make one pass.
func TestWakeFansOutAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, newDB(t))
		setupClient(t, st)
		svc, err := New(Config{Store: st, AllowPrivate: true, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		jobs := &fakeJobs{}
		svc.Attach(jobs)
		if _, err := svc.AddEndpoint(t.Context(), EndpointInput{ClientUUID: testClient, URL: "https://receiver.example/hook"}); err != nil {
			t.Fatal(err)
		}

		applyDocs(t, st, 0, 2)
		svc.Wake()
		svc.Wake() // no runner yet: kept as one pending wake, never blocks
		svc.Wake()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); svc.RunWoken(ctx) }()
		synctest.Wait()
		if got := jobs.take(); len(got) != 2 {
			t.Fatalf("after the pending wake: %d deliveries queued, want 2", len(got))
		}

		applyDocs(t, st, 2, 1)
		time.Sleep(time.Hour) // the bubble's hour: any timer of the pump's fires
		synctest.Wait()
		if got := jobs.take(); len(got) != 0 {
			t.Fatalf("without a wake: %d deliveries queued, want 0", len(got))
		}
		svc.Wake()
		synctest.Wait()
		if got := jobs.take(); len(got) != 1 {
			t.Fatalf("after the wake: %d deliveries queued, want 1", len(got))
		}

		cancel()
		<-done
	})
}
