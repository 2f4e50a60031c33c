package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Charts are inline SVG drawn here, with no script: every chart has a
// <title> and an aria-label that say in words what it shows, and its
// marks carry the values in <title> elements too (a tooltip on hover).

const (
	chartW   = 720.0
	chartH   = 220.0
	padLeft  = 48.0
	padRight = 12.0
	padTop   = 12.0
	padBot   = 28.0
)

// esc escapes text for SVG (XML) content and attributes.
func esc(s string) string { return template.HTMLEscapeString(s) }

type svgChart struct {
	id, title, label string
	b                strings.Builder
}

func newChart(id, title, label string) *svgChart {
	c := &svgChart{id: id, title: title, label: label}
	fmt.Fprintf(&c.b, `<svg class="chart" id="%s" role="img" aria-label="%s" viewBox="0 0 %g %g" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		esc(id), esc(title+": "+label), chartW, chartH, esc(title))
	return c
}

func (c *svgChart) html() template.HTML {
	c.b.WriteString(`</svg>`)
	return template.HTML(c.b.String()) // every text in it went through esc
}

// axisY draws horizontal grid lines with labels for values lo..hi.
func (c *svgChart) axisY(lo, hi float64, ticks int, unit string) {
	for i := 0; i <= ticks; i++ {
		v := lo + (hi-lo)*float64(i)/float64(ticks)
		y := c.y(v, lo, hi)
		fmt.Fprintf(&c.b, `<line class="grid" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/><text class="tick" x="%g" y="%.1f" text-anchor="end">%s</text>`,
			padLeft, chartW-padRight, y, y, padLeft-4, y+4, esc(fmt.Sprintf("%g%s", math.Round(v), unit)))
	}
}

func (c *svgChart) y(v, lo, hi float64) float64 {
	if hi == lo {
		return chartH - padBot
	}
	return padTop + (chartH-padTop-padBot)*(1-(v-lo)/(hi-lo))
}

func (c *svgChart) empty(text string) {
	fmt.Fprintf(&c.b, `<text class="none" x="%g" y="%g" text-anchor="middle">%s</text>`, chartW/2, chartH/2, esc(text))
}

// Phase is one run of one sleep phase.
type Phase struct {
	Start    time.Time
	Duration time.Duration
	// Name is deep, light, rem or awake.
	Name string
}

var phaseRows = []struct{ name, label string }{{"awake", "Awake"}, {"rem", "REM"}, {"light", "Light"}, {"deep", "Deep"}}

// hypnogramChart draws the phases as bars on four rows.
func hypnogramChart(night string, phases []Phase) template.HTML {
	totals := map[string]time.Duration{}
	for _, p := range phases {
		totals[p.Name] += p.Duration
	}
	var parts []string
	for _, r := range phaseRows {
		parts = append(parts, fmt.Sprintf("%s %s", strings.ToLower(r.label), fmtDuration(totals[r.name])))
	}
	label := "no sleep phases recorded"
	if len(phases) > 0 {
		label = fmt.Sprintf("sleep phases from %s to %s: %s", phases[0].Start.Format("15:04"),
			phases[len(phases)-1].Start.Add(phases[len(phases)-1].Duration).Format("15:04"), strings.Join(parts, ", "))
	}
	c := newChart("hypnogram", "Hypnogram of the night of "+night, label)
	if len(phases) == 0 {
		c.empty("No sleep phases for this night")
		return c.html()
	}
	start := phases[0].Start
	end := phases[len(phases)-1].Start.Add(phases[len(phases)-1].Duration)
	span := end.Sub(start).Seconds()
	if span <= 0 {
		span = 1
	}
	rowH := (chartH - padTop - padBot) / float64(len(phaseRows))
	row := map[string]int{}
	for i, r := range phaseRows {
		row[r.name] = i
		y := padTop + rowH*float64(i)
		fmt.Fprintf(&c.b, `<text class="tick" x="%g" y="%.1f" text-anchor="end">%s</text><line class="grid" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/>`,
			padLeft-4, y+rowH/2+4, esc(r.label), padLeft, chartW-padRight, y+rowH, y+rowH)
	}
	x := func(t time.Time) float64 { return padLeft + (chartW-padLeft-padRight)*t.Sub(start).Seconds()/span }
	for _, p := range phases {
		i, ok := row[p.Name]
		if !ok {
			continue
		}
		x0, x1 := x(p.Start), x(p.Start.Add(p.Duration))
		fmt.Fprintf(&c.b, `<rect class="phase phase-%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s, %s</title></rect>`,
			esc(p.Name), x0, padTop+rowH*float64(i)+2, math.Max(x1-x0, 0.5), rowH-4, esc(p.Start.Format("15:04")), esc(p.Name), esc(fmtDuration(p.Duration)))
	}
	c.timeAxis(start, end)
	return c.html()
}

// timeAxis labels the hours between start and end.
func (c *svgChart) timeAxis(start, end time.Time) {
	span := end.Sub(start).Seconds()
	if span <= 0 {
		return
	}
	step := time.Hour
	if end.Sub(start) > 12*time.Hour {
		step = 3 * time.Hour
	}
	for t := start.Truncate(step).Add(step); t.Before(end); t = t.Add(step) {
		xv := padLeft + (chartW-padLeft-padRight)*t.Sub(start).Seconds()/span
		fmt.Fprintf(&c.b, `<text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`, xv, chartH-8, esc(t.Format("15:04")))
	}
}

// Point is one sample of a time series.
type Point struct {
	At    time.Time
	Value float64
}

// lineChart draws a time series as a line.
func lineChart(id, title, unit string, pts []Point) template.HTML {
	if len(pts) == 0 {
		c := newChart(id, title, "no samples")
		c.empty("No samples")
		return c.html()
	}
	lo, hi, sum := pts[0].Value, pts[0].Value, 0.0
	for _, p := range pts {
		lo, hi, sum = math.Min(lo, p.Value), math.Max(hi, p.Value), sum+p.Value
	}
	label := fmt.Sprintf("%s from %s to %s, between %g and %g %s, average %.0f %s", count(len(pts), "sample"),
		pts[0].At.Format("15:04"), pts[len(pts)-1].At.Format("15:04"), math.Round(lo), math.Round(hi), unit, sum/float64(len(pts)), unit)
	c := newChart(id, title, label)
	// Grid lines every 10, 20, 40 ... units, at most six of them.
	step, ylo := 10.0, math.Floor(lo/10)*10
	for (hi-ylo)/step > 6 {
		step *= 2
	}
	ticks := max(int(math.Ceil((hi-ylo)/step)), 1)
	yhi := ylo + float64(ticks)*step
	c.axisY(ylo, yhi, ticks, "")
	start, end := pts[0].At, pts[len(pts)-1].At
	span := end.Sub(start).Seconds()
	if span <= 0 {
		span = 1
	}
	var d strings.Builder
	for i, p := range pts {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, padLeft+(chartW-padLeft-padRight)*p.At.Sub(start).Seconds()/span, c.y(p.Value, ylo, yhi))
	}
	fmt.Fprintf(&c.b, `<path class="line" d="%s"/>`, strings.TrimSpace(d.String()))
	c.timeAxis(start, end)
	return c.html()
}

// DayValue is one day's value; Value is nil when the day has none.
type DayValue struct {
	Day   string
	Value *float64
}

// barChart draws one bar per day.
func barChart(id, title, unit string, days []DayValue) template.HTML {
	hi, n, sum := 0.0, 0, 0.0
	for _, d := range days {
		if d.Value != nil {
			hi, n, sum = math.Max(hi, *d.Value), n+1, sum+*d.Value
		}
	}
	label := "no values"
	if n > 0 {
		label = fmt.Sprintf("%s with values from %s to %s, up to %.0f %s, average %.0f %s", count(n, "day"), days[0].Day, days[len(days)-1].Day, hi, unit, sum/float64(n), unit)
	}
	c := newChart(id, title, label)
	if n == 0 {
		c.empty("No values in this period")
		return c.html()
	}
	yhi := niceCeil(hi)
	c.axisY(0, yhi, 4, "")
	slot := (chartW - padLeft - padRight) / float64(len(days))
	for i, d := range days {
		x := padLeft + slot*float64(i)
		if d.Value != nil {
			y := c.y(*d.Value, 0, yhi)
			fmt.Fprintf(&c.b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %.0f %s</title></rect>`,
				x+slot*0.15, y, slot*0.7, chartH-padBot-y, esc(d.Day), *d.Value, esc(unit))
		}
		if len(days) <= 10 || i%5 == 0 {
			fmt.Fprintf(&c.b, `<text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x+slot/2, chartH-8, esc(d.Day[5:]))
		}
	}
	return c.html()
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// Series is one named line of a day chart.
type Series struct {
	Name  string
	Class string
	Days  []DayValue
}

// scoreChart draws 0-100 scores per day, one line per series.
func scoreChart(id, title string, series []Series) template.HTML {
	var parts []string
	for _, s := range series {
		n, sum := 0, 0.0
		for _, d := range s.Days {
			if d.Value != nil {
				n, sum = n+1, sum+*d.Value
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s average %.0f over %s", s.Name, sum/float64(n), count(n, "day")))
		} else {
			parts = append(parts, s.Name+" has no values")
		}
	}
	if len(series) == 0 {
		c := newChart(id, title, "no scores")
		c.empty("No scores in this period")
		return c.html()
	}
	c := newChart(id, title, strings.Join(parts, "; "))
	c.axisY(0, 100, 4, "")
	if len(series[0].Days) == 0 {
		return c.html()
	}
	days := series[0].Days
	slot := (chartW - padLeft - padRight) / float64(len(days))
	for k, s := range series {
		var d strings.Builder
		cmd := "M"
		for i, v := range s.Days {
			if v.Value == nil {
				cmd = "M"
				continue
			}
			x, y := padLeft+slot*(float64(i)+0.5), c.y(*v.Value, 0, 100)
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, x, y)
			cmd = "L"
			fmt.Fprintf(&c.b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="3"><title>%s %s: %.0f</title></circle>`, esc(s.Class), x, y, esc(v.Day), esc(s.Name), *v.Value)
		}
		if d.Len() > 0 {
			fmt.Fprintf(&c.b, `<path class="line %s" d="%s"/>`, esc(s.Class), strings.TrimSpace(d.String()))
		}
		fmt.Fprintf(&c.b, `<text class="legend %s" x="%g" y="%g">%s</text>`, esc(s.Class), padLeft+8+float64(k)*110, padTop+10, esc(s.Name))
	}
	for i, d := range days {
		if len(days) <= 10 || i%5 == 0 {
			fmt.Fprintf(&c.b, `<text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`, padLeft+slot*(float64(i)+0.5), chartH-8, esc(d.Day[5:]))
		}
	}
	return c.html()
}

func fmtDuration(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m < 60 {
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d h %02d min", m/60, m%60)
}

// count says "1 day", "2 days".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
