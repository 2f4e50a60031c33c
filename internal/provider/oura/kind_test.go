package oura

import (
	"testing"

	"github.com/wearlink/wearlink/internal/provider"
)

// TestPauseKinds: the engine pauses a connection differently for a lapsed
// membership (403) and an app too old (426), so the two must reach it as
// different generic kinds.
func TestPauseKinds(t *testing.T) {
	for kind, want := range map[Kind]provider.Kind{KindForbidden: provider.KindForbidden, KindUpgradeRequired: provider.KindUpgradeRequired} {
		if got := provider.KindOf(&Error{Kind: kind}); got != want {
			t.Errorf("%s: generic kind %s, want %s", kind, got, want)
		}
	}
	if s := provider.KindUpgradeRequired.String(); s != "upgrade_required" {
		t.Errorf("KindUpgradeRequired.String() = %q", s)
	}
}
