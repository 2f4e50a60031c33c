package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOnce runs the whole --once scenario on a temporary directory and a
// free port, and checks the summary's numbers.
func TestOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole system")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	dir := t.TempDir()
	sum, err := Run(ctx, Config{DataDir: dir, Addr: "127.0.0.1:0", Once: true, Days: 2, BackfillDays: MinBackfillDays, Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	sum.Write(&out)
	t.Log(out.String())
	if !sum.OK() {
		t.Fatalf("checks failed: %v", sum.Failures)
	}
	if sum.Users != len(UserIDs) || sum.UsersLinked != sum.Users {
		t.Errorf("%d of %d users linked", sum.UsersLinked, sum.Users)
	}
	// Days of history for each user: a sleep summary a night at least for
	// most of them, and every structure the simulator feeds.
	if n := sum.Documents["sleep_summary"]; n < len(UserIDs)*MinBackfillDays/2 {
		t.Errorf("%d sleep summaries", n)
	}
	for _, ds := range []string{"physical_summary", "body_summary", "heart_rate_event", "user_info"} {
		if sum.Documents[ds] == 0 {
			t.Errorf("no %s stored", ds)
		}
	}
	docs := 0
	for _, n := range sum.Documents {
		docs += n
	}
	// Every stored document version went out once at least, and each
	// user's creation and link was notified.
	if sum.Deliveries-sum.Notifications < docs || sum.Notifications < 2*len(UserIDs) {
		t.Errorf("%d deliveries (%d notifications) for %d documents", sum.Deliveries, sum.Notifications, docs)
	}
	if sum.Verified != sum.Deliveries {
		t.Errorf("%d of %d deliveries verified", sum.Verified, sum.Deliveries)
	}
	// Each user's documents, the WHOOP user's too, arrived and were
	// verified.
	for _, u := range UserIDs {
		if n, v := sum.UserDocuments[u], sum.UserVerified[u]; n == 0 || v != n {
			t.Errorf("%s: %d documents delivered, %d verified", u, n, v)
		}
	}
	// WHOOP announced each night by signed webhooks, all of which
	// wearlink verified and accepted.
	if sum.WhoopWebhooks < 2*2 || sum.WhoopAccepted != sum.WhoopWebhooks {
		t.Errorf("WHOOP webhooks: %d sent, %d accepted", sum.WhoopWebhooks, sum.WhoopAccepted)
	}
	whoopDays, weighIns := 0, 0
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "-- Oura, WHOOP and Withings sync at ") && strings.Contains(line, " "+WhoopUserID+" 2022-1") {
			whoopDays++
		}
		if strings.HasPrefix(line, "-- Oura, WHOOP and Withings sync at ") && strings.Contains(line, " "+WithingsUserID+" 2022-1") {
			weighIns++
		}
	}
	if whoopDays != 2 {
		t.Errorf("%d of 2 syncs brought a WHOOP night", whoopDays)
	}
	// Withings announced each weigh-in by an unsigned notification to the
	// callback URL wearlink subscribed, which wearlink accepted.
	if weighIns != 2 {
		t.Errorf("%d of 2 syncs brought a Withings weigh-in", weighIns)
	}
	if sum.WithingsNotifications < 2 || sum.WithingsAccepted != sum.WithingsNotifications {
		t.Errorf("Withings notifications: %d sent, %d accepted", sum.WithingsNotifications, sum.WithingsAccepted)
	}
	if sum.NewDays < len(UserIDs) || sum.NewDaysDelivered != sum.NewDays {
		t.Errorf("%d new days, %d delivered", sum.NewDays, sum.NewDaysDelivered)
	}
	if len(sum.Latencies) == 0 || sum.Percentile(50) <= 0 || sum.Percentile(99) < sum.Percentile(50) {
		t.Errorf("latencies p50 %s p99 %s of %d", sum.Percentile(50), sum.Percentile(99), len(sum.Latencies))
	}
	if sum.ExampleStatus != 200 || sum.Examples != 4 || sum.ExamplesOK != sum.Examples {
		t.Errorf("example sleep summary: %d; %d of %d examples answered 200", sum.ExampleStatus, sum.ExamplesOK, sum.Examples)
	}
	if p := sum.Pages; p.Connections != 200 || !p.OuraConnected || p.LoginForm != 401 || p.SignIn != 303 || p.UserPage != 200 || !p.Hypnogram ||
		p.WhoopUserPage != 200 || !p.WhoopNight {
		t.Errorf("pages: %+v", p)
	}
	for _, want := range []string{
		"curl -u demoClientUUID:demoClientSecret 'http://127.0.0.1:",
		"/v2/processed_data/sleep_health/summary?user_id=demoUserId&date=2022-10-28'",
		"/v2/processed_data/sleep_health/summary?user_id=demoUser5&date=2022-10-28'",
		"WHOOP (sim)  http://127.0.0.1:", "/webhooks/whoop\n",
		"users        demoUserId, demoUser2, demoUser3, demoUser4 on Oura, demoUser5 on WHOOP, demoUser6 on Withings",
		"demoUser6 through Withings OAuth", " Withings documents stored, backfill done", "demoUser6 (Withings) ",
		"demoUser5 through WHOOP OAuth", "demoUser5      ", " WHOOP documents stored, backfill done",
		"webhook sleep_summary        demoUser5   2022-1",
		"/api/v1/client/users/status?up_to_date=2022-10-31'", "/api/v2/user_id/demoUserId/data_sources/authorized'",
		"/openapi.yaml", "/dashboard",
		"/connections/client_uuid/demoClientUUID/user_id/demoUserId?expires=", "&redirect_url=http%3A%2F%2F127.0.0.1%3A", "%2Fdashboard&sig=",
		"demoUserId's page, through a signed link that expires at ",
		"new link: curl -u demoClientUUID:demoClientSecret 'http://127.0.0.1:",
		"/api/v1/user_id/demoUserId/connections_page?redirect_url=http%3A%2F%2F127.0.0.1%3A",
		"connections page     HTTP 200 through the signed link; Oura connected for demoUserId",
		"dashboard            sign-in form HTTP 401, sign-in HTTP 303, demoUserId's page HTTP 200 with its hypnogram",
		"demoUser5's page HTTP 200 with its WHOOP connection and night",
		"WHOOP webhooks       ", "demoUser5 (WHOOP) ",
		"webhook sleep_summary", "all checks held",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
		t.Errorf("no marker: %v", err)
	}
}

// TestRenewPageLink: the long-running demo prints a new connections page
// link before the last one expires, and the summary opens the newest.
func TestRenewPageLink(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole system")
	}
	defer func(d time.Duration) { pageRenewBefore = d }(pageRenewBefore)
	pageRenewBefore = 2 * time.Hour // longer than a link lives: renew at once
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var buf bytes.Buffer
	out := &lockedWriter{w: &buf}
	read := func() string {
		out.mu.Lock()
		defer out.mu.Unlock()
		return buf.String()
	}
	const renewed = "-- new connections page link for demoUserId (expires at "
	go func() {
		for runCtx.Err() == nil && !strings.Contains(read(), renewed) {
			time.Sleep(50 * time.Millisecond)
		}
		stop()
	}()
	sum, err := Run(runCtx, Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Interval: time.Hour, BackfillDays: MinBackfillDays, Out: out})
	if err != nil {
		t.Fatalf("%v\n%s", err, read())
	}
	if ctx.Err() != nil || !strings.Contains(read(), renewed) {
		t.Fatalf("no new link printed:\n%s", read())
	}
	if !sum.OK() || sum.Pages.Connections != 200 || !sum.Pages.OuraConnected {
		t.Fatalf("summary: %v %+v\n%s", sum.Failures, sum.Pages, read())
	}
	if !strings.Contains(read(), "(a new one is printed before then)") {
		t.Errorf("the banner does not say a new link comes:\n%s", read())
	}
}

// TestPrepareDir: a directory of a previous demo is emptied, any other
// non-empty one refused untouched.
func TestPrepareDir(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "demo")
	if err := prepareDir(mine); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(mine, "wearlink.db")
	if err := os.WriteFile(old, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := prepareDir(mine); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("the previous demo's file is still there: %v", err)
	}

	theirs := filepath.Join(dir, "theirs")
	keep := filepath.Join(theirs, "precious")
	if err := os.MkdirAll(theirs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := prepareDir(theirs); err == nil || !strings.Contains(err.Error(), "not made by wearlink demo") {
		t.Fatalf("a foreign directory: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a foreign file was touched: %v", err)
	}
}
