package pull_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/pull"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// capture is a normalizer that records the documents it is given.
type capture struct {
	mu   sync.Mutex
	docs []provider.Document
}

func (c *capture) Normalize(docs []provider.Document, _ provider.NormalizeOptions) ([]provider.Normalized, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.docs = append(c.docs[:0], docs...)
	return nil, nil
}

// TestPulledWhoopRecoveryKeepsItsSleepsDay: Fetch gives a WHOOP recovery
// its sleep's day; read back alone, a recovery only knows the day of its
// created_at in the row zone (UTC here), which is the day before for a
// member east of UTC waking in the morning. What was fetched keeps the day
// the server's records give it.
func TestPulledWhoopRecoveryKeepsItsSleepsDay(t *testing.T) {
	now := time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC)
	sim := simtest.Whoop(t, whoopsim.Config{Seed: 5, Users: 4, HistoryStart: now.AddDate(0, 0, -20), ScanInterval: -1, DisableRateLimit: true,
		Clock: whoopsim.NewClock(now, 0, nil)})
	info := sim.Info()
	client, err := whoop.New(whoop.ClientConfig{BaseURL: info.APIBaseURL, Now: sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	norm := &capture{}
	p, err := whoop.NewProvider(whoop.Config{Client: client, OAuthBaseURL: info.BaseURL, Normalizer: norm})
	if err != nil {
		t.Fatal(err)
	}
	const since, until = "2025-10-01", "2025-10-14"
	checked, moved := 0, 0
	for _, u := range info.Users {
		auth := provider.StaticToken(u.AccessToken)
		sleeps, err := p.Fetch(context.Background(), auth, whoop.CollSleep, provider.Window{From: "2025-09-25", To: until})
		if err != nil {
			t.Fatal(err)
		}
		sleepDay := map[string]string{}
		for _, s := range sleeps {
			sleepDay[s.ID] = s.Day
		}
		if _, err := pull.Run(context.Background(), pull.Options{Provider: p, Auth: auth, Out: t.TempDir(), Since: since, Until: until,
			Collections: []string{whoop.CollRecovery}, Now: sim.Clock().Now}); err != nil {
			t.Fatal(err)
		}
		for _, d := range norm.docs {
			if d.Collection != whoop.CollRecovery {
				continue
			}
			want, ok := sleepDay[d.ID]
			if !ok {
				continue
			}
			checked++
			if d.Day != want {
				t.Errorf("user %d: recovery of sleep %s on %s, its sleep's day is %s", u.Index, d.ID, d.Day, want)
			}
			if alone, _, _ := p.ReadDocument(whoop.CollRecovery, d.Raw, nil); alone.Day != want {
				moved++
			}
		}
	}
	if checked == 0 || moved == 0 {
		t.Fatalf("%d recoveries checked, %d whose created_at falls on another day: the test proves nothing", checked, moved)
	}
	t.Logf("%d recoveries, %d of them created on another UTC day than their sleep's", checked, moved)
}
