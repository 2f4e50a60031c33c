package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
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
