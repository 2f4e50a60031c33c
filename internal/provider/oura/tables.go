package oura

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/normkit"
)

var _ provider.Tabler = (*Provider)(nil)

// Names of the long tables of granular samples.
const (
	TableSleepHeartRate = "sleep_heart_rate"   // sleep.heart_rate, every 5 minutes
	TableSleepHRV       = "sleep_hrv"          // sleep.hrv, every 5 minutes
	TableSleepPhases    = "sleep_hypnogram"    // sleep.sleep_phase_5_min, one row per 5-minute slot
	TableActivityMET    = "activity_met"       // daily_activity.met, every minute
	TableHeartRate      = "heartrate"          // the heartrate collection's rows
	TableInterbeat      = "interbeat_interval" // the interbeat_interval rows, one per interval
)

func str(s string) provider.Cell { return provider.Cell{Kind: provider.CellString, Text: s} }
func num(s string) provider.Cell { return provider.Cell{Kind: provider.CellNumber, Text: s} }

// cellBlock hands out rows cut from larger blocks: a year's tables have
// half a million rows, each a small allocation of its own otherwise.
type cellBlock []provider.Cell

// row is a copy of cells in the block.
func (b *cellBlock) row(cells ...provider.Cell) []provider.Cell {
	if len(*b) < len(cells) {
		*b = make([]provider.Cell, max(4096, len(cells)))
	}
	r := (*b)[:len(cells):len(cells)]
	copy(r, cells)
	*b = (*b)[len(cells):]
	return r
}

// sampleRows adds one row per item of a sample series (items[i] is the
// value at timestamp + i*interval seconds, nil where nothing was
// measured): owner id, day, the sample's time with the series' own offset,
// and the value.
func sampleRows(t *provider.Table, b *cellBlock, s *Sample, id string, day Date) {
	if s == nil {
		return
	}
	start, err := s.Timestamp.Time()
	if err != nil || s.Interval <= 0 {
		return
	}
	step := time.Duration(s.Interval * float64(time.Second))
	// The series' times share one string: a day of MET minutes is 1,440
	// of them.
	st := normkit.NewStamps(len(s.Items))
	for i := range s.Items {
		st.AddRFC3339(start.Add(time.Duration(i) * step))
	}
	ats := st.Strings()
	for i, item := range s.Items {
		v := provider.Cell{}
		if item != nil {
			v = num(strconv.FormatFloat(*item, 'f', -1, 64))
		}
		t.Rows = append(t.Rows, b.row(str(id), str(string(day)), str(ats[i]), v))
	}
}

// decoded is a document's model: the one its reader kept in Decoded, else
// decoded from its bytes.
func decoded[T any](d provider.Document) (*T, bool) {
	if v, ok := d.Decoded.(*T); ok && v != nil {
		return v, true
	}
	v := new(T)
	if json.Unmarshal(d.Raw, v) != nil {
		return nil, false
	}
	return v, true
}

var phaseNames = map[rune]string{'1': "deep", '2': "light", '3': "rem", '4': "awake"}

// Tables implements provider.Tabler: the samples of sleep periods (heart
// rate, HRV, hypnogram), the MET minutes of daily activity and the
// heartrate and interbeat_interval rows, one row each, in the order of
// docs. loc places the heartrate and interbeat rows on days.
func (p *Provider) Tables(docs []provider.Document, loc *time.Location) []provider.Table {
	if loc == nil {
		loc = time.UTC
	}
	hr := provider.Table{Name: TableSleepHeartRate, Columns: []string{"sleep_id", "day", "timestamp", "value"}}
	hrv := provider.Table{Name: TableSleepHRV, Columns: []string{"sleep_id", "day", "timestamp", "value"}}
	phases := provider.Table{Name: TableSleepPhases, Columns: []string{"sleep_id", "day", "timestamp", "phase", "phase_name"}}
	met := provider.Table{Name: TableActivityMET, Columns: []string{"activity_id", "day", "timestamp", "value"}}
	beats := provider.Table{Name: TableHeartRate, Columns: []string{"day", "timestamp", "bpm", "source"}}
	ibi := provider.Table{Name: TableInterbeat, Columns: []string{"day", "timestamp", "ibi", "validity"}}

	// The sleep periods first, then activity, then heart rate, whatever
	// order the collections come in.
	// The models are read where the documents keep them, not copied.
	var (
		sleeps     []*Sleep
		activities []*DailyActivity
		rows       []*HeartRate
		intervals  []*InterbeatInterval
	)
	for _, d := range docs {
		switch d.Collection {
		case CollSleep:
			if s, ok := decoded[Sleep](d); ok {
				sleeps = append(sleeps, s)
			}
		case CollDailyActivity:
			if a, ok := decoded[DailyActivity](d); ok {
				activities = append(activities, a)
			}
		case CollHeartRate:
			if h, ok := decoded[HeartRate](d); ok {
				rows = append(rows, h)
			}
		case CollInterbeatInterval:
			if v, ok := decoded[InterbeatInterval](d); ok {
				intervals = append(intervals, v)
			}
		}
	}
	var block cellBlock
	beats.Rows = make([][]provider.Cell, 0, len(rows))
	ibi.Rows = make([][]provider.Cell, 0, len(intervals))
	for _, s := range sleeps {
		sampleRows(&hr, &block, s.HeartRate, s.ID, s.Day)
		sampleRows(&hrv, &block, s.HRV, s.ID, s.Day)
		start, err := s.BedtimeStart.Time()
		if s.SleepPhase5Min == nil || err != nil {
			continue
		}
		for i, ph := range []rune(*s.SleepPhase5Min) {
			at := start.Add(time.Duration(i) * 5 * time.Minute).Format(time.RFC3339)
			phases.Rows = append(phases.Rows, block.row(str(s.ID), str(string(s.Day)), str(at), num(string(ph)), str(phaseNames[ph])))
		}
	}
	n := 0
	for _, a := range activities {
		n += len(a.MET.Items)
	}
	met.Rows = make([][]provider.Cell, 0, n)
	for _, a := range activities {
		sampleRows(&met, &block, &a.MET, a.ID, a.Day)
	}
	for _, h := range rows {
		t, err := h.Timestamp.Time()
		if err != nil {
			continue
		}
		beats.Rows = append(beats.Rows, block.row(str(t.In(loc).Format(time.DateOnly)), str(string(h.Timestamp)), num(strconv.FormatInt(int64(h.BPM), 10)), str(string(h.Source))))
	}
	for _, v := range intervals {
		t, err := v.Timestamp.Time()
		if err != nil {
			continue
		}
		ibi.Rows = append(ibi.Rows, block.row(str(t.In(loc).Format(time.DateOnly)), str(string(v.Timestamp)),
			num(strconv.Itoa(v.IBI)), num(strconv.Itoa(int(v.Validity)))))
	}
	return []provider.Table{hr, hrv, phases, met, beats, ibi}
}
