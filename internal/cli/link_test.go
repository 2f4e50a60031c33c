package cli

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/provider/whoop"
)

func TestLinkCommand(t *testing.T) {
	sim, err := ourasim.New(ourasim.Config{Seed: 1, Users: 1, RevealInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	defer func() { hs.Close(); sim.Close() }()
	dir := t.TempDir()
	tok := sim.Tokens()[0]
	run := func(extra ...string) (int, string, string) {
		args := append([]string{"link", "--data", dir, "--oura-api-url", hs.URL, "--client-uuid", "c-1", "--user-id", "u-1",
			"--token", tok.AccessToken, "--log-level", "error"}, extra...)
		var out, errb bytes.Buffer
		code := Main(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, stderr := run(); code == 0 || !strings.Contains(stderr, "client c-1") {
		t.Fatalf("unknown client without --create-client: exit %d, %s", code, stderr)
	}
	code, out, stderr := run("--create-client", "--time-zone", tok.TimeZone)
	if code != 0 {
		t.Fatalf("link: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "connection 1, Oura user "+tok.OuraID) || !strings.Contains(out, "backfill ") {
		t.Fatalf("output: %s", out)
	}
	// Again: the same connection, its unfinished backfill resumed (the
	// waiting jobs collapse).
	if code, out, stderr = run(); code != 0 || !strings.Contains(out, "connection 1,") {
		t.Fatalf("second link: exit %d: %s %s", code, out, stderr)
	}
	if code, _, stderr = run("--time-zone", "Mars/Olympus"); code == 0 || !strings.Contains(stderr, "time zone") {
		t.Fatalf("bad time zone: exit %d, %s", code, stderr)
	}
}

// wearlink link --data-source whoop links a WHOOP account the same way:
// the connection is WHOOP's, named by the WHOOP user id, and the backfill
// is enqueued.
func TestLinkCommandWhoop(t *testing.T) {
	info := whoopSimulator(t, 2, whoopSimNow.AddDate(0, 0, -30))
	u := info.Users[1]
	dir := t.TempDir()
	args := []string{"link", "--data", dir, "--data-source", "whoop", "--whoop-api-url", info.APIBaseURL,
		"--whoop-oauth-url", info.BaseURL, "--client-uuid", "c-1", "--user-id", "u-1", "--token", u.AccessToken,
		"--create-client", "--log-level", "error"}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("link: exit %d: %s", code, errb.String())
	}
	want := fmt.Sprintf("connection 1, Whoop user %d, status active", u.UserID)
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "backfill ") {
		t.Fatalf("output %q, want %q and the backfill", out.String(), want)
	}
	o, err := app.OpenStore(context.Background(), app.StoreConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	st := o.Store
	c, err := st.FindConnection(context.Background(), "c-1", "u-1", whoop.DataSource)
	if err != nil {
		t.Fatal(err)
	}
	if c.ExternalUserID != strconv.FormatInt(u.UserID, 10) || c.Tokens.AccessToken != u.AccessToken {
		t.Fatalf("connection %+v", c)
	}
	if _, err := st.FindConnection(context.Background(), "c-1", "u-1", oura.DataSource); err == nil {
		t.Fatal("an Oura connection was made too")
	}
}

// An unknown data source is refused before anything is stored, with the
// data sources there are.
func TestLinkCommandUnknownDataSource(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"link", "--data", dir, "--data-source", "fitbitz", "--client-uuid", "c-1",
		"--user-id", "u-1", "--token", "t", "--create-client", "--log-level", "error"}, &out, &errb)
	if code == 0 {
		t.Fatalf("exit 0: %s", out.String())
	}
	for _, s := range []string{"--data-source", `"fitbitz"`, "oura", "whoop"} {
		if !strings.Contains(errb.String(), s) {
			t.Errorf("error %q does not say %s", errb.String(), s)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the data directory was written: %v", entries)
	}
}

// The engine that links uses the providers the command built to check
// --data-source, not a second set made from the configuration (a second
// WHOOP client would hold a request budget of its own): with a set built
// for a simulator and a configuration that names no reachable API, the
// link reads the simulator.
func TestRunLinkUsesTheBuiltProviders(t *testing.T) {
	sim, err := ourasim.New(ourasim.Config{Seed: 1, Users: 1, RevealInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	defer func() { hs.Close(); sim.Close() }()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	// Nothing listens on port 1: a set built again from cfg cannot link.
	cfg.Oura.APIBaseURL = "http://127.0.0.1:1"
	forSim := cfg
	forSim.Oura.APIBaseURL = hs.URL
	built, err := app.BuildProviders(forSim, app.EngineOptions{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(ctx, app.StoreConfig{DataDir: t.TempDir(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tok := sim.Tokens()[0]
	res, err := runLink(ctx, &cfg, st, logger, built, linkOptions{clientUUID: "c-1", userID: "u-1", token: tok.AccessToken,
		createClient: true, dataSource: oura.DataSource})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connection.ExternalUserID != tok.OuraID {
		t.Errorf("linked Oura user %q, want %q", res.Connection.ExternalUserID, tok.OuraID)
	}
}
