package pull_test

import (
	"context"
	"strings"
	"testing"

	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/pull"
)

// TestPullTellsWhatARefusalNeeds: a lapsed membership (403) and an app too
// old (426) leave the collections out with different advice, and the pull
// itself does not fail.
func TestPullTellsWhatARefusalNeeds(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		refuse     func(*ourasim.Server) error
	}{
		{"membership lapsed", "membership has lapsed: renew it", func(s *ourasim.Server) error { return s.SetMembershipLapsed(0, true) }},
		{"app too old", "app on the phone is too old to share this data: update it", func(s *ourasim.Server) error { return s.SetAppUpdateRequired(0, true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t, ourasim.Config{})
			if err := tc.refuse(e.sim); err != nil {
				t.Fatal(err)
			}
			since, until := e.lastDays(3)
			sum, err := pull.Run(context.Background(), pull.Options{Provider: e.prov, Auth: e.auth(), Out: t.TempDir(), Since: since, Until: until,
				Collections: []string{"daily_activity", "sleep"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, coll := range []string{"daily_activity", "sleep"} {
				if why := sum.Skipped[coll]; !strings.Contains(why, tc.want) {
					t.Errorf("%s skipped for %q, want advice %q", coll, why, tc.want)
				}
			}
		})
	}
}
