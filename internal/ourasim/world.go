// Package ourasim is a faithful local simulator of the Oura API v2: data,
// OAuth, webhooks and the live API's quirks, for tests, the demo and
// benchmarks.
package ourasim

import (
	"time"

	"github.com/wearlink/wearlink/internal/oura"
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
	// initially ends with the last complete local day before Now.
	Now func() time.Time
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
	RestModePeriods        []oura.RestModePeriod // periods whose start_day is D
	HeartRate              []oura.HeartRate      // samples whose local date is D, ascending
	Battery                []oura.RingBatteryLevel
}

// World is the simulated population: users and their deterministic data.
// It is safe for concurrent use.
//
// STUB: the generator replaces these bodies; the signatures are the contract
// the HTTP server codes against.
type World struct {
	cfg   WorldConfig
	users []*User
}

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
	w := &World{cfg: cfg}
	for i := 0; i < cfg.Users; i++ {
		w.users = append(w.users, &User{Index: i, OuraID: "stub", TimeZone: "UTC", Location: time.UTC})
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

// LastDay is the newest local day whose data is visible for u.
func (w *World) LastDay(u *User) oura.Date { return w.cfg.HistoryStart }

// RevealNextDay makes the day after LastDay visible and returns it: the new
// night and day that the server then announces by webhook.
func (w *World) RevealNextDay(u *User) oura.Date { return w.cfg.HistoryStart }

// RevealUntil reveals every day whose data would have synced by t (the
// morning after it) and returns the days revealed, per user index.
func (w *World) RevealUntil(t time.Time) map[int][]oura.Date { return nil }

// Day returns u's data for local day d, generated deterministically from the
// seed. It returns an empty Day outside [HistoryStart, LastDay(u)].
func (w *World) Day(u *User, d oura.Date) *Day { return &Day{Date: d} }

// PersonalInfo is u's personal_info document.
func (w *World) PersonalInfo(u *User) oura.PersonalInfo { return oura.PersonalInfo{ID: u.OuraID} }

// RingConfigurations are u's rings, oldest first.
func (w *World) RingConfigurations(u *User) []oura.RingConfiguration { return nil }

// Lookup finds the document of collection (a path name such as "vO2_max")
// with the given id among u's visible data. The value is the model (for
// example oura.Sleep). ok is false for an unknown or not yet visible id.
func (w *World) Lookup(u *User, collection, id string) (doc any, ok bool) { return nil, false }
