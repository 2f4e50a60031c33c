// Package sim is a local simulator of the Withings Public API: every
// action wearlink reads (measure getmeas, measurev2 getactivity,
// getintradayactivity and getworkouts, sleepv2 get and getsummary, userv2
// getdevice, notify), Withings' OAuth with its enveloped token answer and
// rotating refresh tokens, the status-in-body error model, the 120 requests
// a minute limit answered with status 601, unsigned form-encoded
// notifications with retries, and injectable faults. Data is a pure
// function of the seed, the user and the day. It shares no code with the
// Withings client it checks.
package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
	_ "time/tzdata" // the same offsets on hosts without a zoneinfo database
)

// MaxUsers bounds the population.
const MaxUsers = 1000

// zones give users different IANA zones: some with daylight saving, one a
// half-hour offset, one south of the equator, so no client can assume UTC.
var zones = []string{"Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Adelaide", "Europe/London", "America/Los_Angeles", "Asia/Tokyo", "America/Sao_Paulo"}

var firstNames = []string{"Camille", "Jordan", "Priya", "Mateo", "Yuki", "Sam", "Noor", "Lena"}

// A device a user owns. Withings sends deviceid and hash_deviceid; live
// answers show them equal.
type device struct {
	id      string
	typ     string
	model   string
	modelID int
}

// User is one simulated Withings account.
type User struct {
	Index     int
	UserID    int64
	FirstName string
	Timezone  string
	loc       *time.Location
	// FirstDay is the local day number (days since 1970-01-01 of the local
	// date) of the first day with data.
	FirstDay int

	heightMM   int64
	weightKg   float64
	fatRatio   float64 // percent
	restHR     int
	bmr        float64 // kcal a day
	watch      bool    // a ScanWatch: intraday activity, heart rate, SpO2
	cardio     bool    // a Body Cardio scale: heart pulse with each weigh-in
	bedShift   time.Duration
	scale      device
	sleep      device
	bpm        device
	watchDev   device
	phoneModel device
}

// Loc is the user's zone.
func (u *User) Loc() *time.Location { return u.loc }

// world is the population and the data added at runtime; generated data
// needs no state.
type world struct {
	key   []byte
	users []*User

	mu    sync.Mutex
	added []*addedData // by user index
}

// addedData is what AddWeighIn and AddNight created for one user.
type addedData struct {
	groups []MeasureGroup
	nights []*night
	n      int // objects added so far: their ids and draws
}

func newWorld(seed int64, users, days int, now time.Time) (*world, error) {
	if users > MaxUsers {
		return nil, fmt.Errorf("withingssim: at most %d users", MaxUsers)
	}
	w := &world{key: deriveKey(seed, "withingssim-world")}
	seen := map[int64]bool{}
	for i := range users {
		r := w.rng("user", i, 0)
		var id int64
		for id == 0 || seen[id] {
			id = 10_000_000 + r.Int64N(90_000_000)
		}
		seen[id] = true
		tz := zones[i%len(zones)]
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("withingssim: zone %s: %w", tz, err)
		}
		u := &User{
			Index: i, UserID: id, FirstName: firstNames[i%len(firstNames)], Timezone: tz, loc: loc,
			heightMM: 1550 + r.Int64N(400),
			fatRatio: 14 + r.Float64()*16,
			restHR:   50 + r.IntN(16),
			watch:    i%3 != 2,
			cardio:   i%2 == 0,
			bedShift: time.Duration(r.IntN(91)-30) * time.Minute,
		}
		h := float64(u.heightMM) / 1000
		u.weightKg = (20 + r.Float64()*9) * h * h
		u.bmr = 1300 + u.weightKg*8
		u.FirstDay = localDay(now, loc) - days
		scale := device{typ: "Scale", model: "Body+", modelID: 5}
		if u.cardio {
			scale = device{typ: "Scale", model: "Body Cardio", modelID: 6}
		}
		u.scale = w.device(i, "scale", scale)
		u.sleep = w.device(i, "sleep", device{typ: "Sleep Monitor", model: "Aura Sensor V2", modelID: 63})
		u.bpm = w.device(i, "bpm", device{typ: "Blood Pressure Monitor", model: "BPM Connect", modelID: 45})
		u.watchDev = w.device(i, "watch", device{typ: "Activity Tracker", model: "ScanWatch 2", modelID: 94})
		// Users without a watch count steps with a phone app synced into
		// Withings, as the recorded activity answer shows.
		u.phoneModel = device{model: "GoogleFit tracker", modelID: 1055}
		w.users = append(w.users, u)
		w.added = append(w.added, &addedData{})
	}
	return w, nil
}

func (w *world) device(user int, label string, d device) device {
	m := hmac.New(sha256.New, w.key)
	fmt.Fprintf(m, "device/%d/%s", user, label)
	d.id = hex.EncodeToString(m.Sum(nil)[:20])
	return d
}

// user returns the user with the given index, or nil.
func (w *world) user(i int) *User {
	if i < 0 || i >= len(w.users) {
		return nil
	}
	return w.users[i]
}

func (w *world) userByID(id int64) *User {
	for _, u := range w.users {
		if u.UserID == id {
			return u
		}
	}
	return nil
}

// rng is the generator of one (label, user, day): independent streams, so
// a day never needs its neighbours' draws.
func (w *world) rng(label string, user, n int) *rand.Rand {
	m := hmac.New(sha256.New, w.key)
	fmt.Fprintf(m, "%s/%d/%d", label, user, n)
	s := m.Sum(nil)
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(s[:8]), binary.BigEndian.Uint64(s[8:16])))
}

// deriveKey derives a stable secret from the seed, so ids and ready tokens
// survive a restart with the same seed.
func deriveKey(seed int64, label string) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	m := hmac.New(sha256.New, []byte(label))
	m.Write(b[:])
	return m.Sum(nil)
}

// localDay is the day number of t's local date in loc.
func localDay(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// dayDate is the civil date of day number n.
func dayDate(n int) (int, time.Month, int) {
	return time.Unix(int64(n)*86400, 0).UTC().Date()
}

// at is the local time h:m on day n in u's zone.
func (u *User) at(n int, d time.Duration) time.Time {
	y, mo, da := dayDate(n)
	return time.Date(y, mo, da, 0, 0, 0, 0, u.loc).Add(d)
}

// ymd is day n as Withings writes dates.
func ymd(n int) string {
	y, m, d := dayDate(n)
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// parseYMD reads a YYYY-MM-DD date as a day number.
func parseYMD(s string) (int, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return int(t.Unix() / 86400), true
}
