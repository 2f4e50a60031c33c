// Package sim is a local simulator of the WHOOP API v2, faithful to its
// published OpenAPI document and developer docs: deterministic data per
// seed, OAuth with rotating refresh tokens, rate-limit headers and 429s,
// signed webhooks, score delays and injectable faults. It is used by tests
// and the demo and shares no code with the WHOOP client it checks.
package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// WorldConfig configures the simulated population.
type WorldConfig struct {
	// Seed makes every generated value reproducible.
	Seed int64
	// Users is the number of simulated users (default 3, at most MaxUsers).
	Users int
	// HistoryStart is the local day of each user's first night (default
	// DefaultHistoryStart). Only its date counts.
	HistoryStart time.Time
	// ScoreDelay is how long after a record ends it stays PENDING_SCORE, in
	// simulated time (0: DefaultScoreDelay; negative: scored as soon as it is
	// visible).
	ScoreDelay time.Duration
}

// Limits and defaults of the world.
const (
	MaxUsers          = 1000
	DefaultScoreDelay = time.Hour
)

// DefaultHistoryStart is the first night of the default history.
var DefaultHistoryStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// v1Cutoff is when WHOOP stopped issuing v1 ids ("Will not exist past
// 09/01/2025"): activities starting later carry no v1_id or sport_id.
var v1Cutoff = time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)

// User is one simulated WHOOP member. Its timezone offset is fixed (no
// daylight saving), which keeps the day arithmetic exact.
type User struct {
	Index          int
	UserID         int64
	Email          string
	FirstName      string
	LastName       string
	TimezoneOffset string // "+05:30"
	offset         int64  // seconds east of UTC
	HeightMeter    float64
	WeightKilogram float64
	MaxHeartRate   int
	restHR         int
	hrvBase        float64
	bedShift       time.Duration // preferred bedtime relative to 22:00
	needBase       time.Duration
	strap4         bool // 4.0 straps report SpO2 and skin temperature
	bmrKJPerHour   float64
}

// World is the population and its data. Every night of every user is a pure
// function of (seed, user, night), so any window is cheap to produce; the
// only state is the set of deleted sleeps.
type World struct {
	cfg     WorldConfig
	key     []byte
	users   []*User
	firstN  int // first night's local day number
	mu      sync.Mutex
	deleted map[string]bool // sleep UUIDs
}

// offsets gives users different zones, including a negative one and ones
// with half hours, so that clients cannot assume UTC or whole hours.
var offsets = []string{"-05:00", "+05:30", "+01:00", "-03:30", "+09:00", "+00:00", "-08:00", "+10:00"}

var firstNames = []string{"Avery", "Jordan", "Priya", "Mateo", "Yuki", "Sam", "Noor", "Lena"}
var lastNames = []string{"Smith", "Okafor", "Raman", "Garcia", "Tanaka", "Berg", "Haddad", "Novak"}

// NewWorld builds the population.
func NewWorld(cfg WorldConfig) (*World, error) {
	if cfg.Users <= 0 {
		cfg.Users = 3
	}
	if cfg.Users > MaxUsers {
		return nil, fmt.Errorf("whoopsim: at most %d users", MaxUsers)
	}
	if cfg.HistoryStart.IsZero() {
		cfg.HistoryStart = DefaultHistoryStart
	}
	if cfg.ScoreDelay == 0 {
		cfg.ScoreDelay = DefaultScoreDelay
	} else if cfg.ScoreDelay < 0 {
		cfg.ScoreDelay = 0
	}
	hs := cfg.HistoryStart
	w := &World{
		cfg:     cfg,
		key:     deriveKey(cfg.Seed, "whoopsim-world"),
		firstN:  int(time.Date(hs.Year(), hs.Month(), hs.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400),
		deleted: map[string]bool{},
	}
	seen := map[int64]bool{}
	for i := 0; i < cfg.Users; i++ {
		r := w.rng("user", i, 0)
		var id int64
		for id == 0 || seen[id] {
			id = 10000 + r.Int64N(90000)
		}
		seen[id] = true
		off := offsets[i%len(offsets)]
		u := &User{
			Index:          i,
			UserID:         id,
			FirstName:      firstNames[i%len(firstNames)],
			LastName:       lastNames[(i+r.IntN(len(lastNames)))%len(lastNames)],
			TimezoneOffset: off,
			offset:         parseOffset(off),
			HeightMeter:    round(1.55+r.Float64()*0.4, 4),
			restHR:         48 + r.IntN(16),
			hrvBase:        35 + r.Float64()*70,
			bedShift:       time.Duration(r.IntN(91)-30) * time.Minute,
			needBase:       7*time.Hour + 30*time.Minute + time.Duration(r.IntN(61))*time.Minute,
			strap4:         i%3 != 2,
		}
		u.Email = fmt.Sprintf("%s.%s.%d@whoopsim.example", lower(u.FirstName), lower(u.LastName), i)
		bmi := 20 + r.Float64()*8
		u.WeightKilogram = round(bmi*u.HeightMeter*u.HeightMeter, 4)
		u.MaxHeartRate = 180 + r.IntN(25)
		u.bmrKJPerHour = 260 + u.WeightKilogram*1.2
		w.users = append(w.users, u)
	}
	return w, nil
}

// Users returns every user, by Index.
func (w *World) Users() []*User { return w.users }

// User returns the user with the given index, or nil.
func (w *World) User(i int) *User {
	if i < 0 || i >= len(w.users) {
		return nil
	}
	return w.users[i]
}

// UserByID finds a user by WHOOP user_id.
func (w *World) UserByID(id int64) *User {
	for _, u := range w.users {
		if u.UserID == id {
			return u
		}
	}
	return nil
}

// ScoreDelay is the delay in force.
func (w *World) ScoreDelay() time.Duration { return w.cfg.ScoreDelay }

func (w *World) isDeleted(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deleted[id]
}

func (w *World) markDeleted(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.deleted[id] {
		return false
	}
	w.deleted[id] = true
	return true
}

// rng is the generator of one (label, user, night): independent streams, so
// that generating a night never needs its neighbours' draws.
func (w *World) rng(label string, user, n int) *rand.Rand {
	m := hmac.New(sha256.New, w.key)
	fmt.Fprintf(m, "%s/%d/%d", label, user, n)
	s := m.Sum(nil)
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(s[:8]), binary.BigEndian.Uint64(s[8:16])))
}

// localMidnight is the start of local day n for u.
func (u *User) localMidnight(n int) time.Time {
	return time.Unix(int64(n)*86400-u.offset, 0).UTC()
}

// localDay is the local day number of t for u.
func (u *User) localDay(t time.Time) int {
	s := t.Unix() + u.offset
	if s < 0 {
		return int((s - 86399) / 86400)
	}
	return int(s / 86400)
}

func parseOffset(s string) int64 {
	var h, m int
	sign := int64(1)
	if s[0] == '-' {
		sign = -1
	}
	_, _ = fmt.Sscanf(s[1:], "%d:%d", &h, &m)
	return sign * int64(h*3600+m*60)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// deriveKey derives a stable secret from the seed, so that ids, tokens and
// cursors survive a restart with the same seed.
func deriveKey(seed int64, label string) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	m := hmac.New(sha256.New, []byte(label))
	m.Write(b[:])
	return m.Sum(nil)
}
