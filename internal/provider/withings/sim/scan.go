package sim

import (
	"net/url"
	"slices"
	"time"

	"github.com/wearlink/wearlink/internal/provider/withings"
)

// Generated data keeps appearing as the clock runs: a weigh-in each
// morning it syncs, a night once analysed, a day once over. Scan announces
// it to the subscriptions, as Withings would; data added by the Add methods
// is announced when added.

// appliOf is the notification category of a measure group.
func appliOf(g MeasureGroup) int {
	for _, m := range g.Measures {
		switch m.Type {
		case TypeDiastolic, TypeSystolic, TypeSpO2:
			return withings.AppliPressure
		case TypeBodyTemp, TypeSkinTemp, 12:
			return withings.AppliTemperature
		}
	}
	return withings.AppliWeight
}

// Scan sends the notifications of generated data that appeared since the
// last scan (or since the server was built) and returns how many it
// queued: one per user and category with the window of what appeared, and
// one per finished day of activity with its date.
func (s *Server) Scan() int {
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	now := s.now()
	from := s.lastScan
	if !now.After(from) {
		return 0
	}
	s.lastScan = now
	in := func(t int64) bool { return t > from.Unix() && t <= now.Unix() }
	sent := 0
	for _, u := range s.world.users {
		if !s.notify.subscribed(u.Index) {
			continue
		}
		type span struct{ lo, hi int64 }
		spans := map[int]*span{}
		add := func(appli int, lo, hi int64) {
			if sp := spans[appli]; sp != nil {
				sp.lo, sp.hi = min(sp.lo, lo), max(sp.hi, hi)
			} else {
				spans[appli] = &span{lo, hi}
			}
		}
		var days []string
		for n := max(u.FirstDay-1, localDay(from, u.loc)-2); n <= localDay(now, u.loc); n++ {
			for _, g := range s.world.dayGroups(u, n) {
				if in(g.Created) {
					add(appliOf(g), g.Date, g.Date+1)
				}
			}
			if nt := s.world.genNight(u, n); nt != nil && in(nt.created) {
				add(withings.AppliSleep, nt.start.Unix(), nt.end().Unix())
			}
			if wo := s.world.workout(u, n); wo != nil && in(wo.Modified) {
				add(withings.AppliActivity, wo.StartDate, wo.EndDate)
			}
			if a := s.world.activity(u, n); a != nil && in(a.Modified) {
				days = append(days, a.Date)
			}
		}
		applis := make([]int, 0, len(spans))
		for a := range spans {
			applis = append(applis, a)
		}
		slices.Sort(applis)
		for _, a := range applis {
			sent += s.notify.send(u, a, window(spans[a].lo, spans[a].hi))
		}
		for _, d := range days {
			sent += s.notify.send(u, withings.AppliActivity, url.Values{"date": {d}})
		}
	}
	return sent
}

// scanLoop scans every interval of real time until the server closes.
func (s *Server) scanLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.Scan()
		}
	}
}
