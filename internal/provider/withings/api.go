package withings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// MeasureTypes are every measure type of getmeas' table (spec,
// measure-getmeas meastype): asked for explicitly, since Withings leaves
// some of the newer ones out of an answer that does not name them.
func MeasureTypes() []int {
	return []int{1, 4, 5, 6, 8, 9, 10, 11, 12, 54, 71, 73, 76, 77, 88, 91, 123, 130, 135, 136, 137, 138, 139,
		155, 167, 168, 169, 170, 173, 174, 175, 196, 226, 227, 229}
}

// The data fields each action can return (spec, data_fields of each
// operation): all of them, so that a stored document has everything.

// ActivityFields are getactivity's.
func ActivityFields() []string {
	return []string{"steps", "distance", "elevation", "soft", "moderate", "intense", "active", "calories",
		"totalcalories", "hr_average", "hr_min", "hr_max", "hr_zone_0", "hr_zone_1", "hr_zone_2", "hr_zone_3"}
}

// IntradayFields are getintradayactivity's.
func IntradayFields() []string {
	return []string{"steps", "elevation", "calories", "distance", "stroke", "pool_lap", "duration", "heart_rate",
		"spo2_auto", "rmssd", "sdnn1", "hrv_quality", "core_body_temperature", "rr", "chest_movement_rate"}
}

// WorkoutFields are getworkouts'.
func WorkoutFields() []string {
	return []string{"calories", "intensity", "manual_intensity", "manual_distance", "manual_calories",
		"hr_average", "hr_min", "hr_max", "hr_zone_0", "hr_zone_1", "hr_zone_2", "hr_zone_3", "pause_duration",
		"algo_pause_duration", "spo2_average", "core_body_temperature_avg", "core_body_temperature_min",
		"core_body_temperature_max", "core_body_temperature_status", "steps", "distance", "elevation", "pool_laps",
		"strokes", "pool_length"}
}

// SleepSeriesFields are sleep get's: the high-frequency series.
func SleepSeriesFields() []string {
	return []string{"hr", "rr", "snoring", "sdnn_1", "rmssd", "hrv_quality", "mvt_score",
		"chest_movement_rate", "withings_index", "breathing_sounds"}
}

// SleepSummaryFields are sleep getsummary's.
func SleepSummaryFields() []string {
	return []string{"total_timeinbed", "total_sleep_time", "asleepduration", "lightsleepduration",
		"remsleepduration", "deepsleepduration", "sleep_efficiency", "sleep_latency", "wakeup_latency",
		"wakeupduration", "wakeupcount", "waso", "nb_rem_episodes", "breathing_disturbances_intensity",
		"apnea_hypopnea_index", "withings_index", "durationtosleep", "durationtowakeup", "out_of_bed_count",
		"hr_average", "hr_min", "hr_max", "rr_average", "rr_min", "rr_max", "breathing_quality_assessment", "snoring",
		"snoringepisodecount", "sleep_score", "night_events", "mvt_score_avg", "mvt_active_duration",
		"rmssd_start_avg", "rmssd_end_avg", "chest_movement_rate_wellness_average",
		"chest_movement_rate_wellness_min", "chest_movement_rate_wellness_max", "breathing_sounds",
		"breathing_sounds_episode_count", "chest_movement_rate_average", "chest_movement_rate_min",
		"chest_movement_rate_max", "core_body_temperature_min", "core_body_temperature_max",
		"core_body_temperature_avg", "core_body_temperature_status"}
}

// MaxSeriesSpan is the longest range one sleep or intraday series call may
// ask for.
const MaxSeriesSpan = 24 * time.Hour

// maxPages bounds offset paging: a server that always says "more" must
// not hold a worker for ever.
const maxPages = 1000

// User makes the calls of one Withings user.
type User struct {
	c    *Client
	auth provider.Auth
}

// User returns the caller for one user's data.
func (c *Client) User(auth provider.Auth) *User { return &User{c: c, auth: auth} }

// invalid is an error for a request wearlink refuses to send.
func invalid(service, action, format string, args ...any) error {
	return &Error{Kind: provider.KindInvalidRequest, Service: service, Action: action, Err: fmt.Errorf(format, args...)}
}

// MeasureQuery selects measure groups: by the instants Start..End (epoch
// seconds, both set) or by LastUpdate (changed since), never both.
type MeasureQuery struct {
	Start, End time.Time
	LastUpdate time.Time
	// Category is 1 (real measures) or 2 (objectives); 0 sends none, which
	// is Withings' default.
	Category int
	// Types are the meastypes asked for; nil: every one (MeasureTypes).
	Types []int
}

// Measures is a getmeas answer, every page of it.
type Measures struct {
	// Timezone is the answer's zone, which its groups do not carry.
	Timezone   string
	UpdateTime int64
	Groups     []json.RawMessage
}

// Measures reads measure groups to the last page.
func (u *User) Measures(ctx context.Context, q MeasureQuery) (Measures, error) {
	const action = "getmeas"
	p := url.Values{}
	hasRange := !q.Start.IsZero() || !q.End.IsZero()
	switch {
	case hasRange && !q.LastUpdate.IsZero():
		return Measures{}, invalid(serviceMeasure, action, "a date range and lastupdate together")
	case hasRange:
		if q.Start.IsZero() || q.End.IsZero() || q.End.Before(q.Start) {
			return Measures{}, invalid(serviceMeasure, action, "startdate and enddate must both be set, in order")
		}
		p.Set("startdate", epoch(q.Start))
		p.Set("enddate", epoch(q.End))
	case !q.LastUpdate.IsZero():
		p.Set("lastupdate", epoch(q.LastUpdate))
	default:
		return Measures{}, invalid(serviceMeasure, action, "neither a date range nor lastupdate")
	}
	if q.Category != 0 {
		p.Set("category", strconv.Itoa(q.Category))
	}
	types := q.Types
	if types == nil {
		types = MeasureTypes()
	}
	p.Set("meastypes", joinInts(types))
	var out Measures
	err := pages(ctx, u, serviceMeasure, action, p, func(body json.RawMessage) (page, error) {
		var b struct {
			UpdateTime  int64              `json:"updatetime"`
			Timezone    string             `json:"timezone"`
			MeasureGrps *[]json.RawMessage `json:"measuregrps"`
			pageFields
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return page{}, err
		}
		if b.MeasureGrps == nil {
			return page{}, errors.New(`no "measuregrps"`)
		}
		if b.Timezone != "" {
			out.Timezone = b.Timezone
		}
		if b.UpdateTime > out.UpdateTime {
			out.UpdateTime = b.UpdateTime
		}
		out.Groups = append(out.Groups, *b.MeasureGrps...)
		return b.page(), nil
	})
	return out, err
}

// DayQuery selects the objects of the ymd actions (getactivity,
// getworkouts, sleep getsummary): by local days From..To, both inclusive,
// or by LastUpdate, never both.
type DayQuery struct {
	From, To   string // YYYY-MM-DD
	LastUpdate time.Time
	// Fields are the data_fields asked for; nil: all of the action's,
	// empty: none (the objects' own fields only).
	Fields []string
}

func (q DayQuery) values(service, action string, all []string) (url.Values, error) {
	p := url.Values{}
	hasDays := q.From != "" || q.To != ""
	switch {
	case hasDays && !q.LastUpdate.IsZero():
		// The spec: "DO NOT USE WITH FOLLOWING PARAMS: [lastupdate]".
		return nil, invalid(service, action, "a ymd range and lastupdate together")
	case hasDays:
		from, err1 := time.Parse(time.DateOnly, q.From)
		to, err2 := time.Parse(time.DateOnly, q.To)
		if err1 != nil || err2 != nil || to.Before(from) {
			return nil, invalid(service, action, "days %q..%q are not an ordered YYYY-MM-DD range", q.From, q.To)
		}
		p.Set("startdateymd", q.From)
		p.Set("enddateymd", q.To)
	case !q.LastUpdate.IsZero():
		p.Set("lastupdate", epoch(q.LastUpdate))
	default:
		return nil, invalid(service, action, "neither a ymd range nor lastupdate")
	}
	fields := q.Fields
	if fields == nil {
		fields = all
	}
	if len(fields) > 0 {
		p.Set("data_fields", strings.Join(fields, ","))
	}
	return p, nil
}

// listed reads a ymd action's list (under key) to the last page.
func (u *User) listed(ctx context.Context, service, action, key string, q DayQuery, all []string) ([]json.RawMessage, error) {
	p, err := q.values(service, action, all)
	if err != nil {
		return nil, err
	}
	var out []json.RawMessage
	err = pages(ctx, u, service, action, p, func(body json.RawMessage) (page, error) {
		var b map[string]json.RawMessage
		if err := json.Unmarshal(body, &b); err != nil {
			return page{}, err
		}
		list, ok := b[key]
		if !ok || bytes.Equal(list, []byte("null")) {
			return page{}, fmt.Errorf("no %q", key)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(list, &items); err != nil {
			return page{}, fmt.Errorf("%q: %w", key, err)
		}
		out = append(out, items...)
		var pf pageFields
		if err := json.Unmarshal(body, &pf); err != nil {
			return page{}, err
		}
		return pf.page(), nil
	})
	return out, err
}

// Activities reads daily activity (measurev2 getactivity).
func (u *User) Activities(ctx context.Context, q DayQuery) ([]json.RawMessage, error) {
	return u.listed(ctx, serviceMeasureV2, "getactivity", "activities", q, ActivityFields())
}

// Workouts reads workouts (measurev2 getworkouts).
func (u *User) Workouts(ctx context.Context, q DayQuery) ([]json.RawMessage, error) {
	return u.listed(ctx, serviceMeasureV2, "getworkouts", "series", q, WorkoutFields())
}

// SleepSummaries reads nights (sleepv2 getsummary).
func (u *User) SleepSummaries(ctx context.Context, q DayQuery) ([]json.RawMessage, error) {
	return u.listed(ctx, serviceSleepV2, "getsummary", "series", q, SleepSummaryFields())
}

// chunks splits start..end into spans of at most MaxSeriesSpan.
func chunks(start, end time.Time) [][2]time.Time {
	var out [][2]time.Time
	for s := start; s.Before(end); s = s.Add(MaxSeriesSpan) {
		e := s.Add(MaxSeriesSpan)
		if e.After(end) {
			e = end
		}
		out = append(out, [2]time.Time{s, e})
	}
	return out
}

// SleepSeries reads the high-frequency sleep segments (sleepv2 get) of
// start..end, in calls of at most 24 h each; a segment two calls both
// return is kept once. fields nil: all of them.
func (u *User) SleepSeries(ctx context.Context, start, end time.Time, fields []string) ([]json.RawMessage, error) {
	const action = "get"
	if !start.Before(end) {
		return nil, invalid(serviceSleepV2, action, "empty range")
	}
	if fields == nil {
		fields = SleepSeriesFields()
	}
	var out []json.RawMessage
	seen := map[string]bool{}
	for _, ch := range chunks(start, end) {
		p := url.Values{"startdate": {epoch(ch[0])}, "enddate": {epoch(ch[1])}, "data_fields": {strings.Join(fields, ",")}}
		body, err := u.c.do(ctx, call{service: serviceSleepV2, action: action, params: p, auth: u.auth})
		if err != nil {
			return out, err
		}
		var b struct {
			Series *[]json.RawMessage `json:"series"`
		}
		if err := json.Unmarshal(body, &b); err != nil || b.Series == nil {
			return out, shapeError(serviceSleepV2, action, err, "series")
		}
		for _, s := range *b.Series {
			var seg struct {
				Start json.Number `json:"startdate"`
			}
			if err := json.Unmarshal(s, &seg); err != nil || seg.Start == "" {
				return out, shapeError(serviceSleepV2, action, err, "series[].startdate")
			}
			if seen[seg.Start.String()] {
				continue
			}
			seen[seg.Start.String()] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// Intraday reads intraday activity (measurev2 getintradayactivity) of
// start..end, in calls of at most 24 h each: the series keyed by epoch
// second, merged. fields nil: all of them.
func (u *User) Intraday(ctx context.Context, start, end time.Time, fields []string) (map[string]json.RawMessage, error) {
	const action = "getintradayactivity"
	if !start.Before(end) {
		return nil, invalid(serviceMeasureV2, action, "empty range")
	}
	if fields == nil {
		fields = IntradayFields()
	}
	out := map[string]json.RawMessage{}
	for _, ch := range chunks(start, end) {
		p := url.Values{"startdate": {epoch(ch[0])}, "enddate": {epoch(ch[1])}, "data_fields": {strings.Join(fields, ",")}}
		body, err := u.c.do(ctx, call{service: serviceMeasureV2, action: action, params: p, auth: u.auth})
		if err != nil {
			return out, err
		}
		var b struct {
			Series json.RawMessage `json:"series"`
		}
		if err := json.Unmarshal(body, &b); err != nil || len(b.Series) == 0 {
			return out, shapeError(serviceMeasureV2, action, err, "series")
		}
		// An empty series comes as [] rather than {}.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b.Series, &m); err != nil {
			var empty []json.RawMessage
			if json.Unmarshal(b.Series, &empty) != nil || len(empty) != 0 {
				return out, shapeError(serviceMeasureV2, action, err, "series")
			}
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// Devices reads the user's devices (userv2 getdevice).
func (u *User) Devices(ctx context.Context) ([]json.RawMessage, error) {
	const action = "getdevice"
	body, err := u.c.do(ctx, call{service: serviceUserV2, action: action, auth: u.auth})
	if err != nil {
		return nil, err
	}
	var b struct {
		Devices *[]json.RawMessage `json:"devices"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Devices == nil {
		return nil, shapeError(serviceUserV2, action, err, "devices")
	}
	return *b.Devices, nil
}

// Subscription is one notification subscription of a user.
type Subscription struct {
	Appli       int    `json:"appli"`
	CallbackURL string `json:"callbackurl"`
	Expires     int64  `json:"expires"`
	Comment     string `json:"comment"`
}

// Subscribe subscribes callbackURL to one category (notify subscribe).
func (u *User) Subscribe(ctx context.Context, callbackURL string, appli int, comment string) error {
	p := url.Values{"callbackurl": {callbackURL}, "appli": {strconv.Itoa(appli)}}
	if comment != "" {
		p.Set("comment", comment)
	}
	_, err := u.c.do(ctx, call{service: serviceNotify, action: "subscribe", params: p, auth: u.auth})
	return err
}

// Subscriptions lists the user's subscriptions (notify list); appli 0
// lists every category.
func (u *User) Subscriptions(ctx context.Context, appli int) ([]Subscription, error) {
	p := url.Values{}
	if appli != 0 {
		p.Set("appli", strconv.Itoa(appli))
	}
	body, err := u.c.do(ctx, call{service: serviceNotify, action: "list", params: p, auth: u.auth})
	if err != nil {
		return nil, err
	}
	var b struct {
		Profiles *[]Subscription `json:"profiles"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Profiles == nil {
		return nil, shapeError(serviceNotify, "list", err, "profiles")
	}
	return *b.Profiles, nil
}

// Subscription reads one subscription (notify get).
func (u *User) Subscription(ctx context.Context, callbackURL string, appli int) (Subscription, error) {
	p := url.Values{"callbackurl": {callbackURL}, "appli": {strconv.Itoa(appli)}}
	body, err := u.c.do(ctx, call{service: serviceNotify, action: "get", params: p, auth: u.auth})
	if err != nil {
		return Subscription{}, err
	}
	var s Subscription
	if err := json.Unmarshal(body, &s); err != nil {
		return Subscription{}, shapeError(serviceNotify, "get", err, "body")
	}
	if s.Appli == 0 {
		s.Appli = appli
	}
	if s.CallbackURL == "" {
		s.CallbackURL = callbackURL
	}
	return s, nil
}

// Unsubscribe revokes one subscription (notify revoke).
func (u *User) Unsubscribe(ctx context.Context, callbackURL string, appli int) error {
	p := url.Values{"callbackurl": {callbackURL}, "appli": {strconv.Itoa(appli)}}
	_, err := u.c.do(ctx, call{service: serviceNotify, action: "revoke", params: p, auth: u.auth})
	return err
}

// page is where paging goes on.
type page struct {
	more   bool
	offset int64
}

// pageFields are the paging fields of a body: more is 0/1 or a boolean.
type pageFields struct {
	More   json.RawMessage `json:"more"`
	Offset json.Number     `json:"offset"`
}

func (f pageFields) page() page {
	m := strings.TrimSpace(string(f.More))
	p := page{more: m == "true" || (m != "" && m != "false" && m != "0" && m != "null")}
	p.offset, _ = f.Offset.Int64()
	return p
}

// pages follows offset/more to the last page; read takes each body.
func pages(ctx context.Context, u *User, service, action string, params url.Values, read func(json.RawMessage) (page, error)) error {
	var last int64 = -1
	for n := 0; ; n++ {
		if n >= maxPages {
			return &Error{Kind: provider.KindServer, Service: service, Action: action, Detail: "too many pages"}
		}
		body, err := u.c.do(ctx, call{service: service, action: action, params: params, auth: u.auth})
		if err != nil {
			return err
		}
		pg, err := read(body)
		if err != nil {
			return shapeError(service, action, err, "body")
		}
		if !pg.more {
			return nil
		}
		// An offset that does not move on would loop for ever.
		if pg.offset <= last || pg.offset <= 0 {
			return &Error{Kind: provider.KindServer, Service: service, Action: action, Detail: fmt.Sprintf("more without a new offset (%d)", pg.offset)}
		}
		last = pg.offset
		next := url.Values{}
		for k, v := range params {
			next[k] = v
		}
		next.Set("offset", strconv.FormatInt(pg.offset, 10))
		params = next
	}
}

// shapeError is a status-0 answer whose body is not what the action
// returns: well-formed, so a retry would not help.
func shapeError(service, action string, err error, what string) error {
	if err == nil {
		err = fmt.Errorf("no %s", what)
	}
	return &Error{Kind: provider.KindServer, Service: service, Action: action, Detail: "unexpected answer", Err: err}
}

func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
