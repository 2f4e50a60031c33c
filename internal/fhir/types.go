package fhir

import "encoding/json"

// Systems and code systems the resources use.
const (
	// LOINC codes the observations.
	LOINC = "http://loinc.org"
	// UCUM codes every unit.
	UCUM = "http://unitsofmeasure.org"
	// CategorySystem is FHIR's observation-category code system.
	CategorySystem = "http://terminology.hl7.org/CodeSystem/observation-category"
	// Metrics is wearlink's code system for what LOINC has no code for, or
	// has a code that would say something else (HRV RMSSD: LOINC 80404-7 is
	// SDNN). Its codes are listed in Metric* below and in the README.
	Metrics = "https://wearlink.dev/fhir/CodeSystem/metrics"
	// UserSystem is the namespace of the Patient identifier: the client's
	// user_id, prefixed by the client so two apps' users never collide.
	UserSystem = "https://wearlink.dev/fhir/user"
	// DataSourceSystem identifies a Device by the provider's slug.
	DataSourceSystem = "https://wearlink.dev/fhir/data-source"
	// RawSystem prefixes the system of a raw document's identifier:
	// RawSystem/<data_source>/<collection>.
	RawSystem = "https://wearlink.dev/fhir/raw"
)

// Observation categories.
const (
	CategoryVitalSigns = "vital-signs"
	CategoryActivity   = "activity"
)

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Has reports whether the concept has the code in the system.
func (c CodeableConcept) Has(system, code string) bool {
	for _, x := range c.Coding {
		if x.System == system && x.Code == code {
			return true
		}
	}
	return false
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Reference is a FHIR Reference: a literal one (Patient/x) or, for what
// has no FHIR resource of its own (a provider's raw document), a logical
// one by identifier.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Meta is a resource's meta.
type Meta struct {
	VersionID string   `json:"versionId,omitempty"`
	Source    string   `json:"source,omitempty"`
	Profile   []string `json:"profile,omitempty"`
}

// Period is a FHIR Period.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Quantity is a FHIR Quantity with a UCUM unit.
type Quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

// SampledData is a FHIR SampledData: values on a regular grid of Period
// milliseconds from the Observation's start, "E" where there is no value.
type SampledData struct {
	Origin     Quantity `json:"origin"`
	Period     float64  `json:"period"`
	Dimensions int      `json:"dimensions"`
	Data       string   `json:"data"`
}

// Component is an Observation.component (the two pressures of a blood
// pressure panel).
type Component struct {
	Code          CodeableConcept `json:"code"`
	ValueQuantity *Quantity       `json:"valueQuantity,omitempty"`
}

// Observation is a FHIR R4 Observation.
type Observation struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id"`
	Meta              Meta              `json:"meta"`
	Identifier        []Identifier      `json:"identifier,omitempty"`
	Status            string            `json:"status"`
	Category          []CodeableConcept `json:"category,omitempty"`
	Code              CodeableConcept   `json:"code"`
	Subject           Reference         `json:"subject"`
	EffectiveDateTime string            `json:"effectiveDateTime,omitempty"`
	EffectivePeriod   *Period           `json:"effectivePeriod,omitempty"`
	ValueQuantity     *Quantity         `json:"valueQuantity,omitempty"`
	ValueSampledData  *SampledData      `json:"valueSampledData,omitempty"`
	Device            *Reference        `json:"device,omitempty"`
	DerivedFrom       []Reference       `json:"derivedFrom,omitempty"`
	Component         []Component       `json:"component,omitempty"`
}

// HasCategory reports whether o is filed under the observation category.
func (o *Observation) HasCategory(code string) bool {
	for _, c := range o.Category {
		if c.Has(CategorySystem, code) {
			return true
		}
	}
	return false
}

// Patient is a FHIR R4 Patient: pseudonymous, the client's user_id as its
// only identifier. No name, contact, sex or birth date leaves wearlink
// this way.
type Patient struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Identifier   []Identifier `json:"identifier"`
	Active       bool         `json:"active"`
}

// DeviceName is an item of Device.deviceName.
type DeviceName struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Device is a FHIR R4 Device: one provider account of a user.
type Device struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Identifier   []Identifier     `json:"identifier"`
	Manufacturer string           `json:"manufacturer,omitempty"`
	DeviceName   []DeviceName     `json:"deviceName,omitempty"`
	ModelNumber  string           `json:"modelNumber,omitempty"`
	Type         *CodeableConcept `json:"type,omitempty"`
	Patient      *Reference       `json:"patient,omitempty"`
}

// BundleLink is a Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleSearch is Bundle.entry.search.
type BundleSearch struct {
	Mode string `json:"mode"`
}

// BundleEntry is a Bundle.entry.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource"`
	Search   *BundleSearch   `json:"search,omitempty"`
}

// Bundle is a FHIR R4 Bundle.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// Issue is an OperationOutcome.issue.
type Issue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// OperationOutcome is a FHIR R4 OperationOutcome, the body of every error
// of the FHIR routes.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Outcome builds an OperationOutcome of one error issue. code is FHIR's
// issue type (invalid, not-found, security, ...).
func Outcome(code, diagnostics string) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{Severity: "error", Code: code, Diagnostics: diagnostics}}}
}
