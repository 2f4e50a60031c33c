package ingest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

func (e *env) linkToken(i int, tok store.Tokens) (ingest.LinkResult, error) {
	return e.eng.Link(e.ctx, ingest.LinkParams{ClientUUID: testClient, UserID: "user-" + string(rune('a'+i)), DataSource: "oura", CreateClient: true, Tokens: tok})
}

// TestTokenRefreshOnExpiry: an expired access token is refreshed before
// use, the rotated refresh token is stored before it is used, and the old
// one is spent.
func TestTokenRefreshOnExpiry(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 2})
	tok, err := e.sim.IssueToken(0, nil, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.linkToken(0, store.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.ExpiresAt})
	if err != nil {
		t.Fatal(err)
	}
	conn, _ := e.st.GetConnection(e.ctx, res.Connection.ID)
	if conn.Tokens.RefreshToken == tok.RefreshToken || conn.Tokens.AccessToken == tok.AccessToken {
		t.Fatal("tokens were not rotated")
	}
	if !conn.Tokens.Expiry.After(e.sim.Clock().Now()) {
		t.Fatalf("stored expiry %s is not in the future", conn.Tokens.Expiry)
	}
	if conn.ExternalUserID != e.sim.Tokens()[0].OuraID {
		t.Fatalf("oura user id %q", conn.ExternalUserID)
	}
	// The old refresh token is spent: only the stored one works.
	o, err := oura.NewOAuth(oura.OAuthConfig{ClientID: e.sim.ClientID(), ClientSecret: e.sim.ClientSecret(),
		AuthURL: e.simURL + "/oauth/authorize", TokenURL: e.simURL + "/oauth/token", Now: e.sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Refresh(e.ctx, tok.RefreshToken); oura.KindOf(err) != oura.KindInvalidToken {
		t.Fatalf("old refresh token: %v", err)
	}
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	after, _ := e.st.GetConnection(e.ctx, conn.ID)
	if after.Status != store.StatusActive || after.Tokens.RefreshToken != conn.Tokens.RefreshToken {
		t.Fatalf("after backfill: status %s, refresh token changed %v", after.Status, after.Tokens.RefreshToken != conn.Tokens.RefreshToken)
	}
}

// TestTokenRefreshOn401: a token without a known expiry that Oura rejects
// is refreshed once and the call goes on.
func TestTokenRefreshOn401(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 2})
	tok, err := e.sim.IssueToken(0, nil, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.linkToken(0, store.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	conn, _ := e.st.GetConnection(e.ctx, res.Connection.ID)
	if conn.Tokens.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh token not rotated")
	}
	e.waitBackfill(5*time.Minute, conn)
}

// TestFailedRefreshNeedsReauth: a refresh Oura refuses marks the connection
// reauth_required and records "extraction failed: token".
func TestFailedRefreshNeedsReauth(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 2})
	tok, err := e.sim.IssueToken(0, nil, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !e.sim.RevokeToken(tok.AccessToken) {
		t.Fatal("revoke failed")
	}
	_, err = e.linkToken(0, store.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.ExpiresAt})
	if err == nil {
		t.Fatal("link with a revoked grant succeeded")
	}
	conn, ferr := e.st.FindConnection(e.ctx, testClient, "user-a", "oura")
	if ferr != nil {
		t.Fatal(ferr)
	}
	if conn.Status != store.StatusReauthRequired || !strings.HasPrefix(conn.LastError, "extraction failed: token") {
		t.Fatalf("status %q, last error %q", conn.Status, conn.LastError)
	}
	if ev := e.events.list(); len(ev) != 1 || !strings.HasSuffix(ev[0], ":token") {
		t.Fatalf("events %v", ev)
	}
}

// TestRevokedDuringBackfill: a grant revoked after linking stops the
// backfill's jobs (cancelled, not retried) and marks the connection.
func TestRevokedDuringBackfill(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 60})
	conn := e.link(0)
	e.sim.RevokeToken(e.sim.Tokens()[0].AccessToken)
	e.waitIdle(5 * time.Minute)
	got, _ := e.st.GetConnection(e.ctx, conn.ID)
	if got.Status != store.StatusReauthRequired || got.Cursors["backfill_done"] != "" {
		t.Fatalf("status %s, cursors %v", got.Status, got.Cursors)
	}
	if ev := e.events.list(); len(ev) == 0 {
		t.Fatal("no extraction-failed event")
	}
	if n := len(e.jobs("ingest_backfill", rivertype.JobStateRetryable)); n != 0 {
		t.Fatalf("%d backfill jobs left to retry", n)
	}
}
