package oura

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// User makes the calls of one Oura user.
type User struct {
	c    *Client
	auth Auth
	// Sandbox sends list and single-document calls to /v2/sandbox.
	sandbox bool
}

// User returns the caller for one user's data.
func (c *Client) User(auth Auth) *User { return &User{c: c, auth: auth} }

// Sandbox returns a caller for Oura's sandbox routes (fake data; any token).
func (c *Client) Sandbox(auth Auth) *User { return &User{c: c, auth: auth, sandbox: true} }

func (u *User) collectionPath(coll string) string {
	if u.sandbox {
		return "/v2/sandbox/usercollection/" + coll
	}
	return "/v2/usercollection/" + coll
}

// Query selects documents of a list route. Dates apply to date routes,
// datetimes to heartrate and ring_battery_level; zero values are not sent
// (Oura then applies its own defaults).
type Query struct {
	StartDate, EndDate         Date
	StartDatetime, EndDatetime time.Time
	// Latest asks heartrate or battery for the newest sample only.
	Latest bool
	// Fields projects documents (live routes only). Oura ignores unknown
	// names silently, so a typo returns full documents.
	Fields []string
}

func (q Query) values() url.Values {
	v := url.Values{}
	if q.StartDate != "" {
		v.Set("start_date", string(q.StartDate))
	}
	if q.EndDate != "" {
		v.Set("end_date", string(q.EndDate))
	}
	if !q.StartDatetime.IsZero() {
		v.Set("start_datetime", q.StartDatetime.Format(time.RFC3339))
	}
	if !q.EndDatetime.IsZero() {
		v.Set("end_datetime", q.EndDatetime.Format(time.RFC3339))
	}
	if q.Latest {
		v.Set("latest", "true")
	}
	if len(q.Fields) > 0 {
		v.Set("fields", strings.Join(q.Fields, ","))
	}
	return v
}

// page is one list answer.
type page[T any] struct {
	Data      []T     `json:"data"`
	NextToken *string `json:"next_token"`
}

// eachPage calls fn for every page of a list route, following next_token.
// After the first page only next_token (and fields) is sent: live Oura
// ignores or rejects the date parameters next to a token.
func eachPage[T any](ctx context.Context, u *User, coll string, q Query, fn func([]Document[T]) error) error {
	params := q.values()
	for {
		var (
			docs []Document[T]
			next *string
		)
		_, err := u.c.do(ctx, request{
			method: http.MethodGet,
			path:   u.collectionPath(coll),
			query:  params,
			auth:   u.auth,
			decode: func(b []byte) (err error) { docs, next, err = decodePage[T](b); return err },
		})
		if err != nil {
			return err
		}
		if err := fn(docs); err != nil {
			return err
		}
		if next == nil || *next == "" {
			return nil
		}
		params = url.Values{"next_token": {*next}}
		if len(q.Fields) > 0 {
			params.Set("fields", strings.Join(q.Fields, ","))
		}
	}
}

// List returns every document of a date (or no-range) collection matching q,
// following pagination to the end. It does no day filtering: see Days.
func List[T any](ctx context.Context, u *User, coll string, q Query) ([]Document[T], error) {
	c, ok := LookupCollection(coll)
	if !ok {
		return nil, fmt.Errorf("oura: unknown collection %q", coll)
	}
	if c.Range == RangeDateTime {
		return listChunked[T](ctx, u, c.Name, q)
	}
	var out pages[T]
	err := eachPage(ctx, u, c.Name, q, out.add)
	return out.join(), err
}

// pages gathers the pages of a list and joins them once: a month of heart
// rate is many pages, and appending each to the ones before copied the
// rows again at every growth.
type pages[T any] struct {
	pages [][]Document[T]
	n     int
}

func (p *pages[T]) add(d []Document[T]) error {
	p.pages = append(p.pages, d)
	p.n += len(d)
	return nil
}

// join is every page's documents in order; nil when there are none.
func (p *pages[T]) join() []Document[T] {
	switch {
	case p.n == 0:
		return nil
	case len(p.pages) == 1:
		return p.pages[0]
	}
	out := make([]Document[T], 0, p.n)
	for _, d := range p.pages {
		out = append(out, d...)
	}
	return out
}

// MaxTimeSeriesSpan is the longest datetime range sent in one heartrate,
// interbeat or battery request; Oura limits these routes to about 30 days.
const MaxTimeSeriesSpan = 30 * 24 * time.Hour

// listChunked splits a datetime range into spans Oura accepts.
func listChunked[T any](ctx context.Context, u *User, coll string, q Query) ([]Document[T], error) {
	var out pages[T]
	if q.Latest || q.StartDatetime.IsZero() || q.EndDatetime.IsZero() {
		err := eachPage(ctx, u, coll, q, out.add)
		return out.join(), err
	}
	for start := q.StartDatetime; start.Before(q.EndDatetime); start = start.Add(MaxTimeSeriesSpan) {
		chunk := q
		chunk.StartDatetime = start
		chunk.EndDatetime = start.Add(MaxTimeSeriesSpan)
		if chunk.EndDatetime.After(q.EndDatetime) {
			chunk.EndDatetime = q.EndDatetime
		}
		if err := eachPage(ctx, u, coll, chunk, out.add); err != nil {
			return out.join(), err
		}
	}
	return out.join(), nil
}

// Get fetches one document by id. A missing document is a KindNotFound error.
func Get[T any](ctx context.Context, u *User, coll, id string) (Document[T], error) {
	var d Document[T]
	c, ok := LookupCollection(coll)
	if !ok || !c.Single {
		return d, fmt.Errorf("oura: collection %q has no single-document route", coll)
	}
	if id == "" {
		return d, fmt.Errorf("oura: empty document id")
	}
	_, err := u.c.do(ctx, request{
		method: http.MethodGet,
		path:   u.collectionPath(c.Name) + "/" + url.PathEscape(id),
		auth:   u.auth,
		decode: func(b []byte) error { d = Document[T]{}; return json.Unmarshal(b, &d) },
	})
	return d, err
}

// PersonalInfo fetches the user's personal_info. Its id is the user id that
// Oura's webhook notifications carry.
func (u *User) PersonalInfo(ctx context.Context) (Document[PersonalInfo], error) {
	var d Document[PersonalInfo]
	_, err := u.c.do(ctx, request{
		method: http.MethodGet,
		path:   "/v2/usercollection/personal_info",
		auth:   u.auth,
		decode: func(b []byte) error { d = Document[PersonalInfo]{}; return json.Unmarshal(b, &d) },
	})
	return d, err
}

// Typed shortcuts for the date collections.

func (u *User) DailyActivity(ctx context.Context, start, end Date) ([]Document[DailyActivity], error) {
	return List[DailyActivity](ctx, u, CollDailyActivity, Query{StartDate: start, EndDate: end})
}

func (u *User) DailyCardiovascularAge(ctx context.Context, start, end Date) ([]Document[DailyCardiovascularAge], error) {
	return List[DailyCardiovascularAge](ctx, u, CollDailyCardiovascularAge, Query{StartDate: start, EndDate: end})
}

func (u *User) DailyReadiness(ctx context.Context, start, end Date) ([]Document[DailyReadiness], error) {
	return List[DailyReadiness](ctx, u, CollDailyReadiness, Query{StartDate: start, EndDate: end})
}

func (u *User) DailyResilience(ctx context.Context, start, end Date) ([]Document[DailyResilience], error) {
	return List[DailyResilience](ctx, u, CollDailyResilience, Query{StartDate: start, EndDate: end})
}

func (u *User) DailySleep(ctx context.Context, start, end Date) ([]Document[DailySleep], error) {
	return List[DailySleep](ctx, u, CollDailySleep, Query{StartDate: start, EndDate: end})
}

func (u *User) DailySpO2(ctx context.Context, start, end Date) ([]Document[DailySpO2], error) {
	return List[DailySpO2](ctx, u, CollDailySpO2, Query{StartDate: start, EndDate: end})
}

func (u *User) DailyStress(ctx context.Context, start, end Date) ([]Document[DailyStress], error) {
	return List[DailyStress](ctx, u, CollDailyStress, Query{StartDate: start, EndDate: end})
}

func (u *User) EnhancedTags(ctx context.Context, start, end Date) ([]Document[EnhancedTag], error) {
	return List[EnhancedTag](ctx, u, CollEnhancedTag, Query{StartDate: start, EndDate: end})
}

func (u *User) RestModePeriods(ctx context.Context, start, end Date) ([]Document[RestModePeriod], error) {
	return List[RestModePeriod](ctx, u, CollRestModePeriod, Query{StartDate: start, EndDate: end})
}

func (u *User) RingConfigurations(ctx context.Context) ([]Document[RingConfiguration], error) {
	return List[RingConfiguration](ctx, u, CollRingConfiguration, Query{})
}

func (u *User) Sessions(ctx context.Context, start, end Date) ([]Document[Session], error) {
	return List[Session](ctx, u, CollSession, Query{StartDate: start, EndDate: end})
}

func (u *User) Sleep(ctx context.Context, start, end Date) ([]Document[Sleep], error) {
	return List[Sleep](ctx, u, CollSleep, Query{StartDate: start, EndDate: end})
}

func (u *User) SleepTime(ctx context.Context, start, end Date) ([]Document[SleepTime], error) {
	return List[SleepTime](ctx, u, CollSleepTime, Query{StartDate: start, EndDate: end})
}

func (u *User) Tags(ctx context.Context, start, end Date) ([]Document[Tag], error) {
	return List[Tag](ctx, u, CollTag, Query{StartDate: start, EndDate: end})
}

func (u *User) VO2Max(ctx context.Context, start, end Date) ([]Document[VO2Max], error) {
	return List[VO2Max](ctx, u, CollVO2Max, Query{StartDate: start, EndDate: end})
}

func (u *User) Workouts(ctx context.Context, start, end Date) ([]Document[Workout], error) {
	return List[Workout](ctx, u, CollWorkout, Query{StartDate: start, EndDate: end})
}

// HeartRate returns samples in [start, end), in requests of at most 30 days.
func (u *User) HeartRate(ctx context.Context, start, end time.Time) ([]Document[HeartRate], error) {
	return List[HeartRate](ctx, u, CollHeartRate, Query{StartDatetime: start, EndDatetime: end})
}

// InterbeatInterval returns interbeat rows in [start, end), chunked like
// HeartRate.
func (u *User) InterbeatInterval(ctx context.Context, start, end time.Time) ([]Document[InterbeatInterval], error) {
	return List[InterbeatInterval](ctx, u, CollInterbeatInterval, Query{StartDatetime: start, EndDatetime: end})
}

// RingBatteryLevel returns battery rows in [start, end), chunked like HeartRate.
func (u *User) RingBatteryLevel(ctx context.Context, start, end time.Time) ([]Document[RingBatteryLevel], error) {
	return List[RingBatteryLevel](ctx, u, CollRingBatteryLevel, Query{StartDatetime: start, EndDatetime: end})
}
