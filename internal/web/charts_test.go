package web

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// wellFormed fails unless the SVG parses as XML and has the <title> and
// aria-label that describe it.
func wellFormed(t *testing.T, name, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("%s: not well-formed: %v\n%s", name, err, svg)
			}
			break
		}
	}
	if !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, `aria-label="`) || !strings.Contains(svg, "<title>") {
		t.Fatalf("%s: no role, label or title:\n%s", name, svg)
	}
}

func TestChartsDescribeThemselves(t *testing.T) {
	at := time.Date(2026, 11, 20, 23, 55, 0, 0, time.FixedZone("", 3600))
	v := func(f float64) *float64 { return &f }
	phases := []Phase{{Start: at, Duration: 10 * time.Minute, Name: "awake"}, {Start: at.Add(10 * time.Minute), Duration: 90 * time.Minute, Name: "deep"}}
	h := string(hypnogramChart("2026-11-20", phases))
	wellFormed(t, "hypnogram", h)
	if strings.Count(h, `<rect class="phase`) != 2 || !strings.Contains(h, "deep 1 h 30 min") || !strings.Contains(h, "from 23:55 to 01:35") {
		t.Fatalf("hypnogram:\n%s", h)
	}
	l := string(lineChart("hr", `Heart rate <"&>`, "bpm", []Point{{at, 50}, {at.Add(5 * time.Minute), 71}}))
	wellFormed(t, "line", l)
	if !strings.Contains(l, "Heart rate &lt;&#34;&amp;&gt;") || !strings.Contains(l, "between 50 and 71 bpm") || strings.Count(l, "L") < 1 {
		t.Fatalf("line chart:\n%s", l)
	}
	b := string(barChart("steps", "Steps", "steps", []DayValue{{"2026-11-19", v(1000)}, {"2026-11-20", nil}}))
	wellFormed(t, "bars", b)
	if strings.Count(b, `<rect class="bar"`) != 1 || !strings.Contains(b, "1 day with values from 2026-11-19 to 2026-11-20") {
		t.Fatalf("bar chart:\n%s", b)
	}
	sc := string(scoreChart("scores", "Scores", []Series{{Name: "Sleep", Class: "s-3", Days: []DayValue{{"2026-11-19", v(80)}, {"2026-11-20", v(90)}}}}))
	wellFormed(t, "scores", sc)
	if strings.Count(sc, "<circle") != 2 || !strings.Contains(sc, "Sleep average 85 over 2 days") {
		t.Fatalf("score chart:\n%s", sc)
	}
	for name, svg := range map[string]string{
		"empty hypnogram": string(hypnogramChart("2026-11-20", nil)),
		"empty line":      string(lineChart("hrv", "HRV", "ms", nil)),
		"empty bars":      string(barChart("cal", "Calories", "kcal", []DayValue{{"2026-11-20", nil}})),
		"empty scores":    string(scoreChart("scores", "Scores", nil)),
	} {
		wellFormed(t, name, svg)
	}
	if e := string(scoreChart("scores", "Scores", nil)); !strings.Contains(e, "No scores in this period") {
		t.Fatalf("score chart without series:\n%s", e)
	}
}
