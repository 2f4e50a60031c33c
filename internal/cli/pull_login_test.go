package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// loginSim is an Oura simulator on loopback that counts the requests to
// its authorize page: a run that asks for no login sends none.
type loginSim struct {
	sim        *ourasim.Server
	url        string
	authorizes atomic.Int32
}

func newLoginSim(t *testing.T) *loginSim {
	t.Helper()
	sim, _ := simtest.Simulator(t, ourasim.Config{Users: 1})
	ls := &loginSim{sim: sim}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/authorize" {
			ls.authorizes.Add(1)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	ls.url = hs.URL
	return ls
}

// readGrant reads the grant file of out and checks that only its owner
// may read it.
func readGrant(t *testing.T, out string) savedGrant {
	t.Helper()
	path := filepath.Join(out, grantFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no grant file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the grant file has mode %04o, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g savedGrant
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.AccessToken == "" || g.RefreshToken == "" || g.Expiry.IsZero() || len(g.Scopes) == 0 {
		t.Errorf("the grant file lacks a token, its expiry or its scopes")
	}
	if strings.Contains(string(b), ourasim.DefaultClientSecret) {
		t.Error("the grant file holds the client secret")
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	return g
}

// The first run logs in through the browser and keeps the grant in --out;
// the next ones use it without a login, refresh it once it has expired
// (saving the rotated refresh token), and log in again when the grant was
// revoked.
func TestPullKeepsTheLogin(t *testing.T) {
	ls := newLoginSim(t)
	since, until := lastDays(ls.sim, 0, 3)
	out := t.TempDir()
	t.Setenv("OURA_TOKEN", "")
	// Real time until the test moves it on: the login runs on it too.
	clock := &testutil.OffsetClock{}
	args := func(redirect string) []string {
		return []string{"--base-url", ls.url, "--since", since, "--until", until, "--out", out,
			"--client-id", ls.sim.ClientID(), "--client-secret", ls.sim.ClientSecret(), "--redirect-url", redirect,
			"--collections", "daily_activity,personal_info"}
	}
	// The address of a listener the test holds: a run that tried to log
	// in could not listen there, and would fail.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	noLogin := "http://" + busy.Addr().String() + "/callback"
	pullWithout := func(t *testing.T) *pullRun {
		t.Helper()
		run := startPull(t, clock.Now, args(noLogin)...)
		if err := run.wait(t); err != nil {
			t.Fatalf("%v\n%s", err, run.stderr.String())
		}
		if strings.Contains(run.stderr.String(), "Open this address") || ls.authorizes.Load() != 1 {
			t.Errorf("the run asked for a login (%d authorize requests):\n%s", ls.authorizes.Load(), run.stderr.String())
		}
		if n := len(testutil.ReadJSONArray(t, filepath.Join(out, "oura-v2-daily_activity.json"))); n != 3 {
			t.Errorf("%d daily_activity documents for 3 days", n)
		}
		return run
	}

	// First run: the browser login, kept in the output directory.
	run := startPull(t, clock.Now, args("http://127.0.0.1:0/callback")...)
	run.approve(t, ourasim.HeaderAuthorizeUser, 0)
	if err := run.wait(t); err != nil {
		t.Fatalf("%v\n%s", err, run.stderr.String())
	}
	if !strings.Contains(run.stderr.String(), "login saved in "+filepath.Join(out, grantFileName)) {
		t.Errorf("the run does not say where the login is kept:\n%s", run.stderr.String())
	}
	first := readGrant(t, out)
	if first.ClientID != ls.sim.ClientID() || first.DataSource != "oura" || first.APIURL != ls.url || first.TokenURL != ls.url+"/oauth/token" {
		t.Errorf("the grant does not say what it belongs to: %+v", first.ClientID)
	}

	// Second run: no login, no --token; the grant is used as it is.
	t.Run("kept", func(t *testing.T) {
		pullWithout(t)
		if g := readGrant(t, out); g.AccessToken != first.AccessToken || g.RefreshToken != first.RefreshToken {
			t.Error("an unexpired grant was refreshed")
		}
	})

	// A month on, the access token has expired (at Oura too): the run
	// refreshes it and keeps the new refresh token, the old one being spent.
	t.Run("refreshed", func(t *testing.T) {
		clock.Advance(31 * 24 * time.Hour)
		ls.sim.AdvanceClock(31 * 24 * time.Hour)
		pullWithout(t)
		g := readGrant(t, out)
		if g.RefreshToken == first.RefreshToken || g.AccessToken == first.AccessToken {
			t.Fatal("the rotated tokens were not saved")
		}
		if !g.Expiry.After(clock.Now()) {
			t.Errorf("the saved expiry %s is not after the clock's now %s", g.Expiry, clock.Now())
		}
		// And the saved rotation is the one that works from now on.
		pullWithout(t)
	})

	// Revoked at Oura: the run says so, forgets the grant and logs in.
	t.Run("revoked", func(t *testing.T) {
		g := readGrant(t, out)
		if !ls.sim.RevokeToken(g.AccessToken) {
			t.Fatal("the simulator does not know the saved token")
		}
		run := startPull(t, clock.Now, args("http://127.0.0.1:0/callback")...)
		run.approve(t, ourasim.HeaderAuthorizeUser, 0)
		if err := run.wait(t); err != nil {
			t.Fatalf("%v\n%s", err, run.stderr.String())
		}
		if !strings.Contains(run.stderr.String(), "Oura refused the login saved in") {
			t.Errorf("the run does not say the saved login was refused:\n%s", run.stderr.String())
		}
		if n := ls.authorizes.Load(); n != 2 {
			t.Errorf("%d authorize requests, want 2", n)
		}
		if again := readGrant(t, out); again.RefreshToken == g.RefreshToken {
			t.Error("the new login was not saved")
		}
	})
}

// A grant file others may read is refused, naming the file and what to do,
// before anything is asked of the provider.
func TestPullRefusesAGrantOthersMayRead(t *testing.T) {
	ls := newLoginSim(t)
	t.Setenv("OURA_TOKEN", "")
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		out := t.TempDir()
		path := filepath.Join(out, grantFileName)
		if err := os.WriteFile(path, []byte(`{"data_source":"oura"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := runCLI(t, "pull", "--base-url", ls.url, "--since", "2024-01-01", "--out", out,
			"--client-id", ls.sim.ClientID(), "--client-secret", ls.sim.ClientSecret(), "--redirect-url", "http://127.0.0.1:0/callback")
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: got %v", mode, err)
		}
	}
	if n := ls.authorizes.Load(); n != 0 {
		t.Errorf("%d authorize requests", n)
	}
}

// The help leads with the browser login and says how to register the
// application it needs: the redirect URI the command listens at by default,
// every scope the login asks for, and the limit of an unapproved one.
func TestPullHelpLeadsWithTheLogin(t *testing.T) {
	help, _, err := runCLI(t, "pull", "--help")
	if err != nil {
		t.Fatal(err)
	}
	// The text as read, whatever its line breaks.
	flat := strings.Join(strings.Fields(help), " ")
	login, token := strings.Index(flat, "Log in with the browser"), strings.Index(flat, "--token, or")
	if login < 0 || token < login {
		t.Errorf("the help does not lead with the login (login at %d, --token at %d)", login, token)
	}
	for _, w := range []string{"http://localhost:8089/callback", "limited to 10 users", "obtained elsewhere", grantFileName} {
		if !strings.Contains(flat, w) {
			t.Errorf("the help does not say %q", w)
		}
	}
	words := strings.FieldsFunc(flat, func(r rune) bool { return strings.ContainsRune(" ,.:()", r) })
	for _, sc := range oura.DefaultScopes() {
		if !slices.Contains(words, sc) {
			t.Errorf("the help does not name the scope %s", sc)
		}
	}
	if strings.Count(flat, "personal access token") != strings.Count(flat, "no longer issues personal access tokens") {
		t.Error("the help still offers personal access tokens")
	}
}

// WHOOP's pull logs in the same way: the first run through the browser,
// the second with the kept grant alone.
func TestPullWhoopKeepsTheLogin(t *testing.T) {
	info := whoopSimulator(t, 2, whoopSimNow.AddDate(0, 0, -10))
	until := whoopSimNow.Format(time.DateOnly)
	since := whoopSimNow.AddDate(0, 0, -4).Format(time.DateOnly)
	out := t.TempDir()
	t.Setenv("WHOOP_TOKEN", "")
	args := func(redirect string) []string {
		return []string{"--data-source", "whoop", "--base-url", info.APIBaseURL, "--since", since, "--until", until, "--out", out,
			"--client-id", info.ClientID, "--client-secret", info.ClientSecret, "--redirect-url", redirect, "--collections", "sleep,profile"}
	}
	run := startPull(t, time.Now, args("http://127.0.0.1:0/callback")...)
	run.approve(t, whoopsim.HeaderAuthorizeUser, 1)
	if err := run.wait(t); err != nil {
		t.Fatalf("%v\n%s", err, run.stderr.String())
	}
	g := readGrant(t, out)
	if g.DataSource != "whoop" || g.TokenURL != info.TokenURL {
		t.Errorf("the grant is for %s at %s, want whoop at %s", g.DataSource, g.TokenURL, info.TokenURL)
	}
	profile, err := os.ReadFile(filepath.Join(out, "whoop-profile.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(out, "whoop-profile.json")); err != nil {
		t.Fatal(err)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	run = startPull(t, time.Now, args("http://"+busy.Addr().String()+"/callback")...)
	if err := run.wait(t); err != nil {
		t.Fatalf("second run: %v\n%s", err, run.stderr.String())
	}
	if strings.Contains(run.stderr.String(), "Open this address") {
		t.Errorf("the second run asked for a login:\n%s", run.stderr.String())
	}
	// The profile was fetched again, with the kept grant: user 1's.
	again, err := os.ReadFile(filepath.Join(out, "whoop-profile.json"))
	if err != nil || !bytes.Equal(again, profile) {
		t.Errorf("the second run did not fetch the same profile (%v)", err)
	}
	if want := strconv.FormatInt(info.Users[1].UserID, 10); !strings.Contains(string(profile), want) {
		t.Errorf("the profile is not user 1's (%s): %s", want, profile)
	}
}

// A grant that belongs to another application or API is not used (this
// run's secret could not refresh it): the run says so and logs in.
func TestPullLogsInAgainForAnotherApplication(t *testing.T) {
	ls := newLoginSim(t)
	since, until := lastDays(ls.sim, 0, 2)
	t.Setenv("OURA_TOKEN", "")
	tok := ls.sim.Tokens()[0]
	for name, g := range map[string]savedGrant{
		"client": {DataSource: "oura", ClientID: "someone-else", APIURL: ls.url, AuthURL: ls.url + "/oauth/authorize", TokenURL: ls.url + "/oauth/token"},
		"api":    {DataSource: "oura", ClientID: ls.sim.ClientID(), APIURL: "http://127.0.0.1:1", AuthURL: ls.url + "/oauth/authorize", TokenURL: ls.url + "/oauth/token"},
	} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			g.AccessToken, g.RefreshToken = tok.AccessToken, tok.RefreshToken
			if err := saveGrant(out, g); err != nil {
				t.Fatal(err)
			}
			run := startPull(t, time.Now, "--base-url", ls.url, "--since", since, "--until", until, "--out", out,
				"--client-id", ls.sim.ClientID(), "--client-secret", ls.sim.ClientSecret(), "--redirect-url", "http://127.0.0.1:0/callback",
				"--collections", "daily_activity")
			run.approve(t, ourasim.HeaderAuthorizeUser, 0)
			if err := run.wait(t); err != nil {
				t.Fatalf("%v\n%s", err, run.stderr.String())
			}
			if !strings.Contains(run.stderr.String(), "is for another application or API") {
				t.Errorf("the run does not say why it logs in:\n%s", run.stderr.String())
			}
			if got := readGrant(t, out); got.ClientID != ls.sim.ClientID() || got.APIURL != ls.url {
				t.Errorf("the new login was not saved over the other one")
			}
		})
	}
}
