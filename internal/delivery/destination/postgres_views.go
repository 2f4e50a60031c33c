package destination

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/health"
)

// ViewColumn is a column of a postgres destination's view: a field of
// the document's record (the object under <pillar>.summary.<name>, each
// item under <pillar>.events.<name>, or user_information), as SQLType.
type ViewColumn struct {
	Name string
	// Path is the field's JSON path below the record, dot-separated.
	Path    string
	SQLType string
}

// Column types of the views.
const (
	sqlInt  = "bigint"
	sqlReal = "double precision"
	sqlText = "text"
	sqlTime = "timestamptz"
	sqlDate = "date"
)

func cols(typ string, pairs ...string) []ViewColumn {
	out := make([]ViewColumn, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, ViewColumn{Name: pairs[i], Path: pairs[i+1], SQLType: typ})
	}
	return out
}

func join(cs ...[]ViewColumn) []ViewColumn {
	var out []ViewColumn
	for _, c := range cs {
		out = append(out, c...)
	}
	return out
}

// Field groups several structures share.
var (
	hrCols = join(cols(sqlInt,
		"hr_avg_bpm", "heart_rate.hr_avg_bpm_int",
		"hr_min_bpm", "heart_rate.hr_minimum_bpm_int",
		"hr_max_bpm", "heart_rate.hr_maximum_bpm_int",
		"hr_resting_bpm", "heart_rate.hr_resting_bpm_int"),
		cols(sqlReal,
			"hrv_avg_rmssd", "heart_rate.hrv_avg_rmssd_float",
			"hrv_avg_sdnn", "heart_rate.hrv_avg_sdnn_float"))
	oxygenCols = cols(sqlInt,
		"saturation_avg_percentage", "oxygenation.saturation_avg_percentage_int",
		"vo2max_ml_per_min_per_kg", "oxygenation.vo2max_mL_per_min_per_kg_int")
	bodyMetricCols = join(
		cols(sqlReal, "weight_kg", "body_metrics.weight_kg_float"),
		cols(sqlInt, "height_cm", "body_metrics.height_cm_int"),
		cols(sqlReal, "bmi", "body_metrics.bmi_float"))
	stressCols = cols(sqlInt,
		"stress_avg_level", "stress.stress_avg_level_int",
		"stress_max_level", "stress.stress_maximum_level_int",
		"stress_duration_seconds", "stress.stress_duration_seconds_int",
		"stress_at_rest_seconds", "stress.stress_at_rest_duration_seconds_int")
	temperatureCols = cols(sqlReal,
		"temperature_avg_celsius", "temperature.temperature_avg_object.temperature_celsius_float",
		"temperature_delta_celsius", "temperature.temperature_delta_object.temperature_celsius_float",
		"temperature_min_celsius", "temperature.temperature_minimum_object.temperature_celsius_float",
		"temperature_max_celsius", "temperature.temperature_maximum_object.temperature_celsius_float")
)

// viewColumns are the columns of each structure's view besides the
// common ones (see ViewColumns), by data_structure name: the fields an
// analyst reaches for first. The whole document stays in the table.
var viewColumns = map[string][]ViewColumn{
	health.SleepSummary: join(
		cols(sqlTime,
			"sleep_start", "duration.sleep_start_datetime_string",
			"sleep_end", "duration.sleep_end_datetime_string"),
		cols(sqlDate, "sleep_date", "duration.sleep_date_string"),
		cols(sqlInt,
			"sleep_duration_seconds", "duration.sleep_duration_seconds_int",
			"time_in_bed_seconds", "duration.time_in_bed_seconds_int",
			"light_sleep_seconds", "duration.light_sleep_duration_seconds_int",
			"rem_sleep_seconds", "duration.rem_sleep_duration_seconds_int",
			"deep_sleep_seconds", "duration.deep_sleep_duration_seconds_int",
			"awake_seconds", "duration.time_awake_during_sleep_seconds_int",
			"time_to_fall_asleep_seconds", "duration.time_to_fall_asleep_seconds_int",
			"sleep_efficiency", "scores.sleep_efficiency_1_100_score_int",
			"sleep_quality_1_5", "scores.sleep_quality_rating_1_5_score_int"),
		hrCols,
		cols(sqlInt,
			"hr_basal_bpm", "heart_rate.hr_basal_bpm_int",
			"breaths_avg_per_min", "breathing.breaths_avg_per_min_int",
			"saturation_avg_percentage", "breathing.saturation_avg_percentage_int"),
		temperatureCols[1:2]),
	health.PhysicalSummary: join(
		cols(sqlInt,
			"steps", "distance.steps_int",
			"active_steps", "distance.active_steps_int"),
		cols(sqlReal,
			"walked_distance_meters", "distance.walked_distance_meters_float",
			"traveled_distance_meters", "distance.traveled_distance_meters_float",
			"floors_climbed", "distance.floors_climbed_float",
			"calories_expenditure_kcal", "calories.calories_expenditure_kcal_float",
			"calories_net_active_kcal", "calories.calories_net_active_kcal_float",
			"calories_basal_metabolic_rate_kcal", "calories.calories_basal_metabolic_rate_kcal_float",
			"calories_net_intake_kcal", "calories.calories_net_intake_kcal_float"),
		cols(sqlInt,
			"active_seconds", "activity.active_seconds_int",
			"rest_seconds", "activity.rest_seconds_int",
			"inactivity_seconds", "activity.inactivity_seconds_int",
			"low_intensity_seconds", "activity.low_intensity_seconds_int",
			"moderate_intensity_seconds", "activity.moderate_intensity_seconds_int",
			"vigorous_intensity_seconds", "activity.vigorous_intensity_seconds_int"),
		hrCols, oxygenCols, stressCols),
	health.BodySummary: join(
		bodyMetricCols, hrCols, oxygenCols,
		cols(sqlInt,
			"blood_glucose_avg_mg_per_dl", "blood_glucose.blood_glucose_avg_mg_per_dL_int",
			"systolic_avg_mmhg", "blood_pressure.blood_pressure_avg_object.systolic_mmHg_int",
			"diastolic_avg_mmhg", "blood_pressure.blood_pressure_avg_object.diastolic_mmHg_int",
			"water_total_ml", "hydration.water_total_consumption_mL_int",
			"mood_avg_scale", "mood.mood_avg_scale_int"),
		cols(sqlReal, "calories_intake_kcal", "nutrition.calories_intake_kcal_float"),
		temperatureCols),
	health.ActivityEvent: join(
		cols(sqlTime,
			"activity_start", "activity.activity_start_datetime_string",
			"activity_end", "activity.activity_end_datetime_string"),
		cols(sqlInt, "activity_duration_seconds", "activity.activity_duration_seconds_int"),
		cols(sqlText, "activity_type", "activity.activity_type_name_string"),
		cols(sqlInt,
			"active_seconds", "activity.active_seconds_int",
			"steps", "distance.steps_int"),
		cols(sqlReal,
			"walked_distance_meters", "distance.walked_distance_meters_float",
			"traveled_distance_meters", "distance.traveled_distance_meters_float",
			"calories_expenditure_kcal", "calories.calories_expenditure_kcal_float",
			"calories_net_active_kcal", "calories.calories_net_active_kcal_float"),
		hrCols, oxygenCols),
	health.HeartRateEvent:   hrCols,
	health.OxygenationEvent: oxygenCols,
	health.StressEvent:      stressCols,
	health.BodyMetricsEvent: bodyMetricCols,
	health.TemperatureEvent: temperatureCols,
	health.BloodGlucoseEvent: cols(sqlInt,
		"blood_glucose_avg_mg_per_dl", "blood_glucose.blood_glucose_avg_mg_per_dL_int"),
	health.BloodPressureEvent: cols(sqlInt,
		"systolic_avg_mmhg", "blood_pressure.blood_pressure_avg_object.systolic_mmHg_int",
		"diastolic_avg_mmhg", "blood_pressure.blood_pressure_avg_object.diastolic_mmHg_int"),
	health.HydrationEvent: cols(sqlInt, "water_total_ml", "hydration.water_total_consumption_mL_int"),
	health.MoodEvent:      cols(sqlInt, "mood_avg_scale", "mood.mood_avg_scale_int"),
	health.NutritionEvent: cols(sqlReal,
		"calories_intake_kcal", "nutrition.calories_intake_kcal_float",
		"protein_intake_g", "nutrition.protein_intake_g_float",
		"carbohydrates_intake_g", "nutrition.carbohydrates_intake_g_float",
		"fat_intake_g", "nutrition.fat_intake_g_float"),
	health.UserInfo: join(
		cols(sqlReal, "weight_kg", "user_body_metrics.weight_kg_float"),
		cols(sqlInt, "height_cm", "user_body_metrics.height_cm_int"),
		cols(sqlText,
			"sex", "user_demographics.sex_string",
			"date_of_birth", "user_demographics.date_of_birth_string",
			"time_zone", "user_demographics.time_zone_string")),
}

// View describes the view of one structure.
type View struct {
	// Name is the view's name: "wearlink_" and the structure's name as
	// Doc.Structure gives it.
	Name      string
	Structure health.Structure
	// Columns are the fields after the common columns: client_uuid,
	// user_id, day, key, document_version, written_at, datetime (the
	// record's metadata.datetime_string) and, for events, event_index
	// (the event's position in the document, from 1).
	Columns []ViewColumn
}

// Views lists the views of a postgres destination, one per structure.
func Views() []View {
	var out []View
	for _, s := range health.Structures() {
		out = append(out, View{
			Name:      tablePrefix + StructureName(s.Pillar, s.Name),
			Structure: s,
			Columns:   viewColumns[s.Name],
		})
	}
	return out
}

// jsonPath is the SQL expression of a text value at the dot-separated
// path below rec.
func jsonPath(rec, path string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	b.WriteString(rec)
	for i, p := range parts {
		if i == len(parts)-1 {
			b.WriteString("->>")
		} else {
			b.WriteString("->")
		}
		b.WriteString(quoteLiteral(p))
	}
	return b.String()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// viewSQL is the statement that creates v over table (sanitized).
func viewSQL(name, table string, v View) string {
	s := v.Structure
	var rec, from string
	sel := []string{"d.client_uuid", "d.user_id", "d.day", "d.key", "d.document_version", "d.written_at"}
	switch s.Kind {
	case health.KindEvent:
		rec = "e.rec"
		from = fmt.Sprintf("%s d CROSS JOIN LATERAL jsonb_array_elements(d.document->%s->'events'->%s) WITH ORDINALITY AS e(rec, event_index)",
			table, quoteLiteral(s.Pillar), quoteLiteral(s.Name))
		sel = append(sel, "e.event_index")
	case health.KindSummary:
		rec = fmt.Sprintf("(d.document->%s->'summary'->%s)", quoteLiteral(s.Pillar), quoteLiteral(s.Name))
		from = table + " d"
	default: // user_info
		rec = "(d.document->'user_information')"
		from = table + " d"
	}
	meta := rec
	if s.Kind == health.KindInfo {
		meta = "d.document"
	}
	sel = append(sel, fmt.Sprintf("(%s)::%s AS datetime", jsonPath(meta, "metadata.datetime_string"), sqlTime))
	for _, c := range v.Columns {
		cast := "::" + c.SQLType
		if c.SQLType == sqlInt {
			// Through numeric, so that 42.0 reads as 42 rather than failing.
			cast = "::numeric::" + sqlInt
		}
		sel = append(sel, fmt.Sprintf("(%s)%s AS %s", jsonPath(rec, c.Path), cast, pgx.Identifier{c.Name}.Sanitize()))
	}
	return fmt.Sprintf("CREATE VIEW %s AS\nSELECT %s\nFROM %s\nWHERE d.pillar = %s AND d.data_structure = %s",
		name, strings.Join(sel, ",\n  "), from, quoteLiteral(s.Pillar), quoteLiteral(s.Name))
}
