// Package benchdata makes the data the store benchmarks write from the
// Oura simulator, so that the store's own test support needs no provider.
package benchdata

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/oura/normalize"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/storetest"
)

const (
	benchClient = "bench-client"
	benchUser   = "bench-user"
	benchStart  = "2024-03-01"
	benchDays   = 30
)

// OuraMonth is 30 days of one simulated Oura user (seed 7) as the store
// benchmarks write them; made once.
var OuraMonth = sync.OnceValues(func() (*storetest.BenchData, error) {
	start, _ := time.Parse(time.DateOnly, benchStart)
	now := start.AddDate(0, 0, benchDays+2)
	w := ourasim.NewWorld(ourasim.WorldConfig{Seed: 7, Users: 1, HistoryStart: benchStart, Now: func() time.Time { return now }})
	u := w.Users()[0]
	set := &storetest.BenchData{Client: benchClient, User: benchUser}
	in := &normalize.Input{PersonalInfo: []oura.PersonalInfo{w.PersonalInfo(u)}, RingConfiguration: w.RingConfigurations(u)}
	for i := range benchDays {
		day := start.AddDate(0, 0, i).Format(time.DateOnly)
		d := w.Day(u, oura.Date(day))
		var docs []store.RawDocument
		add := func(coll string, v any) error {
			body, err := json.Marshal(v)
			if err != nil {
				return err
			}
			var id struct {
				ID        string `json:"id"`
				Timestamp string `json:"timestamp"`
			}
			if err := json.Unmarshal(body, &id); err != nil {
				return err
			}
			if id.ID == "" {
				id.ID = id.Timestamp
			}
			docs = append(docs, store.RawDocument{Collection: coll, ExternalID: id.ID, Day: day, Body: body})
			return nil
		}
		var errs []error
		each := func(coll string, n int, at func(int) any) {
			for j := range n {
				errs = append(errs, add(coll, at(j)))
			}
		}
		one := func(coll string, ok bool, v any) {
			if ok {
				errs = append(errs, add(coll, v))
			}
		}
		each(oura.CollSleep, len(d.Sleep), func(j int) any { return d.Sleep[j] })
		one(oura.CollDailySleep, d.DailySleep != nil, d.DailySleep)
		one(oura.CollDailyReadiness, d.DailyReadiness != nil, d.DailyReadiness)
		one(oura.CollDailyActivity, d.DailyActivity != nil, d.DailyActivity)
		one(oura.CollDailySpO2, d.DailySpO2 != nil, d.DailySpO2)
		one(oura.CollDailyStress, d.DailyStress != nil, d.DailyStress)
		each(oura.CollWorkout, len(d.Workouts), func(j int) any { return d.Workouts[j] })
		each(oura.CollSession, len(d.Sessions), func(j int) any { return d.Sessions[j] })
		each(oura.CollHeartRate, len(d.HeartRate), func(j int) any { return d.HeartRate[j] })
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		set.RawDays = append(set.RawDays, docs)

		in.Sleep = append(in.Sleep, d.Sleep...)
		if d.DailySleep != nil {
			in.DailySleep = append(in.DailySleep, *d.DailySleep)
		}
		if d.DailyReadiness != nil {
			in.DailyReadiness = append(in.DailyReadiness, *d.DailyReadiness)
		}
		if d.DailyActivity != nil {
			in.DailyActivity = append(in.DailyActivity, *d.DailyActivity)
		}
		if d.DailySpO2 != nil {
			in.DailySpO2 = append(in.DailySpO2, *d.DailySpO2)
		}
		if d.DailyStress != nil {
			in.DailyStress = append(in.DailyStress, *d.DailyStress)
		}
		in.Workout = append(in.Workout, d.Workouts...)
		in.Session = append(in.Session, d.Sessions...)
		in.HeartRate = append(in.HeartRate, d.HeartRate...)
	}
	res, err := normalize.Normalize(in, normalize.Options{ClientUUID: benchClient, UserID: benchUser, Location: u.Location})
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		set.Health = append(set.Health, store.HealthInput{Key: r.Key, Doc: r.Doc})
	}
	return set, nil
})
