package oura_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
)

func newProvider(t *testing.T, e *simEnv, now func() time.Time) *oura.Provider {
	t.Helper()
	p, err := oura.NewProvider(oura.ProviderConfig{Client: e.client, ClientSecret: e.sim.ClientSecret(), WallClock: now,
		OAuth: oura.OAuthConfig{AuthURL: e.url + "/oauth/authorize", TokenURL: e.url + "/oauth/token", RevokeURL: e.url + "/oauth/revoke"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProviderReadsWhatTheClientReads: behind the seam, a window and a
// document by id are the bytes the client reads, on the same days.
func TestProviderReadsWhatTheClientReads(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{Seed: 5, Users: 1}, oura.Config{})
	p := newProvider(t, e, time.Now)
	auth := provider.StaticToken(e.sim.Tokens()[0].AccessToken)
	from, to := e.lastDays(0, 6)
	ctx := context.Background()

	for _, coll := range []string{oura.CollSleep, oura.CollDailyActivity, oura.CollHeartRate} {
		want, err := e.user(0).Days(ctx, coll, from, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Fetch(ctx, auth, coll, provider.Window{From: string(from), To: string(to)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("%s: %d documents through the seam, %d from the client", coll, len(got), len(want))
		}
		for i := range got {
			if got[i].Collection != coll || got[i].ID != want[i].ID || got[i].Day != string(want[i].Day) || !bytes.Equal(got[i].Raw, want[i].Raw) {
				t.Fatalf("%s #%d: %+v, want %+v", coll, i, got[i], want[i])
			}
		}
		if coll != oura.CollSleep {
			continue
		}
		one, err := p.FetchDocument(ctx, auth, coll, got[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if one.ID != got[0].ID || one.Day != got[0].Day || !bytes.Equal(one.Raw, got[0].Raw) {
			t.Fatalf("by id: %+v, want %+v", one, got[0])
		}
	}

	_, err := p.FetchDocument(ctx, auth, oura.CollSleep, "no-such-id")
	if provider.KindOf(err) != provider.KindNotFound {
		t.Fatalf("unknown id: %v (kind %v), want not found", err, provider.KindOf(err))
	}
	if _, err := p.FetchDocument(ctx, auth, oura.CollHeartRate, "x"); provider.KindOf(err) != provider.KindInvalidRequest {
		t.Fatalf("heart rate by id: %v, want an invalid request", err)
	}
	_, err = p.Fetch(ctx, provider.StaticToken("wrong"), oura.CollSleep, provider.Window{From: string(from), To: string(to)})
	if provider.KindOf(err) != provider.KindInvalidToken {
		t.Fatalf("wrong token: %v (kind %v)", err, provider.KindOf(err))
	}

	rings, err := p.Fetch(ctx, auth, oura.CollRingConfiguration, provider.Window{})
	if err != nil || len(rings) == 0 || rings[0].Day != "" || rings[0].ID == "" {
		t.Fatalf("ring_configuration read whole: %+v, %v", rings, err)
	}

	acct, err := p.Identify(ctx, auth)
	if err != nil || acct.ExternalUserID != e.sim.Tokens()[0].OuraID {
		t.Fatalf("Identify = %+v, %v, want %s", acct, err, e.sim.Tokens()[0].OuraID)
	}
	// personal_info is data too (body_summary): it comes with the account.
	if len(acct.Documents) != 1 || acct.Documents[0].Collection != oura.CollPersonalInfo || acct.Documents[0].ID != acct.ExternalUserID {
		t.Fatalf("Identify's documents: %+v", acct.Documents)
	}
}

func TestProviderDescribesOura(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{Seed: 5, Users: 1}, oura.Config{})
	info := newProvider(t, e, time.Now).Info()
	if info.DataSource != "oura" || info.Name != "Oura" || info.OAuth.TokenURL != e.url+"/oauth/token" ||
		!info.OAuth.RotatesRefreshToken || len(info.OAuth.Scopes) == 0 || info.OAuth.AuthStyle != provider.AuthInParams {
		t.Fatalf("info %+v", info)
	}
	colls := newProvider(t, e, time.Now).Collections()
	if len(colls) != len(oura.Collections()) {
		t.Fatalf("%d collections, want %d", len(colls), len(oura.Collections()))
	}
	byName := map[string]provider.Collection{}
	for _, c := range colls {
		byName[c.Name] = c
	}
	for name, want := range map[string]provider.Collection{
		oura.CollSleep:             {Name: oura.CollSleep, Range: provider.RangeDays, ByID: true, Notified: true},
		oura.CollHeartRate:         {Name: oura.CollHeartRate, Range: provider.RangeInstants, TimeSeries: true, PollEvery: 20 * time.Hour},
		oura.CollPersonalInfo:      {Name: oura.CollPersonalInfo, Range: provider.RangeSingleton, PollEvery: 14 * 24 * time.Hour},
		oura.CollRingConfiguration: {Name: oura.CollRingConfiguration, Range: provider.RangeAll, ByID: true, Notified: true},
	} {
		if got := byName[name]; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}

// TestProviderReadsNotifications: a signed notification is one change;
// anything not signed by the app's secret, or stale, is unauthorized.
func TestProviderReadsNotifications(t *testing.T) {
	e := newSimEnv(t, ourasim.Config{Seed: 5, Users: 1}, oura.Config{})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := newProvider(t, e, func() time.Time { return now })
	body := []byte(`{"event_type":"update","data_type":"vo2_max","object_id":"abc","event_time":"2026-03-01T11:59:00+00:00","user_id":"u-1"}`)
	req := func(secret string, at time.Time, body []byte) ([]provider.Notification, error) {
		ts := strconv.FormatInt(at.Unix(), 10)
		r := httptest.NewRequest("POST", "/webhooks/oura", bytes.NewReader(body))
		r.Header.Set("x-oura-timestamp", ts)
		r.Header.Set("x-oura-signature", oura.Sign(secret, ts, body))
		return p.ReadNotification(r, body)
	}
	ns, err := req(e.sim.ClientSecret(), now, body)
	if err != nil || len(ns) != 1 {
		t.Fatalf("signed: %+v, %v", ns, err)
	}
	want := provider.Notification{ExternalUserID: "u-1", Collection: oura.CollVO2Max, Event: "update", ID: "abc"}
	if ns[0].ExternalUserID != want.ExternalUserID || ns[0].Collection != want.Collection || ns[0].Event != want.Event || ns[0].ID != want.ID {
		t.Fatalf("notification %+v, want %+v", ns[0], want)
	}
	for name, err := range map[string]error{
		"other secret": func() error { _, err := req("not-the-secret", now, body); return err }(),
		"stale":        func() error { _, err := req(e.sim.ClientSecret(), now.Add(-time.Hour), body); return err }(),
	} {
		if provider.KindOf(err) != provider.KindUnauthorized {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
	meal := []byte(`{"event_type":"create","data_type":"meal","object_id":"m","user_id":"u-1"}`)
	if ns, err := req(e.sim.ClientSecret(), now, meal); err != nil || len(ns) != 1 || ns[0].Collection != "" || ns[0].Type != "meal" {
		t.Fatalf("meal: %+v, %v, want one notification of type meal with nothing to read", ns, err)
	}
	if _, err := req(e.sim.ClientSecret(), now, []byte(`{"user_id":`)); provider.KindOf(err) != provider.KindInvalidRequest {
		t.Fatalf("truncated body: %v, want an invalid request", err)
	}
}
