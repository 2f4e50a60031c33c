package sim

// The wire objects, shaped as the recorded answers in the reference
// fixtures show them. Where a field's value is unknown (no device) it is
// left out rather than sent as null, so that every object also fits the
// published schemas, which declare no nullable field.

// Measure is one value of a measure group: the quantity is Value * 10^Unit.
type Measure struct {
	Value int64 `json:"value"`
	Type  int   `json:"type"`
	Unit  int   `json:"unit"`
	Algo  int   `json:"algo"`
	FM    int   `json:"fm"`
}

// MeasureGroup is what getmeas lists: measures taken together.
type MeasureGroup struct {
	GrpID        int64     `json:"grpid"`
	Attrib       int       `json:"attrib"`
	Date         int64     `json:"date"`
	Created      int64     `json:"created"`
	Modified     int64     `json:"modified"`
	Category     int       `json:"category"`
	DeviceID     string    `json:"deviceid,omitempty"`
	HashDeviceID string    `json:"hash_deviceid,omitempty"`
	Measures     []Measure `json:"measures"`
	ModelID      int       `json:"modelid,omitempty"` // spelt as live answers spell it
	Model        string    `json:"model,omitempty"`
}

// Activity is one local day of measurev2 getactivity.
type Activity struct {
	Steps         int     `json:"steps"`
	Distance      float64 `json:"distance"`
	Elevation     float64 `json:"elevation"`
	Soft          int     `json:"soft"`
	Moderate      int     `json:"moderate"`
	Intense       int     `json:"intense"`
	Active        int     `json:"active"`
	Calories      float64 `json:"calories"`
	TotalCalories float64 `json:"totalcalories"`
	HRAverage     *int    `json:"hr_average,omitempty"`
	HRMin         *int    `json:"hr_min,omitempty"`
	HRMax         *int    `json:"hr_max,omitempty"`
	HRZone0       *int    `json:"hr_zone_0,omitempty"`
	HRZone1       *int    `json:"hr_zone_1,omitempty"`
	HRZone2       *int    `json:"hr_zone_2,omitempty"`
	HRZone3       *int    `json:"hr_zone_3,omitempty"`
	DeviceID      string  `json:"deviceid,omitempty"`
	HashDeviceID  string  `json:"hash_deviceid,omitempty"`
	Timezone      string  `json:"timezone"`
	Date          string  `json:"date"`
	Modified      int64   `json:"modified"`
	Brand         int     `json:"brand"`
	ModelID       int     `json:"modelid"`
	Model         string  `json:"model"`
	IsTracker     bool    `json:"is_tracker"`
}

// Workout is one measurev2 getworkouts series item.
type Workout struct {
	ID        int64       `json:"id"`
	Category  int         `json:"category"`
	Timezone  string      `json:"timezone"`
	Model     int         `json:"model"`
	Attrib    int         `json:"attrib"`
	StartDate int64       `json:"startdate"`
	EndDate   int64       `json:"enddate"`
	Date      string      `json:"date"`
	DeviceID  string      `json:"deviceid,omitempty"`
	Data      WorkoutData `json:"data"`
	Modified  int64       `json:"modified"`
}

// WorkoutData is a workout's aggregates.
type WorkoutData struct {
	Calories      int `json:"calories"`
	Intensity     int `json:"intensity"`
	HRAverage     int `json:"hr_average"`
	HRMin         int `json:"hr_min"`
	HRMax         int `json:"hr_max"`
	HRZone0       int `json:"hr_zone_0"`
	HRZone1       int `json:"hr_zone_1"`
	HRZone2       int `json:"hr_zone_2"`
	HRZone3       int `json:"hr_zone_3"`
	PauseDuration int `json:"pause_duration"`
	Steps         int `json:"steps"`
	Distance      int `json:"distance"`
	Elevation     int `json:"elevation"`
	SpO2Average   int `json:"spo2_average,omitempty"`
}

// SleepSummary is one night of sleepv2 getsummary. Data holds the fields
// asked for (data_fields), all numbers.
type SleepSummary struct {
	ID           int64          `json:"id"`
	Timezone     string         `json:"timezone"`
	Model        int            `json:"model"`
	ModelID      int            `json:"model_id"`
	HashDeviceID string         `json:"hash_deviceid"`
	StartDate    int64          `json:"startdate"`
	EndDate      int64          `json:"enddate"`
	Date         string         `json:"date"`
	Data         map[string]any `json:"data"`
	Created      int64          `json:"created"`
	Modified     int64          `json:"modified"`
}

// SleepSegment is one item of sleepv2 get: a run of one state, with the
// asked-for per-minute series keyed by epoch second.
type SleepSegment struct {
	StartDate    int64            `json:"startdate"`
	State        int              `json:"state"`
	EndDate      int64            `json:"enddate"`
	Model        string           `json:"model"`
	HashDeviceID string           `json:"hash_deviceid"`
	ModelID      int              `json:"model_id"`
	HR           map[string]int64 `json:"hr,omitempty"`
	RR           map[string]int64 `json:"rr,omitempty"`
	Snoring      map[string]int64 `json:"snoring,omitempty"`
	SDNN1        map[string]int64 `json:"sdnn_1,omitempty"`
	RMSSD        map[string]int64 `json:"rmssd,omitempty"`
	HRVQuality   map[string]int64 `json:"hrv_quality,omitempty"`
	MvtScore     map[string]int64 `json:"mvt_score,omitempty"`
}

// Device is one userv2 getdevice item.
type Device struct {
	Type             string `json:"type"`
	Battery          string `json:"battery"`
	Model            string `json:"model"`
	ModelID          int    `json:"model_id"`
	Timezone         string `json:"timezone"`
	FirstSessionDate int64  `json:"first_session_date"`
	LastSessionDate  int64  `json:"last_session_date"`
	DeviceID         string `json:"deviceid"`
	HashDeviceID     string `json:"hash_deviceid"`
}

// IntradaySample is one getintradayactivity series value.
type IntradaySample struct {
	DeviceID  string  `json:"deviceid"`
	Model     string  `json:"model"`
	ModelID   int     `json:"model_id"`
	Steps     int     `json:"steps"`
	Elevation float64 `json:"elevation"`
	Calories  float64 `json:"calories"`
	Distance  float64 `json:"distance"`
	Duration  int     `json:"duration"`
	HeartRate int     `json:"heart_rate"`
}

// Sleep states of the high-frequency series.
const (
	StateAwake = 0
	StateLight = 1
	StateDeep  = 2
	StateREM   = 3
)

// Measure types the simulator produces.
const (
	TypeWeight       = 1
	TypeHeight       = 4
	TypeFatFreeMass  = 5
	TypeFatRatio     = 6
	TypeFatMass      = 8
	TypeDiastolic    = 9
	TypeSystolic     = 10
	TypeHeartPulse   = 11
	TypeSpO2         = 54
	TypeBodyTemp     = 71
	TypeSkinTemp     = 73
	TypeMuscleMass   = 76
	TypeHydration    = 77
	TypeBoneMass     = 88
	CategoryReal     = 1
	CategoryGoal     = 2
	AttribDevice     = 0
	AttribUserEntry  = 2
	sleepAnalyzerMod = 32 // getsummary "model": a sleep monitor
)
