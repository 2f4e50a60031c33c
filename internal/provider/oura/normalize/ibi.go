package normalize

import (
	"math"
	"sort"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// HRV from interbeat intervals.
//
// Oura's sleep hrv series is RMSSD per 5-minute slot, null where Oura had
// too little signal. The interbeat rows are the beats themselves, so a
// null slot (or every slot, for a period without a series) gets the RMSSD
// of the rows inside it, where they are enough. Oura's own values are
// never replaced: its algorithm sees more than the published rows.

const (
	// minRMSSDPairs is how many pairs of successive intervals a slot needs
	// for a value: about 20 s of clean beats, below which a single bad beat
	// Oura failed to flag moves RMSSD by several milliseconds.
	minRMSSDPairs = 20
	// maxBeatGap is the longest time between two rows that are successive
	// beats: Oura caps ibi at 2000 ms, so a longer silence means rows are
	// missing between them and their difference is not beat to beat.
	maxBeatGap = 2500 * time.Millisecond
	// hrvSlot is the grid used when a period has no hrv series at all.
	hrvSlot = 300.0
)

// ibiRow is one interbeat row with a usable timestamp.
type ibiRow struct {
	at       time.Time
	ibi      int
	validity oura.IBIValidity
}

// usable reports whether the row is a measured interval: good, or
// corrected by Oura's post-processing (the document calls those fixed).
// Raw (uncorrected), bad and gap rows are not.
func (b ibiRow) usable() bool {
	return (b.validity == oura.IBIGood || b.validity == oura.IBICorrected) && b.ibi > 0 && b.ibi <= 2000
}

// prepareInterbeat orders the rows by instant. Rows with an unusable
// timestamp are left out and reported once, with a count; two rows at one
// instant keep the one that sorts first (lower validity, then ibi), so the
// input order never shows.
func (r *run) prepareInterbeat(rows []oura.InterbeatInterval) {
	s := parseRows(r, oura.CollInterbeatInterval, "an unusable timestamp", rows, func(v *oura.InterbeatInterval) (ibiRow, bool) {
		t, ok := parseTime(v.Timestamp)
		return ibiRow{at: t, ibi: v.IBI, validity: v.Validity}, ok
	}, func(v *oura.InterbeatInterval) oura.DateTime { return v.Timestamp })
	r.ibi = byInstant(s, func(v *ibiRow) time.Time { return v.at }, func(a, b *ibiRow) bool {
		if a.validity != b.validity {
			return a.validity < b.validity
		}
		return a.ibi < b.ibi
	})
}

// slotRMSSD is the RMSSD of the rows in [from, to): the root of the mean
// squared difference of successive usable intervals, both rows inside the
// slot with no row between them and at most maxBeatGap apart. ok is false
// with fewer than minRMSSDPairs pairs.
func slotRMSSD(rows []ibiRow, from, to time.Time) (float64, bool) {
	i := sort.Search(len(rows), func(i int) bool { return !rows[i].at.Before(from) })
	sum, n := 0.0, 0
	for ; i+1 < len(rows) && rows[i+1].at.Before(to); i++ {
		a, b := rows[i], rows[i+1]
		if !a.usable() || !b.usable() || b.at.Sub(a.at) > maxBeatGap {
			continue
		}
		d := float64(b.ibi - a.ibi)
		sum += d * d
		n++
	}
	if n < minRMSSDPairs {
		return 0, false
	}
	return math.Sqrt(sum / float64(n)), true
}

// sleepHRV is the period's hrv_rmssd_granular_data_array: Oura's 5-minute
// values, and the RMSSD of the interbeat rows in each slot Oura left null.
// Without an hrv series the slots run every 5 minutes from bedtime_start
// to bedtime_end. lo and hi clip as for Oura's series.
func (r *run) sleepHRV(p *oura.Sleep, lo, hi time.Time) []health.HRVRMSSDSample {
	if len(r.ibi) == 0 {
		g, _ := seriesHRV(p.HRV, lo, hi)
		return g
	}
	var (
		t0       time.Time
		interval float64
		items    []*float64
		n        int
	)
	if s := p.HRV; s != nil && len(s.Items) > 0 {
		t, ok := parseTime(s.Timestamp)
		if !ok {
			return nil
		}
		t0, interval, items, n = t, s.Interval, s.Items, len(s.Items)
	} else {
		if lo.IsZero() || hi.IsZero() || !hi.After(lo) {
			return nil
		}
		t0, interval = lo, hrvSlot
		n = int(math.Ceil(hi.Sub(lo).Seconds() / hrvSlot))
	}
	step, ok := normkit.SampleOffset(interval, 1)
	if !ok {
		return nil
	}
	b := normkit.NewStamps(n)
	vals := make([]float64, 0, n)
	slots(t0, interval, n, lo, hi, func(i int, at time.Time) {
		// Oura's value where it has one (seriesHRV's rule), else the rows'.
		if i < len(items) && items[i] != nil && !math.IsNaN(*items[i]) && !math.IsInf(*items[i], 0) {
			if *items[i] > 0 {
				b.Add(at)
				vals = append(vals, *items[i])
			}
			return
		}
		if v, ok := slotRMSSD(r.ibi, at, at.Add(step)); ok {
			b.Add(at)
			vals = append(vals, v)
		}
	})
	if len(vals) == 0 {
		return nil
	}
	return hrvSamples(b, vals)
}
