package sim

import (
	"cmp"
	"math"
	"slices"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// Interbeat intervals (interbeat_interval, API document of April 2026).
//
// The ring records a stretch of 30 to 45 seconds of beats in about one
// 5-minute slot in six of a sleep period, and of some rest periods: enough
// for a slot's HRV, few enough that a night stays at several hundred rows
// (a night of every beat would be 30,000, which would make every backfill
// of the simulator and the tests that run on it the interbeat rows'). Each
// stretch's intervals scatter around 60000/bpm of the slot's heart-rate
// item with a beat-to-beat spread that gives the slot's hrv item as RMSSD.
// Some rows are bad (validity 2: a missed or extra beat), a few corrected
// (3), and the signal is sometimes lost (a gap row, -1 or -2, after a
// silence). In a slot whose items Oura dropped (null heart rate and HRV)
// the ring still recorded beats half the time, around the neighbouring
// slots' values: those are the slots a normalizer can fill from the rows.

const (
	ibiStretchMin  = 30000 // ms of beats recorded per slot, at least
	ibiStretchVary = 15000 // ... plus up to this much
	ibiMax         = 2000  // Oura's cap on ibi
	ibiSlotShare   = 0.16  // of the slots with a heart rate that have beats
)

// genInterbeat builds the rows whose instant falls in [dayStart, dayEnd)
// from the periods touching the day. A period's rows depend only on the
// period, so a night across midnight splits between its two days without
// a row lost or repeated.
func (w *World) genInterbeat(u int, periods []*periodData, dayStart, dayEnd int64) []oura.InterbeatInterval {
	var rows []oura.InterbeatInterval
	for _, pd := range periods {
		if pd.doc.HeartRate == nil || pd.doc.HRV == nil || pd.span.e <= dayStart || pd.span.s >= dayEnd {
			continue
		}
		// Seeded by the period's start (minutes are unique per user).
		r := w.rng(u, int(pd.span.s/60), stIBI)
		if pd.typ == oura.SleepTypeRest && r.Float64() < 0.5 {
			continue
		}
		hr, hv := pd.doc.HeartRate.Items, pd.doc.HRV.Items
		for g := range hr {
			slot := pd.span.s + int64(g)*300
			bpm, rmssd, ok := slotValues(hr, hv, g)
			if x := r.Float64(); !ok || (hr[g] == nil && x < 0.5) || (hr[g] != nil && x >= ibiSlotShare) {
				continue
			}
			start := slot*1000 + int64(r.IntN(60000))
			end := start + ibiStretchMin + int64(r.IntN(ibiStretchVary+1))
			mean := 60000 / bpm
			sd := rmssd / math.Sqrt2 // independent beats: RMSSD = sd * sqrt 2
			for t := start; t < end; {
				row := oura.InterbeatInterval{Validity: oura.IBIGood}
				switch x := r.Float64(); {
				case x < 0.01:
					// Signal lost for a few seconds: the gap row ends it.
					t += 2000 + int64(r.IntN(4000))
					row.Validity = oura.IBIGap
					if r.Float64() < 0.3 {
						row.Validity = oura.IBIGapLong
					}
				default:
					ibi := int(math.Round(clamp(mean+r.NormFloat64()*sd, 300, ibiMax)))
					switch {
					case x < 0.04:
						// A missed beat doubles the interval, an extra
						// one halves it.
						row.Validity = oura.IBIBad
						if r.Float64() < 0.5 {
							ibi = min(ibi*2, ibiMax)
						} else {
							ibi /= 2
						}
					case x < 0.05:
						row.Validity = oura.IBICorrected
					}
					row.IBI = ibi
					t += int64(ibi)
				}
				if t < dayStart*1000 || t >= dayEnd*1000 {
					continue
				}
				ms := t
				row.TimestampUnix = &ms
				row.Timestamp = ibiStamp(t)
				rows = append(rows, row)
			}
		}
	}
	sortIBI(rows)
	return rows
}

// slotValues is slot g's heart rate and HRV, from the nearest slot with
// both when g has none.
func slotValues(hr, hv []*float64, g int) (bpm, rmssd float64, ok bool) {
	for d := 0; d < len(hr); d++ {
		for _, i := range []int{g - d, g + d} {
			if i >= 0 && i < len(hr) && hr[i] != nil && i < len(hv) && hv[i] != nil && *hr[i] > 0 {
				return *hr[i], *hv[i], true
			}
		}
	}
	return 0, 0, false
}

// ibiStamp is a UtcDateTime with milliseconds: beats are less than a
// second apart, so whole seconds would give two rows one timestamp (the
// rows' key).
func ibiStamp(ms int64) oura.DateTime {
	b := appendStamp(make([]byte, 0, 29), floorDiv64(ms, 1000), 0, true)
	frac := ms - floorDiv64(ms, 1000)*1000
	b[20], b[21], b[22] = byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10)
	return oura.DateTime(b)
}

// sortIBI orders rows by instant: periods of one day may come in any order.
func sortIBI(rows []oura.InterbeatInterval) {
	slices.SortFunc(rows, func(a, b oura.InterbeatInterval) int { return cmp.Compare(*a.TimestampUnix, *b.TimestampUnix) })
}
