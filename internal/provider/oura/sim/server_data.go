package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/simkit"
)

var collectionsByName = func() map[string]oura.Collection {
	m := map[string]oura.Collection{}
	for _, c := range oura.Collections() {
		m[c.Name] = c
	}
	return m
}()

// listEntry is one document of a list route with the keys it is filtered and
// ordered on.
type listEntry struct {
	id  string
	day oura.Date
	at  time.Time // the instant compared by instant and date-time filters
	doc any
}

func parseInstant(s oura.DateTime) time.Time {
	t, err := s.Time()
	if err != nil {
		return time.Time{}
	}
	return t
}

func unixMillis(ts oura.DateTime) *int64 {
	t := parseInstant(ts)
	if t.IsZero() {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

// entriesOf lists the documents of one collection in one day, ascending.
// The published document requires timestamp_unix on time-series rows, so it
// is filled in from timestamp when the row lacks it.
func entriesOf(coll string, d *Day) []listEntry {
	if d == nil {
		return nil
	}
	var es []listEntry
	add := func(id string, day oura.Date, at oura.DateTime, doc any) {
		es = append(es, listEntry{id: id, day: day, at: parseInstant(at), doc: doc})
	}
	switch coll {
	case oura.CollDailyActivity:
		if v := d.DailyActivity; v != nil {
			add(v.ID, v.Day, v.Timestamp, v)
		}
	case oura.CollDailyCardiovascularAge:
		if v := d.DailyCardiovascularAge; v != nil {
			add(v.ID, v.Day, "", v)
		}
	case oura.CollDailyReadiness:
		if v := d.DailyReadiness; v != nil {
			add(v.ID, v.Day, v.Timestamp, v)
		}
	case oura.CollDailyResilience:
		if v := d.DailyResilience; v != nil {
			add(v.ID, v.Day, "", v)
		}
	case oura.CollDailySleep:
		if v := d.DailySleep; v != nil {
			add(v.ID, v.Day, v.Timestamp, v)
		}
	case oura.CollDailySpO2:
		if v := d.DailySpO2; v != nil {
			add(v.ID, v.Day, "", v)
		}
	case oura.CollDailyStress:
		if v := d.DailyStress; v != nil {
			add(v.ID, v.Day, "", v)
		}
	case oura.CollVO2Max:
		if v := d.VO2Max; v != nil {
			add(v.ID, v.Day, v.Timestamp, v)
		}
	case oura.CollSleepTime:
		if v := d.SleepTime; v != nil {
			add(v.ID, v.Day, "", v)
		}
	case oura.CollSleep:
		for i := range d.Sleep {
			v := &d.Sleep[i]
			add(v.ID, v.Day, v.BedtimeStart, v)
		}
	case oura.CollWorkout:
		for i := range d.Workouts {
			v := &d.Workouts[i]
			add(v.ID, v.Day, v.StartDatetime, v)
		}
	case oura.CollSession:
		for i := range d.Sessions {
			v := &d.Sessions[i]
			add(v.ID, v.Day, v.StartDatetime, v)
		}
	case oura.CollTag:
		for i := range d.Tags {
			v := &d.Tags[i]
			add(v.ID, v.Day, v.Timestamp, v)
		}
	case oura.CollEnhancedTag:
		for i := range d.EnhancedTags {
			v := &d.EnhancedTags[i]
			add(v.ID, v.StartDay, v.StartTime, v)
		}
	case oura.CollRestModePeriod:
		for i := range d.RestModePeriods {
			v := &d.RestModePeriods[i]
			var at oura.DateTime
			if v.StartTime != nil {
				at = *v.StartTime
			}
			add(v.ID, v.StartDay, at, v)
		}
	case oura.CollHeartRate:
		es = make([]listEntry, 0, len(d.HeartRate))
		for _, v := range d.HeartRate {
			if v.TimestampUnix == nil {
				v.TimestampUnix = unixMillis(v.Timestamp)
			}
			add("", d.Date, v.Timestamp, v)
		}
	case oura.CollInterbeatInterval:
		es = make([]listEntry, 0, len(d.Interbeat))
		for _, v := range d.Interbeat {
			add("", d.Date, v.Timestamp, v)
		}
	case oura.CollRingBatteryLevel:
		es = make([]listEntry, 0, len(d.Battery))
		for _, v := range d.Battery {
			if v.TimestampUnix == nil {
				v.TimestampUnix = unixMillis(v.Timestamp)
			}
			add("", d.Date, v.Timestamp, v)
		}
	}
	// Several documents of one day come out in time order.
	sort.SliceStable(es, func(i, j int) bool { return es[i].at.Before(es[j].at) })
	return es
}

// dateWindow is a resolved date filter (see oura.FilterKind).
type dateWindow struct {
	Kind     oura.FilterKind `json:"k"`
	StartDay oura.Date       `json:"sd,omitempty"`
	EndDay   oura.Date       `json:"ed,omitempty"`
	Start    time.Time       `json:"s"`
	End      time.Time       `json:"e"`
	// EndExclusive makes every kind end-exclusive (the sandbox).
	EndExclusive bool `json:"x,omitempty"`
}

func (w dateWindow) match(e listEntry) bool {
	switch w.Kind {
	case oura.FilterDay:
		if e.day < w.StartDay {
			return false
		}
		if w.EndExclusive {
			return e.day < w.EndDay
		}
		return e.day <= w.EndDay
	case oura.FilterInstantInclusive, oura.FilterInstantExclusive, oura.FilterDateTime:
		if e.at.IsZero() || e.at.Before(w.Start) {
			return false
		}
		if w.EndExclusive || w.Kind != oura.FilterInstantInclusive {
			return e.at.Before(w.End)
		}
		return !e.at.After(w.End)
	}
	return true
}

// scanDays is the range of local days whose documents can match: two days of
// margin either side covers nights that start the evening before and any
// time-zone offset.
func (w dateWindow) scanDays() (from, to oura.Date) {
	switch w.Kind {
	case oura.FilterDay:
		return shiftDate(w.StartDay, -2), shiftDate(w.EndDay, 2)
	case oura.FilterNone:
		return "0001-01-01", "9999-12-31"
	}
	return dateOfTime(w.Start.UTC().AddDate(0, 0, -2)), dateOfTime(w.End.UTC().AddDate(0, 0, 2))
}

func dateOfTime(t time.Time) oura.Date {
	if t.Year() < 1 {
		return "0001-01-01"
	}
	if t.Year() > 9999 {
		return "9999-12-31"
	}
	return oura.Date(t.Format(time.DateOnly))
}

func shiftDate(d oura.Date, n int) oura.Date {
	t, err := d.Time()
	if err != nil {
		return d
	}
	return dateOfTime(t.AddDate(0, 0, n))
}

// pageCursor is what an opaque next_token carries: the request's resolved filter
// and where the next page starts.
type pageCursor struct {
	User    int        `json:"u"`
	Sandbox bool       `json:"sb,omitempty"`
	Coll    string     `json:"c"`
	Win     dateWindow `json:"w"`
	Day     string     `json:"d"`
	Offset  int        `json:"o"`
}

func (s *Server) encodeCursor(c pageCursor) string {
	payload, _ := json.Marshal(c)
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(append(payload, m.Sum(nil)[:16]...))
}

func (s *Server) decodeCursor(tok string) (pageCursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) <= 16 {
		return pageCursor{}, false
	}
	payload, sig := raw[:len(raw)-16], raw[len(raw)-16:]
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	if !hmac.Equal(sig, m.Sum(nil)[:16]) {
		return pageCursor{}, false
	}
	var c pageCursor
	if err := json.Unmarshal(payload, &c); err != nil {
		return pageCursor{}, false
	}
	return c, true
}

// dataRequest is an authorised request for one user's collection.
type dataRequest struct {
	world   *World
	user    *User
	index   int // user index, -1 in the sandbox
	coll    oura.Collection
	sandbox bool
	token   *accessToken // nil in the sandbox
}

// authorizeData checks the bearer token, the rate limits and the scope in
// that order, writing the error response when one fails.
func (s *Server) authorizeData(w http.ResponseWriter, r *http.Request, sandbox bool) (*dataRequest, bool) {
	name := r.PathValue("collection")
	coll, ok := collectionsByName[name]
	if !ok || (sandbox && !coll.Sandbox) {
		writeDetail(w, http.StatusNotFound, "Not Found")
		return nil, false
	}
	tok := simkit.BearerToken(r)
	if tok == "" {
		writeDetail(w, http.StatusUnauthorized, "Not authenticated")
		return nil, false
	}
	if sandbox {
		// Any bearer string opens the sandbox; it shares the application limit.
		if d, ok := s.limiter.allow("sandbox:"+tok, s.cfg.ClientID, s.clock.Real()); !ok {
			writeTooManyRequests(w, d)
			return nil, false
		}
		us := s.sandbox.Users()
		return &dataRequest{world: s.sandbox, user: us[0], index: -1, coll: coll, sandbox: true}, true
	}
	at, err := s.auth.lookupAccess(tok)
	if err != nil {
		writeDetail(w, http.StatusUnauthorized, err.Error())
		return nil, false
	}
	if d, ok := s.limiter.userLimited(at.user, s.cfg.TokenRateLimit, s.clock.Real()); ok {
		writeTooManyRequests(w, d)
		return nil, false
	}
	if d, ok := s.limiter.allow(tok, s.cfg.ClientID, s.clock.Real()); !ok {
		writeTooManyRequests(w, d)
		return nil, false
	}
	if coll.Name != oura.CollPersonalInfo && !hasCollectionScope(at.scopes, coll) {
		writeDetail(w, http.StatusUnauthorized, "Missing required scopes: "+strings.Join(requiredScopes(coll), " or "))
		return nil, false
	}
	u := s.userByIndex(at.user)
	if u == nil {
		writeDetail(w, http.StatusUnauthorized, "Invalid access token.")
		return nil, false
	}
	if s.refuseData(w, at.user) {
		return nil, false
	}
	return &dataRequest{world: s.world, user: u, index: at.user, coll: coll, token: at}, true
}

// requiredScopes lists the scopes any one of which opens coll. daily_spo2
// takes the scope under both its names.
func requiredScopes(c oura.Collection) []string {
	if c.Name == oura.CollDailySpO2 {
		return []string{"spo2", "spo2Daily"}
	}
	return []string{c.Scope}
}

func hasCollectionScope(have map[string]bool, c oura.Collection) bool {
	if c.Scope == "" {
		return true
	}
	for _, sc := range requiredScopes(c) {
		if have[sc] {
			return true
		}
	}
	return false
}

func (s *Server) handleSingle(w http.ResponseWriter, r *http.Request) {
	sandbox := strings.HasPrefix(r.URL.Path, "/v2/sandbox/")
	if c, ok := collectionsByName[r.PathValue("collection")]; !ok || !c.Single {
		writeDetail(w, http.StatusNotFound, "Not Found")
		return
	}
	dr, ok := s.authorizeData(w, r, sandbox)
	if !ok {
		return
	}
	id := r.PathValue("id")
	doc, found := dr.world.Lookup(dr.user, dr.coll.Name, id)
	if !found && dr.coll.Name == oura.CollRingConfiguration {
		for _, rc := range dr.world.RingConfigurations(dr.user) {
			if rc.ID == id {
				doc, found = rc, true
			}
		}
	}
	if !found {
		writeDetail(w, http.StatusNotFound, "Document not found.")
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	sandbox := strings.HasPrefix(r.URL.Path, "/v2/sandbox/")
	dr, ok := s.authorizeData(w, r, sandbox)
	if !ok {
		return
	}
	q := r.URL.Query()
	if dr.coll.Range == oura.RangeSingleton {
		s.writePersonalInfo(w, dr)
		return
	}
	var fields []string
	if !sandbox {
		fields = splitFields(q.Get("fields"))
	}

	pageSize := s.cfg.PageSize
	if dr.coll.Range == oura.RangeDateTime {
		pageSize = s.cfg.TimeSeriesPageSize
	}

	if dr.coll.Range == oura.RangeNone {
		s.writeRings(w, dr, q.Get("next_token"), pageSize, fields)
		return
	}

	var cur pageCursor
	if nt := q.Get("next_token"); nt != "" {
		// A next_token carries the original range: date parameters sent
		// alongside it are ignored.
		c, ok := s.decodeCursor(nt)
		if !ok || c.User != dr.index || c.Sandbox != sandbox || c.Coll != dr.coll.Name {
			writeValidation(w, []validationError{{Loc: []any{"query", "next_token"}, Msg: "Invalid next_token.", Type: "value_error", Input: nt}})
			return
		}
		cur = c
	} else {
		win, latest, errs := s.resolveWindow(q, dr)
		if len(errs) > 0 {
			writeValidation(w, errs)
			return
		}
		if latest {
			s.writeLatest(w, dr, win, fields)
			return
		}
		from, _ := win.scanDays()
		cur = pageCursor{User: dr.index, Sandbox: sandbox, Coll: dr.coll.Name, Win: win, Day: string(from)}
	}

	items, next := s.page(dr, cur, pageSize)
	var nextTok *string
	if next != nil {
		t := s.encodeCursor(*next)
		nextTok = &t
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": projectFields(items, fields), "next_token": nextTok})
}

// page collects up to size documents from cur on, and the cursor of the
// following page when more documents match.
func (s *Server) page(dr *dataRequest, cur pageCursor, size int) ([]listEntry, *pageCursor) {
	from, to := cur.Win.scanDays()
	if hs := dr.world.HistoryStart(); from < hs {
		from = hs
	}
	if last := dr.world.LastDay(dr.user); to > last {
		to = last
	}
	day := oura.Date(cur.Day)
	offset := cur.Offset
	if day < from {
		day, offset = from, 0
	}
	var items []listEntry
	for ; day <= to; day, offset = shiftDate(day, 1), 0 {
		es := entriesOf(dr.coll.Name, dr.world.Day(dr.user, day))
		n := 0
		for _, e := range es {
			if !cur.Win.match(e) {
				continue
			}
			if n >= offset {
				if len(items) == size {
					next := cur
					next.Day, next.Offset = string(day), n
					return items, &next
				}
				items = append(items, e)
			}
			n++
		}
		if day == "9999-12-31" {
			break
		}
	}
	return items, nil
}

// writeLatest answers latest=true: the newest row in the window.
func (s *Server) writeLatest(w http.ResponseWriter, dr *dataRequest, win dateWindow, fields []string) {
	from, to := win.scanDays()
	if hs := dr.world.HistoryStart(); from < hs {
		from = hs
	}
	if last := dr.world.LastDay(dr.user); to > last {
		to = last
	}
	var found []listEntry
	for day := to; day >= from && len(found) == 0; day = shiftDate(day, -1) {
		es := entriesOf(dr.coll.Name, dr.world.Day(dr.user, day))
		for i := len(es) - 1; i >= 0; i-- {
			if win.match(es[i]) {
				found = append(found, es[i])
				break
			}
		}
		if day == "0001-01-01" {
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": projectFields(found, fields), "next_token": nil})
}

func (s *Server) writeRings(w http.ResponseWriter, dr *dataRequest, nt string, size int, fields []string) {
	offset := 0
	if nt != "" {
		c, ok := s.decodeCursor(nt)
		if !ok || c.User != dr.index || c.Sandbox != dr.sandbox || c.Coll != dr.coll.Name {
			writeValidation(w, []validationError{{Loc: []any{"query", "next_token"}, Msg: "Invalid next_token.", Type: "value_error", Input: nt}})
			return
		}
		offset = c.Offset
	}
	rings := dr.world.RingConfigurations(dr.user)
	var items []listEntry
	var nextTok *string
	for i := offset; i < len(rings); i++ {
		if len(items) == size {
			t := s.encodeCursor(pageCursor{User: dr.index, Sandbox: dr.sandbox, Coll: dr.coll.Name, Win: dateWindow{Kind: oura.FilterNone}, Offset: i})
			nextTok = &t
			break
		}
		items = append(items, listEntry{id: rings[i].ID, doc: rings[i]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": projectFields(items, fields), "next_token": nextTok})
}

// writePersonalInfo serves personal_info: id needs no scope, the body
// fields need "personal", the email "email".
func (s *Server) writePersonalInfo(w http.ResponseWriter, dr *dataRequest) {
	pi := dr.world.PersonalInfo(dr.user)
	if !dr.token.scopes["personal"] {
		pi.Age, pi.Weight, pi.Height, pi.BiologicalSex = nil, nil, nil, nil
	}
	if !dr.token.scopes["email"] {
		pi.Email = nil
	}
	writeJSON(w, http.StatusOK, pi)
}

func splitFields(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

var anchorFields = []string{"id", "timestamp", "bedtime_start"}

// project applies a fields selection. Unknown names are ignored; when no
// requested name exists the documents are returned whole.
func projectFields(items []listEntry, fields []string) []any {
	out := make([]any, len(items))
	if len(fields) == 0 {
		for i, e := range items {
			out[i] = e.doc
		}
		return out
	}
	maps := make([]map[string]json.RawMessage, len(items))
	known := map[string]bool{}
	for i, e := range items {
		b, _ := json.Marshal(e.doc)
		_ = json.Unmarshal(b, &maps[i])
		for k := range maps[i] {
			known[k] = true
		}
	}
	keep := map[string]bool{}
	for _, f := range fields {
		if known[f] {
			keep[f] = true
		}
	}
	if len(keep) == 0 {
		for i, e := range items {
			out[i] = e.doc
		}
		return out
	}
	for _, a := range anchorFields {
		keep[a] = true
	}
	for i, m := range maps {
		for k := range m {
			if !keep[k] {
				delete(m, k)
			}
		}
		out[i] = m
	}
	return out
}

var epochRe = regexp.MustCompile(`^[+-]?\d+$`)

// parsedParam is a start/end query value: a plain date or an instant.
type parsedParam struct {
	isDate bool
	date   oura.Date
	t      time.Time
}

// day is the calendar day of the value (a datetime's own offset decides).
func (p parsedParam) day() oura.Date {
	if p.isDate {
		return p.date
	}
	return dateOfTime(p.t)
}

// instant is the value as an instant; a plain date is its midnight UTC.
func (p parsedParam) instant() time.Time {
	if p.isDate {
		t, _ := p.date.Time()
		return t
	}
	return p.t
}

// parseParam accepts what the live API accepts: a date, a date-time (with or
// without offset; without one it is UTC) or an integer of epoch seconds (or
// milliseconds when large, as the live API's parser does).
func parseParam(v string) (parsedParam, bool) {
	if epochRe.MatchString(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return parsedParam{}, false
		}
		if n > 2e10 || n < -2e10 {
			return parsedParam{t: time.UnixMilli(n).UTC()}, true
		}
		return parsedParam{t: time.Unix(n, 0).UTC()}, true
	}
	if len(v) == 10 {
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return parsedParam{isDate: true, date: oura.Date(t.Format(time.DateOnly))}, true
		}
		return parsedParam{}, false
	}
	v = strings.Replace(v, " ", "T", 1)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return parsedParam{t: t}, true
		}
	}
	return parsedParam{}, false
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "1", "true", "t", "yes", "y", "on":
		return true, true
	case "0", "false", "f", "no", "n", "off":
		return false, true
	}
	return false, false
}

// resolveWindow turns the query's range parameters into a filter, applying
// the defaults of the live API: yesterday to today (user's local days) for
// date routes, the last 24 hours for time series.
func (s *Server) resolveWindow(q map[string][]string, dr *dataRequest) (dateWindow, bool, []validationError) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var errs []validationError
	parse := func(name string, dateTimeOnly bool) *parsedParam {
		v := get(name)
		if v == "" {
			return nil
		}
		p, ok := parseParam(v)
		if !ok {
			msg, typ := "Input should be a valid date or datetime, invalid character in year", "date_from_datetime_parsing"
			if dateTimeOnly {
				msg, typ = "Input should be a valid datetime, invalid date separator", "datetime_from_date_parsing"
			}
			errs = append(errs, validationError{Loc: []any{"query", name}, Msg: msg, Type: typ, Input: v})
			return nil
		}
		return &p
	}
	now := s.clock.Now()
	if dr.sandbox {
		now = sandboxNow(dr.world, dr.user)
	}

	if dr.coll.Range == oura.RangeDateTime {
		st, en := parse("start_datetime", true), parse("end_datetime", true)
		latest := false
		if v := get("latest"); v != "" {
			b, ok := parseBool(v)
			if !ok {
				errs = append(errs, validationError{Loc: []any{"query", "latest"}, Msg: "Input should be a valid boolean, unable to interpret input", Type: "bool_parsing", Input: v})
			}
			latest = b
		}
		if len(errs) > 0 {
			return dateWindow{}, false, errs
		}
		win := dateWindow{Kind: oura.FilterDateTime, EndExclusive: dr.sandbox}
		switch {
		case latest && st == nil && en == nil:
			win.Start, win.End = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), now.Add(time.Nanosecond)
		default:
			win.End = now
			if en != nil {
				win.End = en.instant()
			}
			win.Start = win.End.Add(-24 * time.Hour)
			if st != nil {
				win.Start = st.instant()
			}
		}
		return win, latest, nil
	}

	st, en := parse("start_date", false), parse("end_date", false)
	if len(errs) > 0 {
		return dateWindow{}, false, errs
	}
	loc := dr.user.Location
	if loc == nil {
		loc = time.UTC
	}
	today := parsedParam{isDate: true, date: dateOfTime(now.In(loc))}
	if en == nil {
		en = &today
	}
	if st == nil {
		p := parsedParam{isDate: true, date: shiftDate(en.day(), -1)}
		st = &p
	}
	win := dateWindow{Kind: dr.coll.Filter, EndExclusive: dr.sandbox}
	switch win.Kind {
	case oura.FilterDay:
		win.StartDay, win.EndDay = st.day(), en.day()
	default:
		win.Start, win.End = st.instant(), en.instant()
	}
	return win, false, nil
}

// sandboxNow is the end of the sandbox user's data: its clock does not move.
func sandboxNow(w *World, u *User) time.Time {
	t, err := shiftDate(w.LastDay(u), 1).Time()
	if err != nil {
		return time.Now()
	}
	return t
}
