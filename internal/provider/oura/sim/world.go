// Package sim is a faithful local simulator of the Oura API v2: data,
// OAuth, webhooks and the live API's quirks, for tests, the demo and
// benchmarks.
package sim

import (
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// WorldConfig configures the simulated population.
type WorldConfig struct {
	// Seed makes every generated value reproducible.
	Seed int64
	// Users is the number of simulated users (default 3).
	Users int
	// HistoryStart is the first local day with data (default 2022-01-01).
	HistoryStart oura.Date
	// Now is the simulated clock (default time.Now). Each user's visible data
	// initially ends with the last day synced by Now: yesterday from
	// SyncHour local time on, the day before until then.
	Now func() time.Time
	// CacheDays bounds how many generated user-days are kept in memory
	// (default 512, about 50 MB).
	CacheDays int
}

// User is one simulated Oura account.
type User struct {
	Index int
	// OuraID looks like a real personal_info.id (not a UUID).
	OuraID   string
	Email    string
	TimeZone string // IANA name
	Location *time.Location
}

// Day is everything one user's ring produced for one local day D: the night
// that ends on the morning of D (Oura's "day" of a sleep), the naps and rest
// periods of D, D's activity and daily scores, and the samples whose local
// date is D.
type Day struct {
	Date                   oura.Date
	Sleep                  []oura.Sleep
	DailySleep             *oura.DailySleep
	DailyReadiness         *oura.DailyReadiness
	DailyActivity          *oura.DailyActivity
	DailySpO2              *oura.DailySpO2
	DailyStress            *oura.DailyStress
	DailyResilience        *oura.DailyResilience
	DailyCardiovascularAge *oura.DailyCardiovascularAge
	VO2Max                 *oura.VO2Max
	SleepTime              *oura.SleepTime
	Workouts               []oura.Workout
	Sessions               []oura.Session
	Tags                   []oura.Tag
	EnhancedTags           []oura.EnhancedTag
	RestModePeriods        []oura.RestModePeriod    // periods whose start_day is D
	HeartRate              []oura.HeartRate         // samples whose local date is D, ascending
	Interbeat              []oura.InterbeatInterval // rows whose local date is D, ascending
	Battery                []oura.RingBatteryLevel
}

// World is the simulated population: users and their deterministic data.
// It is safe for concurrent use.
//
// Every day of every user is a pure function of (Seed, user index, local
// day), so any date range is cheap to produce and identical in every
// process. The only mutable state is how far each user's data is visible.
//
// Documents returned by Day, Lookup and friends are shared with a cache and
// with other callers: treat them, and everything they point to, as
// read-only.
type World struct {
	cfg      WorldConfig
	users    []*User
	profiles []profile
	startDn  int
	cache    *dayCache

	mu   sync.Mutex
	last []int // per user: newest visible day number
}

// SyncHour is the local hour on the morning after a day D at which D's data
// counts as synced (see RevealUntil). Every simulated night ends by 09:00,
// so by 10:00 the ring has had its morning sync.
const SyncHour = 10

// defaultCacheDays bounds the day cache: about 100 KB per generated day.
const defaultCacheDays = 512

// NewWorld builds the population.
func NewWorld(cfg WorldConfig) *World {
	if cfg.Users <= 0 {
		cfg.Users = 3
	}
	if cfg.HistoryStart == "" {
		cfg.HistoryStart = "2022-01-01"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheDays <= 0 {
		cfg.CacheDays = defaultCacheDays
	}
	startDn, ok := parseDate(cfg.HistoryStart)
	if !ok {
		cfg.HistoryStart = "2022-01-01"
		startDn, _ = parseDate(cfg.HistoryStart)
	}
	w := &World{cfg: cfg, startDn: startDn, cache: newDayCache(cfg.CacheDays)}
	w.profiles = make([]profile, cfg.Users)
	for i := 0; i < cfg.Users; i++ {
		u, p := w.newUser(i)
		w.users = append(w.users, u)
		w.profiles[i] = p
	}
	now := cfg.Now()
	w.last = make([]int, cfg.Users)
	for i, u := range w.users {
		// The last day whose morning sync (SyncHour on the day after, as
		// RevealUntil counts) has passed: yesterday from SyncHour on, the
		// day before until then. Yesterday at any hour would make the next
		// 24 hours reveal nothing when they start before SyncHour.
		last := localDay(u.Location, now.Unix()) - 1
		if localUnix(u.Location, last+1, SyncHour*hh) > now.Unix() {
			last--
		}
		w.last[i] = max(last, startDn-1)
	}
	return w
}

// Users returns every user, by Index.
func (w *World) Users() []*User { return w.users }

// UserByOuraID finds a user by personal_info.id.
func (w *World) UserByOuraID(id string) (*User, bool) {
	for _, u := range w.users {
		if u.OuraID == id {
			return u, true
		}
	}
	return nil, false
}

// HistoryStart is the first day with data.
func (w *World) HistoryStart() oura.Date { return w.cfg.HistoryStart }

// LastDay is the newest local day whose data is visible for u. It is the day
// before HistoryStart when nothing is visible yet.
func (w *World) LastDay(u *User) oura.Date {
	w.mu.Lock()
	defer w.mu.Unlock()
	return dateOf(w.last[u.Index])
}

// RevealNextDay makes the day after LastDay visible and returns it: the new
// night and day that the server then announces by webhook. It may run ahead
// of the clock.
func (w *World) RevealNextDay(u *User) oura.Date {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last[u.Index]++
	return dateOf(w.last[u.Index])
}

// SyncTime is when day d of u counts as synced: SyncHour local time on the
// day after d, once d's activity day (which runs to 04:00) is over and the
// night that follows it has ended.
func (w *World) SyncTime(u *User, d oura.Date) time.Time {
	dn, ok := parseDate(d)
	if !ok {
		return time.Time{}
	}
	return time.Unix(localUnix(u.Location, dn+1, SyncHour*hh), 0).In(u.Location)
}

// RevealUntil reveals every day whose data would have synced by t (SyncTime
// <= t) and returns the days revealed, per user index; users with nothing new
// are absent. Days revealed ahead of the clock by RevealNextDay are not
// revealed twice.
func (w *World) RevealUntil(t time.Time) map[int][]oura.Date {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int][]oura.Date)
	ts := t.Unix()
	for i, u := range w.users {
		for localUnix(u.Location, w.last[i]+2, SyncHour*hh) <= ts {
			w.last[i]++
			out[i] = append(out[i], dateOf(w.last[i]))
		}
	}
	return out
}

func (w *World) visible(u *User, dn int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return dn >= w.startDn && dn <= w.last[u.Index]
}

// Day returns u's data for local day d, generated deterministically from the
// seed. It returns an empty Day outside [HistoryStart, LastDay(u)]. The
// result is shared: do not modify it.
func (w *World) Day(u *User, d oura.Date) *Day {
	dn, ok := parseDate(d)
	if !ok || u == nil || u.Index < 0 || u.Index >= len(w.users) || !w.visible(u, dn) {
		return &Day{Date: d}
	}
	return w.day(u.Index, dn)
}

// day returns the generated day regardless of visibility.
func (w *World) day(u, dn int) *Day {
	k := dayKey{u, dn}
	if d, ok := w.cache.get(k); ok {
		return d
	}
	d := w.generate(u, dn)
	w.cache.put(k, d)
	return d
}

// Lookup finds the document of collection (a path name such as "vO2_max",
// or the webhook data_type) with the given id among u's visible data. The
// value is the model (for example oura.Sleep). ok is false for an unknown,
// another user's or a not yet visible id. The id alone says which day to
// generate; no history is scanned.
func (w *World) Lookup(u *User, collection, id string) (doc any, ok bool) {
	if u == nil || u.Index < 0 || u.Index >= len(w.users) {
		return nil, false
	}
	c, ok := oura.LookupCollection(collection)
	if !ok {
		return nil, false
	}
	code, ok := idCodes[c.Name]
	if !ok {
		return nil, false
	}
	a, ok := w.decodeID(u.Index, id)
	if !ok || a.coll != code {
		return nil, false
	}
	if code == idRingConfiguration {
		rings := w.RingConfigurations(u)
		if a.dn != 0 || a.item >= len(rings) {
			return nil, false
		}
		return rings[a.item], true
	}
	if !w.visible(u, a.dn) {
		return nil, false
	}
	day := w.day(u.Index, a.dn)
	doc, ok = pickDoc(day, code, a.item)
	if !ok {
		return nil, false
	}
	return doc, true
}

func pickDoc(d *Day, code byte, i int) (any, bool) {
	one := func(ok bool) bool { return ok && i == 0 }
	switch code {
	case idSleep:
		if i < len(d.Sleep) {
			return d.Sleep[i], true
		}
	case idDailySleep:
		if one(d.DailySleep != nil) {
			return *d.DailySleep, true
		}
	case idDailyReadiness:
		if one(d.DailyReadiness != nil) {
			return *d.DailyReadiness, true
		}
	case idDailyActivity:
		if one(d.DailyActivity != nil) {
			return *d.DailyActivity, true
		}
	case idDailySpO2:
		if one(d.DailySpO2 != nil) {
			return *d.DailySpO2, true
		}
	case idDailyStress:
		if one(d.DailyStress != nil) {
			return *d.DailyStress, true
		}
	case idDailyResilience:
		if one(d.DailyResilience != nil) {
			return *d.DailyResilience, true
		}
	case idDailyCardiovascularAge:
		if one(d.DailyCardiovascularAge != nil) {
			return *d.DailyCardiovascularAge, true
		}
	case idVO2Max:
		if one(d.VO2Max != nil) {
			return *d.VO2Max, true
		}
	case idSleepTime:
		if one(d.SleepTime != nil) {
			return *d.SleepTime, true
		}
	case idWorkout:
		if i < len(d.Workouts) {
			return d.Workouts[i], true
		}
	case idSession:
		if i < len(d.Sessions) {
			return d.Sessions[i], true
		}
	case idTag:
		if i < len(d.Tags) {
			return d.Tags[i], true
		}
	case idEnhancedTag:
		if i < len(d.EnhancedTags) {
			return d.EnhancedTags[i], true
		}
	case idRestModePeriod:
		if i < len(d.RestModePeriods) {
			return d.RestModePeriods[i], true
		}
	}
	return nil, false
}
