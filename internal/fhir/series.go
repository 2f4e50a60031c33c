package fhir

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// An irregular series (heart rate read every few seconds while awake,
// every five minutes asleep) has a fine grid, mostly empty. Such a series
// is cut at its longest pause whenever the two parts cost less than the
// whole, counting an Observation's own fields as overheadSlots empty
// slots: a regular stretch stays whole, a burst of readings between long
// pauses becomes an Observation of its own, and no grid exceeds maxSlots.
const (
	overheadSlots = 1000
	maxSlots      = 100000
)

// sample is one point of a series; dur is the length of a phase (the
// hypnogram's runs), zero for a point.
type sample struct {
	at  *string
	v   *float64
	dur time.Duration
}

type point struct {
	t   time.Time
	v   float64
	dur time.Duration
}

// series emits the samples as valueSampledData Observations.
func (b *builder) series(m metric, xs []sample) {
	var ps []point
	for _, x := range xs {
		if x.at == nil || x.v == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, *x.at)
		if err != nil {
			continue
		}
		ps = append(ps, point{t: t, v: *x.v, dur: x.dur})
	}
	if len(ps) == 0 {
		return
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].t.Before(ps[j].t) })
	// One value per instant: the first given.
	uniq := ps[:1]
	for _, p := range ps[1:] {
		if !p.t.Equal(uniq[len(uniq)-1].t) {
			uniq = append(uniq, p)
		}
	}
	piece := 0
	for _, part := range cut(uniq) {
		b.out = append(b.out, b.sampled(m, piece, part))
		piece++
	}
}

// grid is the period (ms) on which every point of ps falls: the greatest
// common divisor of their offsets from the first. A phase fills the slots
// from its start until the next one begins.
func grid(ps []point) int64 {
	var g int64
	for _, p := range ps {
		g = gcd(g, p.t.Sub(ps[0].t).Milliseconds())
	}
	if g <= 0 {
		g = max(1000, ps[0].dur.Milliseconds())
	}
	return g
}

// phaseSlots is the number of slots a point fills: one, or as many as its
// phase spans (rounded up).
func phaseSlots(p point, g int64) int64 {
	return max(1, (p.dur.Milliseconds()+g-1)/g)
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	if a < 0 {
		return -a
	}
	return a
}

// slots is the number of grid slots ps spans at period g.
func slots(ps []point, g int64) int64 {
	last := ps[len(ps)-1]
	n := last.t.Sub(ps[0].t).Milliseconds()/g + 1
	n += phaseSlots(last, g) - 1
	return n
}

// cut splits ps into parts (see overheadSlots).
func cut(ps []point) [][]point {
	if len(ps) == 1 {
		return [][]point{ps}
	}
	n := slots(ps, grid(ps))
	at, longest := 0, time.Duration(-1)
	for i := 1; i < len(ps); i++ {
		if gap := ps[i].t.Sub(ps[i-1].t.Add(ps[i-1].dur)); gap > longest {
			at, longest = i, gap
		}
	}
	left, right := ps[:at], ps[at:]
	split := 2*overheadSlots + slots(left, grid(left)) + slots(right, grid(right))
	if n <= maxSlots && overheadSlots+n <= split {
		return [][]point{ps}
	}
	return append(cut(left), cut(right)...)
}

// sampled is one Observation of a part of a series: slot i holds the value
// at start + i*period, "E" (no value) where nothing was measured.
func (b *builder) sampled(m metric, piece int, ps []point) Observation {
	g := grid(ps)
	n := slots(ps, g)
	data := make([]string, n)
	for i := range data {
		data[i] = "E"
	}
	for _, p := range ps {
		i := p.t.Sub(ps[0].t).Milliseconds() / g
		k := phaseSlots(p, g)
		v := strconv.FormatFloat(p.v, 'f', -1, 64)
		for j := i; j < i+k && j < n; j++ {
			data[j] = v
		}
	}
	last := ps[len(ps)-1]
	e := effective{start: ps[0].t.Format(time.RFC3339Nano), end: last.t.Add(last.dur).Format(time.RFC3339Nano)}
	o := b.base(m, piece, e)
	origin := quantity(m, 0)
	o.ValueSampledData = &SampledData{Origin: *origin, Period: float64(g), Dimensions: 1, Data: strings.Join(data, " ")}
	return o
}

// hypnogramItem is the derived hypnogram a normalizer attaches to a sleep
// summary (role "hypnogram"): runs of one sleep phase.
type hypnogramItem struct {
	Role   string `json:"role"`
	Phases []struct {
		Datetime *string  `json:"datetime_string"`
		Interval *float64 `json:"interval_duration_seconds_float"`
		Phase    *string  `json:"sleep_phase_string"`
	} `json:"hypnogram_granular_data_array"`
}

// hypnogram reads the sleep phases attached to a summary as samples of
// their stage value (stageValue); an unknown phase is a gap.
func hypnogram(nsd health.NonStructuredData) []sample {
	var out []sample
	for _, raw := range nsd {
		var h hypnogramItem
		if json.Unmarshal(raw, &h) != nil || h.Role != "hypnogram" {
			continue
		}
		for _, p := range h.Phases {
			if p.Phase == nil || p.Interval == nil || *p.Interval <= 0 {
				continue
			}
			v, ok := stageValue[strings.ToLower(*p.Phase)]
			if !ok {
				continue
			}
			out = append(out, sample{at: p.Datetime, v: &v, dur: time.Duration(*p.Interval * float64(time.Second))})
		}
	}
	return out
}
