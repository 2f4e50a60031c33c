package sim

import (
	"math"
	"math/rand/v2"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// periodData is one generated sleep period plus the figures the daily scores
// need and the document does not carry.
type periodData struct {
	doc      oura.Sleep
	typ      oura.SleepType
	span     span
	minFrac  float64 // position of the lowest heart rate in the period, 0..1
	restless float64 // share of restless 30-second epochs
	midpoint int64
}

func sleepStream(t oura.SleepType) uint64 {
	switch t {
	case oura.SleepTypeLongSleep:
		return stSleep + 1<<8
	case oura.SleepTypeLateNap:
		return stSleep + 2<<8
	case oura.SleepTypeSleep:
		return stSleep + 3<<8
	default:
		return stSleep + 4<<8
	}
}

// genPeriod generates one sleep period. It depends only on the user, the day
// and the period's span, so the night that starts on the evening of D can be
// generated again while building D's heart-rate samples and comes out the
// same as in D+1's sleep documents.
func (w *World) genPeriod(u int, pl *dayPlan, ss sleepSpan) *periodData {
	p := &w.profiles[u]
	loc := w.users[u].Location
	r := w.rng(u, pl.dn, sleepStream(ss.typ))
	tib := ss.seconds()
	n30 := (tib + 29) / 30
	ph := make([]byte, n30)
	long := ss.typ == oura.SleepTypeLongSleep

	// Latency and the awake tail before getting up. The first and last
	// epochs are always awake, which keeps the sleep stages (whole 30 s
	// epochs) strictly shorter than time in bed, so awake_time, the
	// remainder, is never negative.
	var lat, tail int
	switch ss.typ {
	case oura.SleepTypeLongSleep:
		lat = 4 + r.IntN(30)
		if r.Float64() < 0.1 {
			lat += 20 + r.IntN(40)
		}
		tail = 2 + r.IntN(40)
	case oura.SleepTypeRest:
		lat = 2 + r.IntN(n30/3+1)
		tail = 1 + r.IntN(6)
	default:
		lat = 2 + r.IntN(16)
		tail = 1 + r.IntN(8)
	}
	lat = clampInt(lat, 1, n30-2)
	end := clampInt(n30-tail, lat+1, n30-1)
	fill := func(pos int, c byte, n int) int {
		for ; n > 0 && pos < end; n-- {
			ph[pos] = c
			pos++
		}
		return pos
	}
	fill(0, '4', lat)
	for i := end; i < n30; i++ {
		ph[i] = '4'
	}
	pos := lat
	switch ss.typ {
	case oura.SleepTypeLongSleep:
		// ~90-minute cycles: deep sleep front-loaded, REM growing towards
		// morning, sometimes a short awakening at the end of a cycle.
		for pos < end {
			f := float64(pos-lat) / float64(end-lat)
			cyc := 160 + r.IntN(60)
			lightA := int(float64(cyc) * between(r, 0.2, 0.35))
			deep := int(float64(cyc) * 0.4 * (1 - f) * (1 - f) * between(r, 0.6, 1.3))
			rem := int(float64(cyc) * (0.1 + 0.3*f) * between(r, 0.6, 1.3))
			lightB := max(cyc-lightA-deep-rem, 10)
			pos = w.fillFragmented(r, ph, pos, end, '2', lightA)
			pos = fill(pos, '1', deep)
			pos = w.fillFragmented(r, ph, pos, end, '2', lightB)
			pos = fill(pos, '3', rem)
			if r.Float64() < 0.5 {
				pos = fill(pos, '4', 2+r.IntN(30))
			}
		}
	case oura.SleepTypeRest:
		for pos < end {
			if r.Float64() < 0.55 {
				pos = fill(pos, '4', 4+r.IntN(16))
			} else {
				pos = fill(pos, '2', 4+r.IntN(16))
			}
		}
	default:
		for pos < end {
			pos = w.fillFragmented(r, ph, pos, end, '2', 10+r.IntN(20))
			if r.Float64() < 0.5 {
				pos = fill(pos, '1', 4+r.IntN(16))
			} else if r.Float64() < 0.2 {
				pos = fill(pos, '3', 4+r.IntN(10))
			}
		}
	}
	if ph[lat] == '4' {
		ph[lat] = '2' // every period holds at least one sleep epoch
	}

	var deep, light, rem int
	move := make([]byte, n30)
	restless := 0
	for i, c := range ph {
		x := r.Float64()
		m := byte('1')
		switch c {
		case '1':
			deep++
			if x < 0.03 {
				m = '2'
			}
		case '2':
			light++
			if x < 0.02 {
				m = '3'
			} else if x < 0.15 {
				m = '2'
			}
		case '3':
			rem++
			if x < 0.01 {
				m = '3'
			} else if x < 0.09 {
				m = '2'
			}
		default:
			switch {
			case x < 0.1:
				m = '4'
			case x < 0.3:
				m = '3'
			case x < 0.6:
				m = '2'
			}
		}
		move[i] = m
		if m != '1' {
			restless++
		}
	}
	deep, light, rem = deep*30, light*30, rem*30
	total := deep + light + rem
	awake := tib - total

	n5 := (n30 + 9) / 10
	p5 := make([]byte, n5)
	for g := range p5 {
		var cnt [4]int
		for _, c := range ph[g*10 : min(g*10+10, n30)] {
			cnt[c-'1']++
		}
		best := 0
		for k := 1; k < 4; k++ {
			if cnt[k] > cnt[best] {
				best = k
			}
		}
		p5[g] = byte('1' + best)
	}

	pd := &periodData{typ: ss.typ, span: ss.span, midpoint: ss.s + int64(tib/2)}
	pd.restless = float64(restless) / float64(n30)
	typ := ss.typ
	doc := &pd.doc
	doc.BedtimeStart = localStamp(loc, ss.s)
	doc.BedtimeEnd = localStamp(loc, ss.e)
	doc.Day = dateOf(pl.dn)
	doc.TimeInBed = tib
	doc.DeepSleepDuration = ip(deep)
	doc.LightSleepDuration = ip(light)
	doc.REMSleepDuration = ip(rem)
	doc.TotalSleepDuration = ip(total)
	doc.AwakeTime = ip(awake)
	doc.Latency = ip(lat * 30)
	doc.Efficiency = ip(clampInt(int(math.Round(100*float64(total)/float64(tib))), 1, 100))
	doc.RestlessPeriods = ip(countRuns(move))
	doc.Movement30Sec = sp(string(move))
	s30 := string(ph)
	s5 := string(p5)
	doc.SleepPhase30Sec = &s30
	doc.SleepPhase5Min = &s5
	doc.AppSleepPhase5Min = &s5
	doc.Type = &typ
	v2 := oura.SleepAlgorithmVersion("v2")
	doc.SleepAlgorithmVersion = &v2
	reason := oura.SleepAnalysisReason("foreground_sleep_analysis")
	if long {
		switch x := r.Float64(); {
		case x < 0.12:
			reason = "background_sleep_analysis"
		case x < 0.18:
			reason = "background_created_foreground_updated"
		case x < 0.2:
			reason = "bedtime_edit"
		}
	}
	doc.SleepAnalysisReason = &reason
	breath := p.breath + r.NormFloat64()*0.35
	if pl.restMode {
		breath += 1.2
	}
	doc.AverageBreath = fp(round(breath, 0.125))

	// Heart rate and HRV per 5 minutes. Short naps often carry no samples;
	// the API then reports lowest_heart_rate 255, a sentinel kept here
	// because clients meet it in real data.
	base := p.rhr + w.rhrDelta(u, p, pl.dn)
	if !long {
		base += 6
	}
	hrvBase := p.hrv * w.hrvFactor(u, p, pl.dn)
	if !long {
		hrvBase *= 0.7
	}
	if !long && tib < 30*60 && r.Float64() < 0.6 {
		doc.AverageHeartRate = fp(round(base+6+r.NormFloat64(), 0.125))
		doc.LowestHeartRate = ip(255)
		pd.minFrac = 0.5
		return pd
	}
	hr := make([]*float64, n5)
	hv := make([]*float64, n5)
	var sumHR, sumHRV float64
	var nOK int
	minHR, minIdx := math.MaxFloat64, 0
	for g := 0; g < n5; g++ {
		if r.Float64() < 0.025 {
			continue // dropped epoch: null in both series
		}
		f := (float64(g) + 0.5) / float64(n5)
		v := base + r.NormFloat64()*1.2
		shape := 0.7
		if long {
			v += 9*math.Exp(-5*f) + 4*smoothStep(f, 0.82, 1)
			shape = 0.45 + 0.75*smoothStep(f, 0, 0.6) - 0.15*smoothStep(f, 0.85, 1)
		} else {
			v += 3 * math.Exp(-3*f)
		}
		switch p5[g] {
		case '4':
			v += 6
			shape *= 0.7
		case '3':
			v += 2.5
			shape *= 0.95
		case '1':
			v -= 1.5
			shape *= 1.15
		}
		v = math.Round(clamp(v, 35, 130))
		h := math.Round(clamp(hrvBase*shape*math.Exp(r.NormFloat64()*0.15), 3, 250))
		hr[g], hv[g] = item(v), item(h)
		sumHR += v
		sumHRV += h
		nOK++
		if v < minHR {
			minHR, minIdx = v, g
		}
	}
	if nOK == 0 {
		g := n5 / 2
		hr[g], hv[g] = item(math.Round(base)), item(math.Round(hrvBase))
		sumHR, sumHRV, nOK, minHR, minIdx = math.Round(base), math.Round(hrvBase), 1, math.Round(base), g
	}
	doc.HeartRate = &oura.Sample{Interval: 300, Items: hr, Timestamp: sampleStamp(loc, ss.s)}
	doc.HRV = &oura.Sample{Interval: 300, Items: hv, Timestamp: sampleStamp(loc, ss.s)}
	doc.AverageHeartRate = fp(round(sumHR/float64(nOK)+r.NormFloat64()*0.4, 0.125))
	doc.LowestHeartRate = ip(int(minHR) - r.IntN(3))
	doc.AverageHRV = ip(int(math.Round(sumHRV / float64(nOK))))
	pd.minFrac = (float64(minIdx) + 0.5) / float64(n5)
	return pd
}

// fillFragmented writes n epochs of c with occasional single-epoch
// awakenings, the micro-arousals seen in real hypnograms.
func (w *World) fillFragmented(r *rand.Rand, ph []byte, pos, end int, c byte, n int) int {
	for ; n > 0 && pos < end; n-- {
		if r.Float64() < 0.02 {
			ph[pos] = '4'
		} else {
			ph[pos] = c
		}
		pos++
	}
	return pos
}

// countRuns counts maximal runs of non-'1' characters: the restless periods.
func countRuns(move []byte) int {
	n := 0
	in := false
	for _, c := range move {
		if c != '1' {
			if !in {
				n++
			}
			in = true
		} else {
			in = false
		}
	}
	return n
}

// dailySleepScores rates the main night the way the contributors are
// described: each contributor maps one measurement onto 1..100.
func dailySleepScores(pd *periodData, midLocalHour float64) (oura.SleepContributors, int) {
	d := &pd.doc
	tst := float64(*d.TotalSleepDuration) / 3600
	var total int
	switch {
	case tst >= 8:
		total = 100
	case tst >= 6:
		total = int(math.Round(100 - (8-tst)*9))
	default:
		total = clampInt(int(math.Round(82-(6-tst)*20)), 1, 100)
	}
	eff := score(float64(*d.Efficiency), 55, 95)
	latMin := float64(*d.Latency) / 60
	lat := 100
	switch {
	case latMin < 5:
		lat = 78 + int(latMin*4)
	case latMin > 20:
		lat = clampInt(int(math.Round(100-(latMin-20)*2.2)), 1, 100)
	}
	deep := score(float64(*d.DeepSleepDuration)/60, 15, 95)
	rem := score(float64(*d.REMSleepDuration)/60, 25, 110)
	rest := score(pd.restless, 0.4, 0.06)
	timing := score(math.Abs(midLocalHour-3.5), 3.5, 0.6)
	c := oura.SleepContributors{
		DeepSleep: ip(deep), Efficiency: ip(eff), Latency: ip(lat), REMSleep: ip(rem),
		Restfulness: ip(rest), Timing: ip(timing), TotalSleep: ip(total),
	}
	s := 0.35*float64(total) + 0.1*float64(eff) + 0.15*float64(rest) + 0.1*float64(rem) +
		0.1*float64(deep) + 0.1*float64(lat) + 0.1*float64(timing)
	return c, clampInt(int(math.Round(s)), 1, 100)
}
