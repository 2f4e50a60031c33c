package sim

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// TestPythonClientFromOuraDocs runs a client written from the oura-ring
// package's published description, unchanged but for its base URL, against
// the simulator, and compares what it got with what our own client gets.
func TestPythonClientFromOuraDocs(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	srv, err := New(Config{Seed: 11, PageSize: 3, TimeSeriesPageSize: 250, RevealInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Close() }()

	u := srv.World().Users()[0]
	last := srv.World().LastDay(u)
	lt, _ := last.Time()
	start := lt.AddDate(0, 0, -20).Format(time.DateOnly)
	end := last

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/ouraring_compat.py", hs.URL, srv.Tokens()[0].AccessToken, start, string(end)).CombinedOutput()
	if err != nil {
		t.Fatalf("python client failed: %v\n%s", err, out)
	}
	var counts map[string]int
	if err := json.Unmarshal(out, &counts); err != nil {
		t.Fatalf("python client output %q: %v", out, err)
	}

	cl, err := oura.New(oura.Config{BaseURL: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	ou := cl.User(oura.StaticToken(srv.Tokens()[0].AccessToken))
	want := map[string]string{
		"get_daily_sleep": oura.CollDailySleep, "get_daily_activity": oura.CollDailyActivity,
		"get_daily_readiness": oura.CollDailyReadiness, "get_enhanced_tag": oura.CollEnhancedTag,
		"get_sleep_periods": oura.CollSleep, "get_sleep_time": oura.CollSleepTime,
		"get_rest_mode_period": oura.CollRestModePeriod, "get_sessions": oura.CollSession,
		"get_daily_spo2": oura.CollDailySpO2, "get_daily_stress": oura.CollDailyStress,
		"get_tags": oura.CollTag, "get_workouts": oura.CollWorkout,
	}
	for method, coll := range want {
		docs, err := oura.List[json.RawMessage](ctx, ou, coll, oura.Query{StartDate: oura.Date(start), EndDate: end})
		if err != nil {
			t.Fatal(err)
		}
		if counts[method] != len(docs) {
			t.Errorf("%s returned %d items, our client %d", method, counts[method], len(docs))
		}
	}
	for _, m := range []string{"get_daily_sleep", "get_daily_activity", "get_sleep_periods", "get_heart_rate", "get_ring_configuration"} {
		if counts[m] == 0 {
			t.Errorf("%s returned nothing over 20 days", m)
		}
	}
	if counts["get_personal_info"] != 1 {
		t.Error("get_personal_info returned no id")
	}
}
