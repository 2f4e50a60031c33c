package oura_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
)

func (e *simEnv) oauth(t *testing.T) *oura.OAuth {
	t.Helper()
	o, err := oura.NewOAuth(oura.OAuthConfig{
		ClientID:     e.sim.ClientID(),
		ClientSecret: e.sim.ClientSecret(),
		RedirectURL:  "http://127.0.0.1:9/callback",
		AuthURL:      e.url + "/oauth/authorize",
		TokenURL:     e.url + "/oauth/token",
		RevokeURL:    e.url + "/oauth/revoke",
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// authorize drives the consent page as simulated user i and returns the
// code from the redirect.
func (e *simEnv) authorize(t *testing.T, o *oura.OAuth, user int, state string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, o.AuthCodeURL(state), nil)
	req.Header.Set(ourasim.HeaderAuthorizeUser, strconv.Itoa(user))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 {
		t.Fatalf("authorize answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != state {
		t.Fatalf("state %q came back as %q", state, loc.Query().Get("state"))
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}
	return code
}

func TestOAuthCodeFlowAndRefreshRotation(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{}, oura.Config{})
	ctx := context.Background()
	o := e.oauth(t)

	authURL, _ := url.Parse(o.AuthCodeURL("st4te"))
	scopes := strings.Fields(authURL.Query().Get("scope"))
	for _, want := range []string{"email", "personal", "daily", "heartrate", "workout", "tag", "session", "spo2", "stress", "ring_configuration", "heart_health"} {
		if !strings.Contains(" "+strings.Join(scopes, " ")+" ", " "+want+" ") {
			t.Errorf("authorization URL does not ask for scope %q: %v", want, scopes)
		}
	}

	code := e.authorize(t, o, 1, "st4te")
	tok, err := o.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Expiry.IsZero() || len(tok.Scopes) == 0 {
		t.Fatalf("incomplete grant %+v", tok)
	}
	if _, err := o.Exchange(ctx, code); oura.KindOf(err) != oura.KindInvalidToken {
		t.Errorf("reusing an authorization code: %v, want invalid_grant", err)
	}

	// Refresh rotates: the persist callback sees the new refresh token
	// before any request uses the new access token.
	var mu sync.Mutex
	var persisted []oura.Token
	var usedBeforePersist bool
	src := o.NewTokenSource(tok, func(_ context.Context, nt oura.Token) error {
		mu.Lock()
		defer mu.Unlock()
		e.mu.Lock()
		for _, b := range e.bearers {
			if b == nt.AccessToken {
				usedBeforePersist = true
			}
		}
		e.mu.Unlock()
		persisted = append(persisted, nt)
		return nil
	}, nil)
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if len(persisted) != 1 || persisted[0].RefreshToken == tok.RefreshToken || persisted[0].AccessToken == tok.AccessToken {
		t.Fatalf("refresh did not rotate both tokens: %+v", persisted)
	}
	if usedBeforePersist {
		t.Error("the new access token was used before it was persisted")
	}
	pi, err := e.client.User(src).PersonalInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	sentNew := e.bearers[len(e.bearers)-1] == persisted[0].AccessToken
	e.mu.Unlock()
	if !sentNew {
		t.Error("the request after the refresh did not carry the rotated access token")
	}
	if pi.Value.ID != e.sim.World().Users()[1].OuraID {
		t.Errorf("token belongs to %s, want simulated user 1", pi.Value.ID)
	}
	// The old refresh token is spent.
	if _, err := o.Refresh(ctx, tok.RefreshToken); oura.KindOf(err) != oura.KindInvalidToken {
		t.Fatalf("reusing a rotated refresh token: %v, want invalid_grant", err)
	}

	// A failed persist keeps the rotated grant and retries the persist
	// before handing out a token.
	fails := 1
	src2 := o.NewTokenSource(persisted[0], func(context.Context, oura.Token) error {
		if fails > 0 {
			fails--
			return errors.New("disk full")
		}
		return nil
	}, nil)
	if err := src2.Refresh(ctx); err == nil {
		t.Fatal("a failed persist must fail the refresh")
	}
	if _, err := src2.AccessToken(ctx); err != nil {
		t.Fatalf("the pending grant should persist on the next call: %v", err)
	}
	if _, err := e.client.User(src2).PersonalInfo(ctx); err != nil {
		t.Fatalf("the rotated token kept after a failed persist does not work: %v", err)
	}

	// Revoke ends the grant.
	cur := src2.Current()
	if err := o.Revoke(ctx, cur); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.User(oura.StaticToken(cur.AccessToken)).PersonalInfo(ctx)
	if oura.KindOf(err) != oura.KindInvalidToken {
		t.Errorf("revoked token: %v, want 401 invalid token", err)
	}
}

func TestExpiredTokenIsRefreshedOn401(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{}, oura.Config{})
	ctx := context.Background()
	o := e.oauth(t)
	issued, err := e.sim.IssueToken(0, nil, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var persisted int
	// Expiry unknown to the source (zero), so it only learns from the 401.
	src := o.NewTokenSource(oura.Token{AccessToken: issued.AccessToken, RefreshToken: issued.RefreshToken}, func(context.Context, oura.Token) error {
		persisted++
		return nil
	}, nil)
	d1, d2 := e.lastDays(0, 3)
	docs, err := e.client.User(src).DailySleep(ctx, d1, d2)
	if err != nil {
		t.Fatalf("an expired token with a valid refresh token should recover: %v", err)
	}
	if len(docs) != 3 || persisted != 1 {
		t.Errorf("docs=%d persisted=%d, want 3 documents after one refresh", len(docs), persisted)
	}
	// A plain token cannot refresh: the 401 reaches the caller.
	_, err = e.client.User(oura.StaticToken(issued.AccessToken)).DailySleep(ctx, d1, d2)
	if oura.KindOf(err) != oura.KindInvalidToken {
		t.Errorf("expired static token: %v, want invalid token", err)
	}
}

func TestMissingScopeIs401AndNotRefreshed(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{}, oura.Config{})
	ctx := context.Background()
	issued, err := e.sim.IssueToken(0, []string{"daily", "personal"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	u := e.client.User(oura.StaticToken(issued.AccessToken))
	d1, d2 := e.lastDays(0, 2)
	if _, err := u.DailySleep(ctx, d1, d2); err != nil {
		t.Fatalf("daily scope granted: %v", err)
	}
	cases := []struct {
		name  string
		call  func() error
		scope string
	}{
		{"heartrate", func() error { _, err := u.HeartRate(ctx, time.Now().Add(-time.Hour), time.Now()); return err }, "heartrate"},
		{"vO2_max", func() error { _, err := u.VO2Max(ctx, d1, d2); return err }, "heart_health"},
		{"daily_resilience", func() error { _, err := u.DailyResilience(ctx, d1, d2); return err }, "stress"},
		{"ring_configuration", func() error { _, err := u.RingConfigurations(ctx); return err }, "ring_configuration"},
		{"workout", func() error { _, err := u.Workouts(ctx, d1, d2); return err }, "workout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var oe *oura.Error
			if !errors.As(err, &oe) || oe.Kind != oura.KindMissingScope || oe.StatusCode != 401 {
				t.Fatalf("got %v, want 401 missing scope", err)
			}
			if !strings.Contains(oe.Detail, c.scope) {
				t.Errorf("detail %q does not name the scope %q", oe.Detail, c.scope)
			}
		})
	}
}

func TestWebhookSubscriptionsAndSignedNotifications(t *testing.T) {
	type received struct {
		body      []byte
		sig, ts   string
		challenge bool
	}
	var mu sync.Mutex
	var got []received
	const verifyToken = "vtok-123"
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if r.URL.Query().Get("verification_token") != verifyToken {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			mu.Lock()
			got = append(got, received{challenge: true})
			mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]string{"challenge": r.URL.Query().Get("challenge")})
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{body: b, sig: r.Header.Get("x-oura-signature"), ts: r.Header.Get("x-oura-timestamp")})
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer cb.Close()

	e := newSimEnv(t, ourasim.Config{}, oura.Config{})
	ctx := context.Background()
	hooks := e.client.Webhooks(e.sim.ClientID(), e.sim.ClientSecret())

	sub, err := hooks.Create(ctx, oura.CreateWebhookSubscription{CallbackURL: cb.URL, VerificationToken: verifyToken, EventType: oura.WebhookCreate, DataType: "sleep"})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := sub.ExpirationTime.Time()
	if err != nil || exp.Sub(time.Now()) < 80*24*time.Hour {
		t.Errorf("expiration_time %s is not about 90 days ahead", sub.ExpirationTime)
	}
	if _, err := hooks.Create(ctx, oura.CreateWebhookSubscription{CallbackURL: cb.URL, VerificationToken: "wrong", EventType: oura.WebhookCreate, DataType: "daily_sleep"}); err == nil {
		t.Error("a callback that refuses the verification token must fail the create")
	}
	list, err := hooks.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != sub.ID {
		t.Fatalf("list = %+v, %v", list, err)
	}
	one, err := hooks.Get(ctx, sub.ID)
	if err != nil || one.DataType != "sleep" {
		t.Fatalf("get = %+v, %v", one, err)
	}
	upd := oura.WebhookUpdate
	updated, err := hooks.Update(ctx, sub.ID, oura.UpdateWebhookSubscription{VerificationToken: verifyToken, EventType: &upd})
	if err != nil || updated.EventType != oura.WebhookUpdate {
		t.Fatalf("update = %+v, %v", updated, err)
	}
	renewed, err := hooks.Renew(ctx, sub.ID)
	if err != nil || renewed.ExpirationTime == "" {
		t.Fatalf("renew = %+v, %v", renewed, err)
	}
	if _, err := hooks.Get(ctx, "00000000-0000-4000-8000-000000000000"); oura.KindOf(err) != oura.KindForbidden {
		t.Errorf("unknown subscription id: %v, want 403", err)
	}
	if _, err := e.client.Webhooks(e.sim.ClientID(), "bad-secret").List(ctx); err == nil {
		t.Error("wrong client secret must be refused")
	}
	// Back to create events, then a new night appears.
	cr := oura.WebhookCreate
	if _, err := hooks.Update(ctx, sub.ID, oura.UpdateWebhookSubscription{VerificationToken: verifyToken, EventType: &cr}); err != nil {
		t.Fatal(err)
	}
	day, err := e.sim.AddDay(0)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.WaitNotifications()

	mu.Lock()
	defer mu.Unlock()
	v := oura.Verifier{ClientSecret: e.sim.ClientSecret()}
	var notes int
	for _, r := range got {
		if r.challenge {
			continue
		}
		notes++
		if err := v.Verify(r.sig, r.ts, r.body); err != nil {
			t.Errorf("notification %s: %v", r.body, err)
		}
		tampered := []byte(strings.Replace(string(r.body), `"create"`, `"delete"`, 1))
		if err := v.Verify(r.sig, r.ts, tampered); !errors.Is(err, oura.ErrSignatureInvalid) {
			t.Errorf("tampered notification accepted: %v", err)
		}
		var n oura.Notification
		if err := json.Unmarshal(r.body, &n); err != nil {
			t.Fatal(err)
		}
		if n.DataType != "sleep" || n.EventType != oura.WebhookCreate || n.UserID != e.sim.World().Users()[0].OuraID {
			t.Errorf("unexpected notification %+v", n)
		}
		doc, err := oura.Get[oura.Sleep](ctx, e.user(0), oura.CollSleep, n.ObjectID)
		if err != nil {
			t.Errorf("the announced sleep %s cannot be fetched: %v", n.ObjectID, err)
		} else if doc.Value.Day != day {
			t.Errorf("announced sleep is of day %s, the new day is %s", doc.Value.Day, day)
		}
	}
	if notes == 0 {
		t.Fatal("no notification arrived for the new night")
	}

	if err := hooks.Delete(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := hooks.List(ctx); len(list) != 0 {
		t.Errorf("%d subscriptions left after delete", len(list))
	}
}
