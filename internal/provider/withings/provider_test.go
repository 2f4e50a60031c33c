package withings

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

func fakeProvider(t *testing.T, f *fakeWithings, clk *clock) *Provider {
	t.Helper()
	p, err := NewProvider(Config{Client: f.client(t, clk, nil), AuthURL: "http://127.0.0.1:1/oauth2_user/authorize2", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInfo(t *testing.T) {
	f := newFake(t)
	p := fakeProvider(t, f, newClock())
	info := p.Info()
	o := info.OAuth
	if info.DataSource != "withings" || info.Name != "Withings" || o.TokenURL != f.srv.URL+"/v2/oauth2" ||
		o.AuthURL != "http://127.0.0.1:1/oauth2_user/authorize2" || o.ScopeSeparator != "," ||
		o.AuthStyle != provider.AuthInParams || !o.RotatesRefreshToken || o.PKCE != provider.PKCENone ||
		!slices.Equal(o.Scopes, []string{"user.info", "user.metrics", "user.activity"}) {
		t.Errorf("%+v", info)
	}
	names := map[string]provider.Collection{}
	for _, c := range p.Collections() {
		names[c.Name] = c
	}
	for _, n := range []string{CollMeasure, CollActivity, CollWorkout, CollSleepSummary, CollSleep} {
		if !names[n].Notified {
			t.Errorf("%s is not notified", n)
		}
	}
	if !names[CollSleep].TimeSeries || names[CollDevice].Range != provider.RangeAll {
		t.Errorf("%+v", names)
	}
}

// TestFetchMeasure: the window's days are asked for as instants that hold
// them in every zone, and each group is kept on its own local day.
func TestFetchMeasure(t *testing.T) {
	f := newFake(t)
	// 2024-03-09 23:30 UTC is the 10th in Paris and the 9th in New York.
	at := time.Date(2024, 3, 9, 23, 30, 0, 0, time.UTC).Unix()
	f.on("/measure", "getmeas", func(url.Values, string) string {
		return ok(map[string]any{"timezone": "Europe/Paris", "more": 0, "offset": 0, "measuregrps": []any{
			map[string]any{"grpid": 1, "date": at, "measures": []any{}},
			map[string]any{"grpid": 2, "date": at, "timezone": "America/New_York", "measures": []any{}},
			map[string]any{"grpid": 3, "date": at + 2*86400, "measures": []any{}},
		}})
	})
	p := fakeProvider(t, f, newClock())
	docs, err := p.Fetch(bg, static("tok"), CollMeasure, provider.Window{From: "2024-03-10", To: "2024-03-11"})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].ID != "1" || docs[0].Day != "2024-03-10" {
		t.Fatalf("%+v", docs)
	}
	r := f.log()[0]
	start := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC).Add(-14 * time.Hour).Unix()
	end := time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC).Add(12 * time.Hour).Unix()
	if r.Form.Get("startdate") != strconv.FormatInt(start, 10) || r.Form.Get("enddate") != strconv.FormatInt(end, 10) {
		t.Errorf("form %v", r.Form)
	}
}

// TestFetchDays: activities are asked for by the window's days, workouts
// and sleep summaries from the day before too, and each is kept on its
// own date.
func TestFetchDays(t *testing.T) {
	f := newFake(t)
	item := func(id int, date string) map[string]any {
		return map[string]any{"id": id, "date": date, "startdate": 1710000000, "enddate": 1710003600, "timezone": "Europe/Paris",
			"category": 1, "data": map[string]any{}}
	}
	f.on("/v2/measure", "getactivity", func(url.Values, string) string {
		return ok(map[string]any{"activities": []any{map[string]any{"date": "2024-03-10", "steps": 5, "timezone": "Europe/Paris"}},
			"more": false, "offset": 0})
	})
	f.on("/v2/measure", "getworkouts", func(url.Values, string) string {
		return ok(map[string]any{"series": []any{item(1, "2024-03-09"), item(2, "2024-03-10")}, "more": false, "offset": 0})
	})
	summary := func(id int, date string) map[string]any {
		m := item(id, date)
		delete(m, "category")
		m["data"] = map[string]any{"total_sleep_time": 25000}
		return m
	}
	f.on("/v2/sleep", "getsummary", func(url.Values, string) string {
		return ok(map[string]any{"series": []any{summary(7, "2024-03-09"), summary(8, "2024-03-11")}, "more": false, "offset": 0})
	})
	p := fakeProvider(t, f, newClock())
	w := provider.Window{From: "2024-03-10", To: "2024-03-11"}
	for coll, want := range map[string][]string{CollActivity: {"2024-03-10"}, CollWorkout: {"2"}, CollSleepSummary: {"8"}} {
		docs, err := p.Fetch(bg, static("tok"), coll, w)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range docs {
			ids = append(ids, d.ID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("%s: %v, want %v", coll, ids, want)
		}
	}
	from := map[string]string{}
	for _, r := range f.log() {
		from[r.Action] = r.Form.Get("startdateymd") + ".." + r.Form.Get("enddateymd")
		if r.Form.Has("lastupdate") {
			t.Errorf("%s sends lastupdate", r.Action)
		}
	}
	if from["getactivity"] != "2024-03-10..2024-03-11" || from["getworkouts"] != "2024-03-09..2024-03-11" ||
		from["getsummary"] != "2024-03-09..2024-03-11" {
		t.Errorf("ranges %v", from)
	}
}

// TestFetchSleep: segments are read 24 h at a time and placed on the day
// their end falls on, in the window's zone; without one, in the zone of
// the night they belong to.
func TestFetchSleep(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	// A night in Tokyo ending 2024-03-10 06:30 local (21:30 UTC on the 9th).
	end := time.Date(2024, 3, 10, 6, 30, 0, 0, tokyo).Unix()
	seg := func(s int64) map[string]any { return map[string]any{"startdate": s, "enddate": s + 60, "state": 1} }
	f := newFake(t)
	f.on("/v2/sleep", "get", func(form url.Values, _ string) string {
		s, _ := strconv.ParseInt(form.Get("startdate"), 10, 64)
		e, _ := strconv.ParseInt(form.Get("enddate"), 10, 64)
		series := []any{}
		for _, at := range []int64{end - 3600, end - 60} {
			if at >= s && at <= e {
				series = append(series, seg(at))
			}
		}
		return ok(map[string]any{"series": series})
	})
	f.on("/v2/sleep", "getsummary", func(url.Values, string) string {
		return ok(map[string]any{"series": []any{map[string]any{"id": 1, "date": "2024-03-10", "startdate": end - 8*3600,
			"enddate": end, "timezone": "Asia/Tokyo", "data": map[string]any{}}}, "more": false, "offset": 0})
	})
	p := fakeProvider(t, f, newClock())
	w := provider.Window{From: "2024-03-10", To: "2024-03-10"}
	for _, loc := range []*time.Location{tokyo, nil} {
		w.Loc = loc
		docs, err := p.Fetch(bg, static("tok"), CollSleep, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 2 || docs[0].Day != "2024-03-10" || docs[0].ID != strconv.FormatInt(end-3600, 10) {
			t.Errorf("zone %v: %+v", loc, docs)
		}
	}
	// In UTC the night ends on the 9th: not in the window.
	w.Loc = time.UTC
	docs, err := p.Fetch(bg, static("tok"), CollSleep, w)
	if err != nil || len(docs) != 0 {
		t.Errorf("UTC: %+v %v", docs, err)
	}
	for _, r := range f.log() {
		if r.Action != "get" {
			continue
		}
		s, _ := strconv.ParseInt(r.Form.Get("startdate"), 10, 64)
		e, _ := strconv.ParseInt(r.Form.Get("enddate"), 10, 64)
		if e-s > 86400 || e <= s {
			t.Errorf("a sleep call of %d s", e-s)
		}
	}
}

// TestFetchBadWindow: a window that is not days is refused before any
// request; an unknown collection too.
func TestFetchBadWindow(t *testing.T) {
	f := newFake(t)
	p := fakeProvider(t, f, newClock())
	for _, w := range []provider.Window{{}, {From: "2024-03-10", To: "2024-03-09"}, {From: "10/03/2024", To: "2024-03-10"}} {
		if _, err := p.Fetch(bg, static("tok"), CollActivity, w); provider.KindOf(err) != provider.KindInvalidRequest {
			t.Errorf("%+v: %v", w, err)
		}
	}
	if _, err := p.Fetch(bg, static("tok"), "goals", provider.Window{From: "2024-03-10", To: "2024-03-10"}); provider.KindOf(err) != provider.KindInvalidRequest {
		t.Errorf("unknown collection: %v", err)
	}
	if n := len(f.log()); n != 0 {
		t.Errorf("%d requests", n)
	}
}

// TestFetchErrorIsNotEmpty: an error status is returned, never an empty
// document set.
func TestFetchErrorIsNotEmpty(t *testing.T) {
	f := newFake(t)
	f.on("/v2/measure", "getworkouts", func(url.Values, string) string { return status(2553) })
	p := fakeProvider(t, f, newClock())
	docs, err := p.Fetch(bg, static("tok"), CollWorkout, provider.Window{From: "2024-03-10", To: "2024-03-10"})
	if err == nil || docs != nil || provider.KindOf(err) != provider.KindMissingScope {
		t.Errorf("%v %v", docs, err)
	}
}

// TestFetchDevices: devices whole, by hash.
func TestFetchDevices(t *testing.T) {
	f := newFake(t)
	body := string(recorded(t, "new_device.json"))
	f.on("/v2/user", "getdevice", func(url.Values, string) string { return body })
	p := fakeProvider(t, f, newClock())
	docs, err := p.Fetch(bg, static("tok"), CollDevice, provider.Window{})
	if err != nil || len(docs) != 1 || docs[0].ID == "" || docs[0].Day != "" {
		t.Errorf("%+v %v", docs, err)
	}
}

// grantAuth is an Auth whose grant names its scopes, as a TokenSource's.
type grantAuth struct {
	provider.StaticToken
	scopes []string
}

func (g grantAuth) Current() provider.Tokens { return provider.Tokens{Scopes: g.scopes} }

// TestSubscribeUser: every category the granted scopes allow is
// subscribed for the callback URL, except those that already are; a
// category refused as not granted is skipped. UnsubscribeUser revokes the
// URL's subscriptions, Revoke all of them.
func TestSubscribeUser(t *testing.T) {
	const cb = "https://hub.example/webhooks/withings/s3cret"
	f := newFake(t)
	subs := []sub{{AppliWeight, cb}, {AppliActivity, "https://other.example/cb"}}
	f.on("/notify", "list", func(url.Values, string) string {
		var profiles []any
		for _, s := range subs {
			profiles = append(profiles, map[string]any{"appli": s.appli, "callbackurl": s.url, "expires": 2147483647, "comment": ""})
		}
		return ok(map[string]any{"profiles": profiles})
	})
	f.on("/notify", "subscribe", func(form url.Values, _ string) string {
		a, _ := strconv.Atoi(form.Get("appli"))
		if a == AppliTemperature {
			return status(2553)
		}
		subs = append(subs, sub{a, form.Get("callbackurl")})
		return ok(map[string]any{})
	})
	f.on("/notify", "revoke", func(form url.Values, _ string) string {
		a, _ := strconv.Atoi(form.Get("appli"))
		subs = slices.DeleteFunc(subs, func(s sub) bool { return s.appli == a && s.url == form.Get("callbackurl") })
		return ok(map[string]any{})
	})
	p := fakeProvider(t, f, newClock())

	auth := grantAuth{StaticToken: "tok", scopes: []string{"user.info", "user.metrics"}}
	if err := p.SubscribeUser(bg, auth, cb); err != nil {
		t.Fatal(err)
	}
	if got := applisFor(subs, cb); !slices.Equal(got, []int{AppliWeight, AppliPressure}) {
		t.Errorf("user.metrics: subscribed %v", got)
	}
	// Scopes unknown: every category.
	if err := p.SubscribeUser(bg, static("tok"), cb); err != nil {
		t.Fatal(err)
	}
	if got := applisFor(subs, cb); !slices.Equal(got, []int{AppliWeight, AppliPressure, AppliActivity, AppliSleep}) {
		t.Errorf("all scopes: subscribed %v", got)
	}
	if err := p.SubscribeUser(bg, static("tok"), ""); provider.KindOf(err) != provider.KindInvalidRequest {
		t.Errorf("no callback: %v", err)
	}

	if err := p.UnsubscribeUser(bg, static("tok"), cb); err != nil {
		t.Fatal(err)
	}
	if len(applisFor(subs, cb)) != 0 || len(subs) != 1 {
		t.Errorf("after unsubscribe: %v", subs)
	}
	if err := p.Revoke(context.Background(), static("tok")); err != nil || len(subs) != 0 {
		t.Errorf("after revoke: %v %v", subs, err)
	}
}

// sub is one subscription of the fake.
type sub struct {
	appli int
	url   string
}

func applisFor(subs []sub, cb string) []int {
	var out []int
	for _, s := range subs {
		if s.url == cb {
			out = append(out, s.appli)
		}
	}
	sort.Ints(out)
	return out
}

// TestFetchChanged: reconciliation asks by lastupdate alone and keeps
// every document it gets, whatever its day.
func TestFetchChanged(t *testing.T) {
	f := newFake(t)
	f.on("/measure", "getmeas", func(url.Values, string) string {
		return ok(map[string]any{"timezone": "Europe/Paris", "more": 0, "offset": 0, "measuregrps": []any{
			map[string]any{"grpid": 1, "date": 1600000000, "measures": []any{}},
			map[string]any{"grpid": 2, "date": 1710000000, "measures": []any{}},
		}})
	})
	body := string(recorded(t, "workouts.json"))
	f.on("/v2/measure", "getworkouts", func(url.Values, string) string { return body })
	p := fakeProvider(t, f, newClock())
	since := time.Unix(1700000000, 0)
	docs, err := p.FetchChanged(bg, static("tok"), CollMeasure, since, nil)
	if err != nil || len(docs) != 2 {
		t.Fatalf("%+v %v", docs, err)
	}
	docs, err = p.FetchChanged(bg, static("tok"), CollWorkout, since, nil)
	if err != nil || len(docs) != 11 {
		t.Fatalf("%d %v", len(docs), err)
	}
	for _, r := range f.log() {
		if r.Form.Get("lastupdate") != "1700000000" || r.Form.Has("startdate") || r.Form.Has("startdateymd") || r.Form.Has("enddateymd") {
			t.Errorf("%s: %v", r.Action, r.Form)
		}
	}
	for _, c := range []string{CollSleep, "goals"} {
		if _, err := p.FetchChanged(bg, static("tok"), c, since, nil); provider.KindOf(err) != provider.KindInvalidRequest {
			t.Errorf("%s: %v", c, err)
		}
	}
	if _, err := p.FetchChanged(bg, static("tok"), CollMeasure, time.Time{}, nil); provider.KindOf(err) != provider.KindInvalidRequest {
		t.Errorf("no instant: %v", err)
	}
}

// TestFirstDay: the devices' first session starts the history.
func TestFirstDay(t *testing.T) {
	p := testProvider(t)
	_, raws, _, err := SplitAnswer(recorded(t, "device.json"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Documents(CollDevice, raws, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 1693867179 is 2023-09-05 00:39:39 in Amsterdam.
	if got := p.FirstDay(docs); got != "2023-09-05" {
		t.Errorf("first day %q", got)
	}
	if got := p.FirstDay(nil); got != "" {
		t.Errorf("no devices: %q", got)
	}
}

// TestFetchSleepStopsAtNow: a read of recent days reaches past tomorrow,
// but no segment starts after now, so the 24 h calls stop an hour past
// it, and a window wholly ahead of now makes none.
func TestFetchSleepStopsAtNow(t *testing.T) {
	f := newFake(t)
	f.on("/v2/sleep", "get", func(url.Values, string) string { return ok(map[string]any{"series": []any{}}) })
	f.on("/v2/sleep", "getsummary", func(url.Values, string) string {
		return ok(map[string]any{"series": []any{}, "more": false, "offset": 0})
	})
	clk := newClock() // 2024-03-10 12:00 UTC
	p := fakeProvider(t, f, clk)
	limit := clk.Now().Add(sleepAhead).Unix()
	for _, loc := range []*time.Location{time.UTC, nil} {
		if _, err := p.Fetch(bg, static("tok"), CollSleep, provider.Window{From: "2024-03-08", To: "2024-03-11", Loc: loc}); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	for _, r := range f.log() {
		if r.Action != "get" {
			continue
		}
		calls++
		s, _ := strconv.ParseInt(r.Form.Get("startdate"), 10, 64)
		e, _ := strconv.ParseInt(r.Form.Get("enddate"), 10, 64)
		if s >= limit || e > limit {
			t.Errorf("a sleep call of %d..%d reaches past now+%s (%d)", s, e, sleepAhead, limit)
		}
	}
	if calls == 0 {
		t.Fatal("no sleep call")
	}
	before := len(f.log())
	if docs, err := p.Fetch(bg, static("tok"), CollSleep, provider.Window{From: "2024-03-12", To: "2024-03-13", Loc: time.UTC}); err != nil || len(docs) != 0 {
		t.Fatalf("a window ahead of now: %v %v", docs, err)
	}
	if n := len(f.log()) - before; n != 0 {
		t.Errorf("a window ahead of now made %d calls", n)
	}
}
