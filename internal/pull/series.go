package pull

import (
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/export"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/oura/normalize"
)

// Names of the long-format tables of granular samples.
const (
	SleepHeartRate = "sleep_heart_rate" // sleep.heart_rate, every 5 minutes
	SleepHRV       = "sleep_hrv"        // sleep.hrv, every 5 minutes
	SleepPhases    = "sleep_hypnogram"  // sleep.sleep_phase_5_min, one row per 5-minute slot
	ActivityMET    = "activity_met"     // daily_activity.met, every minute
	HeartRate      = "heartrate"        // the heartrate collection's rows
)

type namedTable struct {
	name  string
	table *export.Table
}

// sampleRows adds one row per item of an Oura sample series (items[i] is
// the value at timestamp + i*interval seconds, nil where nothing was
// measured): owner id, day, the sample's time with the series' own offset,
// and the value.
func sampleRows(t *export.Table, s *oura.Sample, id string, day oura.Date) {
	if s == nil {
		return
	}
	start, err := s.Timestamp.Time()
	if err != nil || s.Interval <= 0 {
		return
	}
	step := time.Duration(s.Interval * float64(time.Second))
	for i, item := range s.Items {
		v := export.NullValue()
		if item != nil {
			v = export.Num(strconv.FormatFloat(*item, 'f', -1, 64))
		}
		at := start.Add(time.Duration(i) * step).Format(time.RFC3339)
		t.Rows = append(t.Rows, []export.Value{export.Str(id), export.Str(string(day)), export.Str(at), v})
	}
}

var phaseNames = map[rune]string{'1': "deep", '2': "light", '3': "rem", '4': "awake"}

// seriesTables unrolls the granular samples of the decoded documents.
func seriesTables(in *normalize.Input, loc *time.Location) []namedTable {
	hr := &export.Table{Columns: []string{"sleep_id", "day", "timestamp", "value"}}
	hrv := &export.Table{Columns: []string{"sleep_id", "day", "timestamp", "value"}}
	phases := &export.Table{Columns: []string{"sleep_id", "day", "timestamp", "phase", "phase_name"}}
	for _, s := range in.Sleep {
		sampleRows(hr, s.HeartRate, s.ID, s.Day)
		sampleRows(hrv, s.HRV, s.ID, s.Day)
		start, err := s.BedtimeStart.Time()
		if s.SleepPhase5Min == nil || err != nil {
			continue
		}
		for i, p := range []rune(*s.SleepPhase5Min) {
			at := start.Add(time.Duration(i) * 5 * time.Minute).Format(time.RFC3339)
			phases.Rows = append(phases.Rows, []export.Value{export.Str(s.ID), export.Str(string(s.Day)), export.Str(at), export.Num(string(p)), export.Str(phaseNames[p])})
		}
	}

	met := &export.Table{Columns: []string{"activity_id", "day", "timestamp", "value"}}
	for _, a := range in.DailyActivity {
		sampleRows(met, &a.MET, a.ID, a.Day)
	}

	beats := &export.Table{Columns: []string{"day", "timestamp", "bpm", "source"}}
	for _, h := range in.HeartRate {
		t, err := h.Timestamp.Time()
		if err != nil {
			continue
		}
		beats.Rows = append(beats.Rows, []export.Value{export.Str(t.In(loc).Format(time.DateOnly)), export.Str(string(h.Timestamp)), export.Int(int64(h.BPM)), export.Str(string(h.Source))})
	}
	return []namedTable{{SleepHeartRate, hr}, {SleepHRV, hrv}, {SleepPhases, phases}, {ActivityMET, met}, {HeartRate, beats}}
}
