// Package normalize maps Oura documents to ROOK health documents. It is pure:
// documents and a time zone in, documents out; no I/O, no clock.
package normalize

import (
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/oura"
)

// Input is everything known about one user: any number of days of every
// collection, in any order. Structures that join collections (a night's
// sleep_summary needs sleep, daily_sleep, daily_readiness and daily_spo2)
// are only whole when all of them are present.
type Input struct {
	DailyActivity          []oura.DailyActivity
	DailyCardiovascularAge []oura.DailyCardiovascularAge
	DailyReadiness         []oura.DailyReadiness
	DailyResilience        []oura.DailyResilience
	DailySleep             []oura.DailySleep
	DailySpO2              []oura.DailySpO2
	DailyStress            []oura.DailyStress
	EnhancedTag            []oura.EnhancedTag
	HeartRate              []oura.HeartRate
	PersonalInfo           []oura.PersonalInfo
	RestModePeriod         []oura.RestModePeriod
	RingBatteryLevel       []oura.RingBatteryLevel
	RingConfiguration      []oura.RingConfiguration
	Session                []oura.Session
	Sleep                  []oura.Sleep
	SleepTime              []oura.SleepTime
	Tag                    []oura.Tag
	VO2Max                 []oura.VO2Max
	Workout                []oura.Workout
}

// Options identify the documents' owner and place samples on local days.
type Options struct {
	ClientUUID string
	UserID     string
	// Location is the user's time zone. Nil: the offset each Oura
	// timestamp carries decides (and UTC for UTC-only samples).
	Location *time.Location
}

// Result is one normalized document and the key that identifies it among
// the user's documents of its data structure: the day for summaries, the
// source document (or day and kind) for events. Re-normalizing changed
// input gives the same key, so the store can bump document_version.
type Result struct {
	Key string
	Doc health.Doc
}

// Normalize maps every document of in. The output is deterministic: sorted
// by data structure, then key, and byte-identical for identical input.
func Normalize(in *Input, opt Options) ([]Result, error) {
	panic("implemented by the normalization work")
}
