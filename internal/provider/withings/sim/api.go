package sim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// epochParam reads an optional epoch-seconds (or any integer) parameter.
func epochParam(f url.Values, name string) (v int64, present bool, okay bool) {
	raw := f.Get(name)
	if raw == "" {
		return 0, false, true
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	return v, true, err == nil
}

// offsetParam reads offset, 0 when absent.
func offsetParam(f url.Values) (int, bool) {
	v, _, good := epochParam(f, "offset")
	return int(v), good && v >= 0 && v < 1<<31
}

// page cuts list[offset:] to size and says whether more follows and the
// offset to pass back for it (0 when none).
func page[T any](list []T, offset, size int) (items []T, more bool, next int) {
	if offset >= len(list) {
		return []T{}, false, 0
	}
	end := min(len(list), offset+size)
	if end < len(list) {
		return list[offset:end], true, end
	}
	return list[offset:end], false, 0
}

// fieldList splits data_fields; nil when absent.
func fieldList(f url.Values) []string {
	raw := f.Get("data_fields")
	if raw == "" {
		return nil
	}
	var out []string
	for _, x := range strings.Split(raw, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) getmeas(w http.ResponseWriter, r *http.Request, g *grant) {
	f := r.Form
	u := s.world.user(g.user)
	now := s.now()
	var types []int
	for _, name := range []string{"meastype", "meastypes"} {
		if raw := f.Get(name); raw != "" {
			for _, x := range strings.Split(raw, ",") {
				t, err := strconv.Atoi(strings.TrimSpace(x))
				if err != nil {
					invalid(w, name)
					return
				}
				types = append(types, t)
			}
		}
	}
	category := 0
	if raw := f.Get("category"); raw != "" {
		if raw != "1" && raw != "2" {
			invalid(w, "category")
			return
		}
		category, _ = strconv.Atoi(raw)
	}
	start, hasStart, ok1 := epochParam(f, "startdate")
	end, hasEnd, ok2 := epochParam(f, "enddate")
	last, hasLast, ok3 := epochParam(f, "lastupdate")
	offset, ok4 := offsetParam(f)
	switch {
	case !ok1 || !ok2 || !ok3 || !ok4:
		invalid(w, "startdate, enddate, lastupdate and offset are integers")
		return
	case hasLast && (hasStart || hasEnd):
		invalid(w, "lastupdate cannot be used with startdate or enddate")
		return
	case hasStart && hasEnd && end < start:
		invalid(w, "enddate before startdate")
		return
	}
	var out []MeasureGroup
	for _, grp := range s.world.measures(u, now) {
		switch {
		case category != 0 && grp.Category != category,
			hasStart && grp.Date < start, hasEnd && grp.Date > end,
			hasLast && grp.Modified < last:
			continue
		}
		if types != nil {
			var ms []Measure
			for _, m := range grp.Measures {
				if slices.Contains(types, m.Type) {
					ms = append(ms, m)
				}
			}
			if ms == nil {
				continue
			}
			grp.Measures = ms
		}
		out = append(out, grp)
	}
	items, more, next := page(out, offset, s.cfg.PageSize)
	writeJSON(w, ok(map[string]any{"updatetime": now.Unix(), "timezone": u.Timezone, "measuregrps": items, "more": b2i(more), "offset": next}))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dayWindow reads the choice between a startdateymd/enddateymd range and
// lastupdate: exactly one of the two.
type dayWindow struct {
	from, to int // day numbers, inclusive
	last     int64
	byUpdate bool
}

func parseDayWindow(f url.Values) (dayWindow, string) {
	sy, ey := f.Get("startdateymd"), f.Get("enddateymd")
	last, hasLast, good := epochParam(f, "lastupdate")
	switch {
	case !good:
		return dayWindow{}, "lastupdate"
	case hasLast && (sy != "" || ey != ""):
		return dayWindow{}, "startdateymd and enddateymd cannot be used with lastupdate"
	case hasLast:
		return dayWindow{last: last, byUpdate: true}, ""
	case sy == "" || ey == "":
		return dayWindow{}, "startdateymd and enddateymd, or lastupdate, are required"
	}
	from, ok1 := parseYMD(sy)
	to, ok2 := parseYMD(ey)
	if !ok1 || !ok2 || to < from {
		return dayWindow{}, "startdateymd and enddateymd are dates, YYYY-MM-DD, in order"
	}
	return dayWindow{from: from, to: to}, ""
}

func (d dayWindow) keeps(date string, modified int64) bool {
	if d.byUpdate {
		return modified >= d.last
	}
	n, _ := parseYMD(date)
	return n >= d.from && n <= d.to
}

// activityMetrics are the getactivity fields data_fields chooses among;
// the others always come.
var activityMetrics = []string{"steps", "distance", "elevation", "soft", "moderate", "intense", "active", "calories", "totalcalories", "hr_average", "hr_min", "hr_max", "hr_zone_0", "hr_zone_1", "hr_zone_2", "hr_zone_3"}

// keepFields drops from m the keys among choosable that fields does not
// name; nil fields keeps all.
func keepFields(v any, choosable, fields []string) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if fields != nil {
		for _, k := range choosable {
			if !slices.Contains(fields, k) {
				delete(m, k)
			}
		}
	}
	return m
}

func (s *Server) getactivity(w http.ResponseWriter, r *http.Request, g *grant) {
	win, bad := parseDayWindow(r.Form)
	offset, good := offsetParam(r.Form)
	if bad != "" || !good {
		invalid(w, bad+" offset")
		return
	}
	u := s.world.user(g.user)
	fields := fieldList(r.Form)
	var out []map[string]any
	for _, a := range s.world.activities(u, s.now()) {
		if win.keeps(a.Date, a.Modified) {
			out = append(out, keepFields(a, activityMetrics, fields))
		}
	}
	items, more, next := page(out, offset, s.cfg.PageSize)
	writeJSON(w, ok(map[string]any{"activities": items, "more": more, "offset": next}))
}

var workoutMetrics = []string{"calories", "intensity", "hr_average", "hr_min", "hr_max", "hr_zone_0", "hr_zone_1", "hr_zone_2", "hr_zone_3", "pause_duration", "steps", "distance", "elevation", "spo2_average"}

func (s *Server) getworkouts(w http.ResponseWriter, r *http.Request, g *grant) {
	win, bad := parseDayWindow(r.Form)
	offset, good := offsetParam(r.Form)
	if bad != "" || !good {
		invalid(w, bad+" offset")
		return
	}
	u := s.world.user(g.user)
	fields := fieldList(r.Form)
	var out []map[string]any
	for _, wo := range s.world.workouts(u, s.now()) {
		if win.keeps(wo.Date, wo.Modified) {
			m := keepFields(wo, nil, nil)
			m["data"] = keepFields(wo.Data, workoutMetrics, fields)
			out = append(out, m)
		}
	}
	items, more, next := page(out, offset, s.cfg.PageSize)
	writeJSON(w, ok(map[string]any{"series": items, "more": more, "offset": next}))
}

func (s *Server) sleepSummary(w http.ResponseWriter, r *http.Request, g *grant) {
	win, bad := parseDayWindow(r.Form)
	offset, good := offsetParam(r.Form)
	if bad != "" || !good {
		invalid(w, bad+" offset")
		return
	}
	u := s.world.user(g.user)
	fields := fieldList(r.Form)
	var out []SleepSummary
	for _, nt := range s.world.nights(u, s.now()) {
		if win.keeps(nt.date, nt.created) {
			out = append(out, nt.summary(fields, u.sleep))
		}
	}
	items, more, next := page(out, offset, s.cfg.PageSize)
	writeJSON(w, ok(map[string]any{"series": items, "more": more, "offset": next}))
}

// maxSeriesWindow is the most a high-frequency call covers: past it only
// the first 24 h after startdate come back, as Withings documents.
const maxSeriesWindow = 24 * time.Hour

func (s *Server) sleepGet(w http.ResponseWriter, r *http.Request, g *grant) {
	f := r.Form
	start, hasStart, ok1 := epochParam(f, "startdate")
	end, hasEnd, ok2 := epochParam(f, "enddate")
	if !ok1 || !ok2 || !hasStart || !hasEnd || end <= start {
		invalid(w, "startdate and enddate are required, in order")
		return
	}
	end = min(end, start+int64(maxSeriesWindow/time.Second))
	u := s.world.user(g.user)
	fields := map[string]bool{}
	for _, x := range fieldList(f) {
		fields[x] = true
	}
	out := []SleepSegment{}
	nights := s.world.nights(u, s.now())
	slices.Reverse(nights) // oldest first, segments in time order
	for _, nt := range nights {
		if nt.start.Unix() >= end || nt.end().Unix() <= start {
			continue
		}
		for _, seg := range nt.segments(fields, u.sleep) {
			if seg.StartDate < end && seg.EndDate > start {
				out = append(out, seg)
			}
		}
	}
	writeJSON(w, ok(map[string]any{"series": out, "model": sleepAnalyzerMod}))
}

func (s *Server) getintraday(w http.ResponseWriter, r *http.Request, g *grant) {
	f := r.Form
	now := s.now()
	start, hasStart, ok1 := epochParam(f, "startdate")
	end, hasEnd, ok2 := epochParam(f, "enddate")
	if !ok1 || !ok2 || hasStart != hasEnd || (hasStart && end <= start) {
		invalid(w, "startdate and enddate go together, in order")
		return
	}
	if !hasStart { // the most recent data
		end, start = now.Unix(), now.Add(-maxSeriesWindow).Unix()
	}
	end = min(end, start+int64(maxSeriesWindow/time.Second))
	u := s.world.user(g.user)
	fields := fieldList(f)
	series := map[string]any{}
	for n := localDay(time.Unix(start, 0), u.loc); n <= localDay(time.Unix(end, 0), u.loc); n++ {
		for _, x := range s.world.intraday(u, n) {
			t := x.at.Unix()
			if t < start || t >= end || t+int64(x.s.Duration) > now.Unix() {
				continue
			}
			series[strconv.FormatInt(t, 10)] = keepFields(x.s, []string{"steps", "elevation", "calories", "distance", "duration", "heart_rate"}, fields)
		}
	}
	writeJSON(w, ok(map[string]any{"series": series}))
}

func (s *Server) getdevice(w http.ResponseWriter, r *http.Request, g *grant) {
	u := s.world.user(g.user)
	writeJSON(w, ok(map[string]any{"devices": s.world.devices(u, s.now())}))
}
