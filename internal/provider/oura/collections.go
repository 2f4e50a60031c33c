package oura

import (
	"reflect"
	"slices"
)

// RangeKind says which query parameters a collection's list route takes.
type RangeKind int

const (
	// RangeDate routes take start_date and end_date.
	RangeDate RangeKind = iota
	// RangeDateTime routes (heartrate, interbeat_interval, ring_battery_level)
	// take start_datetime and end_datetime.
	RangeDateTime
	// RangeNone routes (ring_configuration) take only next_token.
	RangeNone
	// RangeSingleton is personal_info: the route is the document.
	RangeSingleton
)

// FilterKind is how the live API applies start_date/end_date to a
// collection (notes section 3.3). It decides how far a query for local days
// must be widened.
type FilterKind int

const (
	// FilterDay compares the document's day with both ends, inclusive.
	FilterDay FilterKind = iota
	// FilterInstantInclusive compares an instant of the document (timestamp,
	// bedtime_start, start_time) with start_date 00:00 UTC and end_date 00:00
	// UTC, both inclusive. daily_readiness and daily_sleep, whose timestamp is
	// day T00:00+00:00, end up inclusive; daily_activity, whose timestamp is
	// day T04:00 local, ends up end-exclusive.
	FilterInstantInclusive
	// FilterInstantExclusive is the same with an exclusive end (workout,
	// session: the UTC start time).
	FilterInstantExclusive
	// FilterDateTime compares the row timestamp with start_datetime
	// (inclusive) and end_datetime (exclusive).
	FilterDateTime
	// FilterNone: the route returns everything.
	FilterNone
)

// KeyField is the field that identifies a document among its collection's.
type KeyField string

const (
	// KeyID is the document's id.
	KeyID KeyField = "id"
	// KeyTimestamp is the row's timestamp: time-series rows have no id.
	KeyTimestamp KeyField = "timestamp"
)

// Collection describes one /v2/usercollection route and its documents. It
// is the one list of Oura's collections: decoding for normalization, the
// sync engine and `wearlink normalize` all read it, so adding a collection
// is a row here, its model and its mapping.
type Collection struct {
	// Name is the path segment, exactly as in the URL (note "vO2_max").
	Name string
	// DataType is the webhook data_type, "" where Oura sends no webhooks.
	DataType DataType
	// Scope is the OAuth scope the live API enforces for the route.
	Scope  string
	Range  RangeKind
	Filter FilterKind
	// Single is true when /{document_id} exists.
	Single bool
	// Sandbox is true when /v2/sandbox/usercollection/<name> exists.
	Sandbox bool

	// Model is the type one document decodes to.
	Model reflect.Type
	// Key is the field whose value identifies a document: the store's
	// external id and the key of its bytes kept for attachments.
	Key KeyField
	// Required are fields every document of the collection has, not null.
	// A document of another collection usually lacks one, so a reader of
	// files (which cannot trust a file's name) checks them before decoding
	// rather than getting an empty value.
	Required []string
}

// Collection names as they appear in paths.
const (
	CollDailyActivity          = "daily_activity"
	CollDailyCardiovascularAge = "daily_cardiovascular_age"
	CollDailyReadiness         = "daily_readiness"
	CollDailyResilience        = "daily_resilience"
	CollDailySleep             = "daily_sleep"
	CollDailySpO2              = "daily_spo2"
	CollDailyStress            = "daily_stress"
	CollEnhancedTag            = "enhanced_tag"
	CollHeartRate              = "heartrate"
	CollInterbeatInterval      = "interbeat_interval"
	CollPersonalInfo           = "personal_info"
	CollRestModePeriod         = "rest_mode_period"
	CollRingBatteryLevel       = "ring_battery_level"
	CollRingConfiguration      = "ring_configuration"
	CollSession                = "session"
	CollSleep                  = "sleep"
	CollSleepTime              = "sleep_time"
	CollTag                    = "tag"
	CollVO2Max                 = "vO2_max"
	CollWorkout                = "workout"
)

// Collections lists the 20 collections of API v2 (spec 1.37 and the
// interbeat_interval route of the April 2026 document), in path order.
var collections = []Collection{
	{Name: CollDailyActivity, DataType: "daily_activity", Scope: "daily", Range: RangeDate, Filter: FilterInstantInclusive, Single: true, Sandbox: true,
		Model: reflect.TypeFor[DailyActivity](), Key: KeyID, Required: []string{"day"}},
	{Name: CollDailyCardiovascularAge, DataType: "daily_cardiovascular_age", Scope: "heart_health", Range: RangeDate, Filter: FilterDay, Single: true, Sandbox: true,
		Model: reflect.TypeFor[DailyCardiovascularAge](), Key: KeyID, Required: []string{"day"}},
	{Name: CollDailyReadiness, DataType: "daily_readiness", Scope: "daily", Range: RangeDate, Filter: FilterInstantInclusive, Single: true, Sandbox: true,
		Model: reflect.TypeFor[DailyReadiness](), Key: KeyID, Required: []string{"day"}},
	{Name: CollDailyResilience, DataType: "daily_resilience", Scope: "stress", Range: RangeDate, Filter: FilterDay, Single: true, Sandbox: true,
		Model: reflect.TypeFor[DailyResilience](), Key: KeyID, Required: []string{"day"}},
	{Name: CollDailySleep, DataType: "daily_sleep", Scope: "daily", Range: RangeDate, Filter: FilterInstantInclusive, Single: true, Sandbox: true,
		Model: reflect.TypeFor[DailySleep](), Key: KeyID, Required: []string{"day"}},
	{Name: CollDailySpO2, DataType: "daily_spo2", Scope: "spo2", Range: RangeDate, Filter: FilterDay, Single: true, Sandbox: true,
		Model: reflect.TypeFor[DailySpO2](), Key: KeyID, Required: []string{"day"}},
	{Name: CollDailyStress, DataType: "daily_stress", Scope: "daily", Range: RangeDate, Filter: FilterDay, Single: true, Sandbox: true,
		Model: reflect.TypeFor[DailyStress](), Key: KeyID, Required: []string{"day"}},
	{Name: CollEnhancedTag, DataType: "enhanced_tag", Scope: "tag", Range: RangeDate, Filter: FilterInstantInclusive, Single: true, Sandbox: true,
		Model: reflect.TypeFor[EnhancedTag](), Key: KeyID, Required: []string{"start_time"}},
	{Name: CollHeartRate, Scope: "heartrate", Range: RangeDateTime, Filter: FilterDateTime, Sandbox: true,
		Model: reflect.TypeFor[HeartRate](), Key: KeyTimestamp, Required: []string{"bpm", "timestamp"}},
	// Back in the API document of April 2026 (it was in 1.29 only). The
	// document names no scope; the rows are heart data, so heartrate's.
	{Name: CollInterbeatInterval, Scope: "heartrate", Range: RangeDateTime, Filter: FilterDateTime, Sandbox: true,
		Model: reflect.TypeFor[InterbeatInterval](), Key: KeyTimestamp, Required: []string{"ibi", "validity", "timestamp"}},
	{Name: CollPersonalInfo, Scope: "", Range: RangeSingleton, Filter: FilterNone,
		Model: reflect.TypeFor[PersonalInfo](), Key: KeyID},
	{Name: CollRestModePeriod, DataType: "rest_mode_period", Scope: "daily", Range: RangeDate, Filter: FilterDay, Single: true, Sandbox: true,
		Model: reflect.TypeFor[RestModePeriod](), Key: KeyID, Required: []string{"start_day"}},
	{Name: CollRingBatteryLevel, Scope: "ring_configuration", Range: RangeDateTime, Filter: FilterDateTime, Sandbox: true,
		Model: reflect.TypeFor[RingBatteryLevel](), Key: KeyTimestamp, Required: []string{"level", "timestamp"}},
	{Name: CollRingConfiguration, DataType: "ring_configuration", Scope: "ring_configuration", Range: RangeNone, Filter: FilterNone, Single: true, Sandbox: true,
		Model: reflect.TypeFor[RingConfiguration](), Key: KeyID},
	{Name: CollSession, DataType: "session", Scope: "session", Range: RangeDate, Filter: FilterInstantExclusive, Single: true, Sandbox: true,
		Model: reflect.TypeFor[Session](), Key: KeyID, Required: []string{"day", "start_datetime", "end_datetime"}},
	{Name: CollSleep, DataType: "sleep", Scope: "daily", Range: RangeDate, Filter: FilterInstantInclusive, Single: true, Sandbox: true,
		Model: reflect.TypeFor[Sleep](), Key: KeyID, Required: []string{"day", "bedtime_start", "bedtime_end"}},
	{Name: CollSleepTime, DataType: "sleep_time", Scope: "daily", Range: RangeDate, Filter: FilterDay, Single: true, Sandbox: true,
		Model: reflect.TypeFor[SleepTime](), Key: KeyID, Required: []string{"day"}},
	{Name: CollTag, DataType: "tag", Scope: "tag", Range: RangeDate, Filter: FilterDay, Single: true, Sandbox: true,
		Model: reflect.TypeFor[Tag](), Key: KeyID, Required: []string{"day", "timestamp"}},
	{Name: CollVO2Max, DataType: "vo2_max", Scope: "heart_health", Range: RangeDate, Filter: FilterDay, Single: true, Sandbox: true,
		Model: reflect.TypeFor[VO2Max](), Key: KeyID, Required: []string{"day", "vo2_max"}},
	{Name: CollWorkout, DataType: "workout", Scope: "workout", Range: RangeDate, Filter: FilterInstantExclusive, Single: true, Sandbox: true,
		Model: reflect.TypeFor[Workout](), Key: KeyID, Required: []string{"day", "start_datetime", "end_datetime"}},
}

// Collections returns the 20 collections of API v2 (a copy).
func Collections() []Collection {
	out := make([]Collection, len(collections))
	for i, c := range collections {
		out[i] = c.clone()
	}
	return out
}

// clone copies the row's slices, so that no caller can change the table.
func (c Collection) clone() Collection {
	c.Required = slices.Clone(c.Required)
	return c
}

// LookupCollection finds a collection by path name or webhook data_type
// (so "vo2_max" from a notification finds "vO2_max").
func LookupCollection(name string) (Collection, bool) {
	for _, c := range collections {
		if c.Name == name || (c.DataType != "" && string(c.DataType) == name) {
			return c.clone(), true
		}
	}
	return Collection{}, false
}

// Scopes are the OAuth scopes wearlink asks for: those of spec 1.37 plus the
// ones the live API enforces without documenting them (stress,
// ring_configuration, heart_health) and the newer name spo2.
var defaultScopes = []string{"email", "personal", "daily", "heartrate", "workout", "tag", "session", "spo2", "spo2Daily", "stress", "ring_configuration", "heart_health"}

// DefaultScopes returns the scopes requested by default (a copy).
func DefaultScopes() []string { return append([]string(nil), defaultScopes...) }

// WebhookDataTypes are the data types a subscription can name (ExtApiV2DataType).
var webhookDataTypes = []DataType{"tag", "enhanced_tag", "workout", "session", "sleep", "daily_sleep", "daily_readiness", "daily_activity", "daily_spo2", "sleep_time", "rest_mode_period", "ring_configuration", "daily_stress", "daily_cardiovascular_age", "daily_resilience", "vo2_max", "meal"}

// WebhookDataTypes returns every ExtApiV2DataType (a copy).
func WebhookDataTypes() []DataType { return append([]DataType(nil), webhookDataTypes...) }
