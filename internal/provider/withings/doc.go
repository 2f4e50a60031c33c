// Package withings reads the Withings Public API (scales, blood-pressure
// monitors, thermometers, watches, the sleep analyzer) and serves it
// through the provider seam.
//
// Withings is unlike the other providers: every call is a form POST with
// an action, errors come back as HTTP 200 with a status code in the body,
// notifications are per user and per category, carry a time window
// instead of an id, and are not signed.
//
// A stored document is one object of an answer, kept as Withings sent it:
// a measure group, a day's activity, a workout, a sleep summary, a
// sleep-series segment, a device. A measure group does not carry a zone of
// its own (the answer's body does), so splitting a getmeas answer copies
// the body's "timezone" into each group that lacks one: each stored group
// then stands alone, offline as in the store.
package withings

// DataSource is Withings' slug in ROOK's API and wearlink's store; Name is
// how ROOK spells the source in sources_of_data.
const (
	DataSource = "withings"
	Name       = "Withings"
)

// The live hosts, for the composition root's configuration. Nothing in
// this package falls back to them: an empty URL is an error.
const (
	LiveAPIBaseURL = "https://wbsapi.withings.net"
	LiveAuthURL    = "https://account.withings.com/oauth2_user/authorize2"
)

// Collection names. Withings has no collection names of its own; these
// follow its actions.
const (
	// CollMeasure: measure getmeas, one measure group per document, ID
	// the grpid, day the local day of its "date" in its zone.
	CollMeasure = "measure"
	// CollActivity: measurev2 getactivity, one day per document, ID and
	// day its "date" (YYYY-MM-DD).
	CollActivity = "activity"
	// CollWorkout: measurev2 getworkouts, ID its "id", day its "date".
	CollWorkout = "workout"
	// CollSleepSummary: sleepv2 getsummary, ID its "id", day its "date".
	CollSleepSummary = "sleep_summary"
	// CollSleep: sleepv2 get, the high-frequency series: one segment
	// (startdate, enddate, state, and the hr/rr/snoring... maps keyed by
	// epoch second) per document, ID its startdate, day the local day of
	// its enddate. A time series.
	CollSleep = "sleep"
	// CollDevice: userv2 getdevice, one device per document, ID its
	// hash_deviceid (deviceid where absent), no day; read whole.
	CollDevice = "device"
)

// Notification categories (appli) and what each one announces.
const (
	AppliWeight      = 1
	AppliTemperature = 2
	AppliPressure    = 4 // blood pressure, heart rate, SpO2
	AppliActivity    = 16
	AppliSleep       = 44
	AppliUserAction  = 46
	AppliBedIn       = 50
	AppliBedOut      = 51
	AppliECG         = 55 // ECG results live in the heart service, not read
)
