package whoop

import (
	"context"
	"strconv"
	"testing"

	"github.com/wearlink/wearlink/internal/provider"
)

// CycleSleep reads a cycle's sleep by the cycle's id: the sleep the
// listing gives for that cycle, and a 404 for a cycle that is not there.
func TestCycleSleep(t *testing.T) {
	info, p := startSim(t, 1)
	u := p.cfg.Client.User(provider.StaticToken(info.Users[0].AccessToken))
	ctx := context.Background()
	r := Range{Start: simNow.AddDate(0, 0, -5), End: simNow}
	sleeps, err := u.Sleeps(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, s := range sleeps {
		if s.Value.Nap {
			continue
		}
		got, err := u.CycleSleep(ctx, strconv.FormatInt(s.Value.CycleID, 10))
		if err != nil {
			t.Fatalf("cycle %d: %v", s.Value.CycleID, err)
		}
		if got.Value.ID != s.Value.ID || got.Value.CycleID != s.Value.CycleID {
			t.Errorf("cycle %d: sleep %s, the listing says %s", s.Value.CycleID, got.Value.ID, s.Value.ID)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no main sleep in the window")
	}
	if _, err := u.CycleSleep(ctx, "1"); !IsNotFound(err) {
		t.Errorf("unknown cycle: %v, want not found", err)
	}
}
