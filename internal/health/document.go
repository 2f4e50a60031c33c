package health

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Header is the envelope every document carries. ClientUUID, UserID and
// DocumentVersion are emitted as client_uuid, user_id and document_version;
// Day is ours, not ROOK's: the user's local day (YYYY-MM-DD) the document
// belongs to, which the store indexes and the API's date parameter selects.
// It is not part of the JSON.
type Header struct {
	ClientUUID      string
	UserID          string
	DocumentVersion int
	Day             string
}

// Envelope returns the header itself, so that code holding any Doc can set
// the client, the user, the version and the day.
func (h *Header) Envelope() *Header { return h }

// ValidUserID reports whether s is a user_id ROOK accepts: 1 to 50 ASCII
// letters, digits or hyphens.
func ValidUserID(s string) bool {
	if len(s) < 1 || len(s) > 50 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Validate reports an EINVALID error when the header cannot be stored or
// delivered.
func (h Header) Validate() error {
	switch {
	case h.ClientUUID == "":
		return Errorf(EINVALID, "client_uuid is required")
	case !ValidUserID(h.UserID):
		return Errorf(EINVALID, "user_id %q must be 1 to 50 letters, digits or hyphens", h.UserID)
	case h.DocumentVersion < 1:
		return Errorf(EINVALID, "document_version must be at least 1, got %d", h.DocumentVersion)
	}
	if _, err := time.Parse(time.DateOnly, h.Day); err != nil {
		return Errorf(EINVALID, "day %q is not a YYYY-MM-DD date", h.Day)
	}
	return nil
}

// Doc is implemented by a pointer to every document type
// (*SleepSummaryDocument, *ActivityEventDocument, ...). json.Marshal of a
// Doc gives the published JSON; json.Unmarshal into one reads it.
type Doc interface {
	// DataStructure is the data_structure name, e.g. "sleep_summary".
	DataStructure() string
	// Pillar is the pillar the structure is filed under.
	Pillar() string
	// Envelope gives access to the header fields.
	Envelope() *Header
}

// Document is a document at rest or in transit: the identifying fields the
// store, the API and delivery need, next to the JSON body they serve as is.
type Document struct {
	DataStructure   string
	Pillar          string
	Day             string
	ClientUUID      string
	UserID          string
	DocumentVersion int
	Body            json.RawMessage
}

// Encode validates d's header and marshals it into a Document.
func Encode(d Doc) (Document, error) {
	h := d.Envelope()
	if err := h.Validate(); err != nil {
		return Document{}, fmt.Errorf("encode %s: %w", d.DataStructure(), err)
	}
	body, err := json.Marshal(d)
	if err != nil {
		return Document{}, fmt.Errorf("encode %s: %w", d.DataStructure(), err)
	}
	return Document{
		DataStructure:   d.DataStructure(),
		Pillar:          d.Pillar(),
		Day:             h.Day,
		ClientUUID:      h.ClientUUID,
		UserID:          h.UserID,
		DocumentVersion: h.DocumentVersion,
		Body:            body,
	}, nil
}

// Decode turns a Document back into its typed form.
func Decode(doc Document) (Doc, error) {
	s, ok := Lookup(doc.Pillar, doc.DataStructure)
	if !ok {
		return nil, Errorf(EINVALID, "unknown data structure %s/%s", doc.Pillar, doc.DataStructure)
	}
	d := s.New()
	if err := json.Unmarshal(doc.Body, d); err != nil {
		return nil, err
	}
	d.Envelope().Day = doc.Day
	return d, nil
}

// Parse reads a document in the published JSON shape, finding its type
// from data_structure and the pillar key present. Day is left empty.
func Parse(body []byte) (Doc, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, Errorf(EINVALID, "parse document: %v", err)
	}
	var name string
	if err := json.Unmarshal(top["data_structure"], &name); err != nil || name == "" {
		return nil, Errorf(EINVALID, "parse document: no data_structure")
	}
	for _, s := range Structures() {
		if _, ok := top[s.Pillar]; ok && s.Name == name {
			d := s.New()
			if err := json.Unmarshal(body, d); err != nil {
				return nil, err
			}
			return d, nil
		}
	}
	return nil, Errorf(EINVALID, "parse document: unknown data structure %q", name)
}

// wireHead is the part of the envelope every structure shares, in the order
// ROOK emits it.
type wireHead struct {
	ClientUUID      string `json:"client_uuid"`
	UserID          string `json:"user_id"`
	Version         int    `json:"version"`
	DocumentVersion int    `json:"document_version"`
}

// writeHead writes the envelope up to and including data_structure, leaving
// the object open. auto_detected is written for events only, null when
// unknown.
func writeHead(b *bytes.Buffer, h Header, event bool, autoDetected *bool, name string) error {
	head, err := json.Marshal(wireHead{h.ClientUUID, h.UserID, StructureVersion, h.DocumentVersion})
	if err != nil {
		return err
	}
	b.Write(head[:len(head)-1])
	if event {
		ad, err := json.Marshal(autoDetected)
		if err != nil {
			return err
		}
		b.WriteString(`,"auto_detected":`)
		b.Write(ad)
	}
	b.WriteString(`,"data_structure":"` + name + `"`)
	return nil
}

// marshalNested emits the envelope and payload nested as
// <pillar>.<section>.<name>.
func marshalNested(h Header, event bool, autoDetected *bool, name, pillar string, payload any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeHead(&b, h, event, autoDetected, name); err != nil {
		return nil, err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	section := "summary"
	if event {
		section = "events"
	}
	b.WriteString(`,"` + pillar + `":{"` + section + `":{"` + name + `":`)
	b.Write(p)
	b.WriteString(`}}}`)
	return b.Bytes(), nil
}

// readHead decodes the envelope into h and checks that the document is the
// expected structure.
func readHead(data []byte, h *Header, autoDetected **bool, name string) (map[string]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, Errorf(EINVALID, "decode %s: %v", name, err)
	}
	var w struct {
		wireHead
		AutoDetected  *bool  `json:"auto_detected"`
		DataStructure string `json:"data_structure"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, Errorf(EINVALID, "decode %s: %v", name, err)
	}
	if w.DataStructure != name {
		return nil, Errorf(EINVALID, "decode %s: data_structure is %q", name, w.DataStructure)
	}
	if _, ok := top["version"]; ok && w.Version != StructureVersion {
		return nil, Errorf(EINVALID, "decode %s: version %d is not %d", name, w.Version, StructureVersion)
	}
	h.ClientUUID, h.UserID, h.DocumentVersion = w.ClientUUID, w.UserID, w.DocumentVersion
	if autoDetected != nil {
		*autoDetected = w.AutoDetected
	}
	return top, nil
}

// unmarshalNested reads a document written by marshalNested. The pillar
// object must be present, so that a body-pillar document is not silently
// read as an empty physical one.
func unmarshalNested(data []byte, h *Header, event bool, autoDetected **bool, name, pillar string, payload any) error {
	top, err := readHead(data, h, autoDetected, name)
	if err != nil {
		return err
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(top[pillar], &p); err != nil || p == nil {
		return Errorf(EINVALID, "decode %s: no %s object", name, pillar)
	}
	section := "summary"
	if event {
		section = "events"
	}
	var s map[string]json.RawMessage
	if raw, ok := p[section]; ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			return Errorf(EINVALID, "decode %s: %s.%s: %v", name, pillar, section, err)
		}
	}
	raw, ok := s[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, payload); err != nil {
		return Errorf(EINVALID, "decode %s: %v", name, err)
	}
	return nil
}

// userInfoBody is the part of user_info after data_structure.
type userInfoBody struct {
	Metadata        Metadata        `json:"metadata"`
	UserInformation UserInformation `json:"user_information"`
}

// DataStructure implements Doc.
func (UserInfoDocument) DataStructure() string { return UserInfo }

// Pillar implements Doc.
func (UserInfoDocument) Pillar() string { return PillarUser }

// MarshalJSON emits the published user_info shape.
func (d UserInfoDocument) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := writeHead(&b, d.Header, false, nil, UserInfo); err != nil {
		return nil, err
	}
	rest, err := json.Marshal(userInfoBody{d.Metadata, d.UserInformation})
	if err != nil {
		return nil, err
	}
	b.WriteByte(',')
	b.Write(rest[1:])
	return b.Bytes(), nil
}

// UnmarshalJSON reads the published user_info shape.
func (d *UserInfoDocument) UnmarshalJSON(data []byte) error {
	if _, err := readHead(data, &d.Header, nil, UserInfo); err != nil {
		return err
	}
	var body userInfoBody
	if err := json.Unmarshal(data, &body); err != nil {
		return Errorf(EINVALID, "decode %s: %v", UserInfo, err)
	}
	d.Metadata, d.UserInformation = body.Metadata, body.UserInformation
	return nil
}

// The remaining methods are the same three lines per structure: name,
// pillar, and the nesting of the payload.

// DataStructure implements Doc.
func (SleepSummaryDocument) DataStructure() string { return SleepSummary }

// Pillar implements Doc.
func (SleepSummaryDocument) Pillar() string { return PillarSleep }

// MarshalJSON emits the published shape.
func (d SleepSummaryDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, false, nil, SleepSummary, PillarSleep, d.Summary)
}

// UnmarshalJSON reads the published shape.
func (d *SleepSummaryDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, false, nil, SleepSummary, PillarSleep, &d.Summary)
}

// DataStructure implements Doc.
func (PhysicalSummaryDocument) DataStructure() string { return PhysicalSummary }

// Pillar implements Doc.
func (PhysicalSummaryDocument) Pillar() string { return PillarPhysical }

// MarshalJSON emits the published shape.
func (d PhysicalSummaryDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, false, nil, PhysicalSummary, PillarPhysical, d.Summary)
}

// UnmarshalJSON reads the published shape.
func (d *PhysicalSummaryDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, false, nil, PhysicalSummary, PillarPhysical, &d.Summary)
}

// DataStructure implements Doc.
func (BodySummaryDocument) DataStructure() string { return BodySummary }

// Pillar implements Doc.
func (BodySummaryDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d BodySummaryDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, false, nil, BodySummary, PillarBody, d.Summary)
}

// UnmarshalJSON reads the published shape.
func (d *BodySummaryDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, false, nil, BodySummary, PillarBody, &d.Summary)
}

// DataStructure implements Doc.
func (ActivityEventDocument) DataStructure() string { return ActivityEvent }

// Pillar implements Doc.
func (ActivityEventDocument) Pillar() string { return PillarPhysical }

// MarshalJSON emits the published shape.
func (d ActivityEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, ActivityEvent, PillarPhysical, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *ActivityEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, ActivityEvent, PillarPhysical, &d.Events)
}

// DataStructure implements Doc.
func (PhysicalHeartRateEventDocument) DataStructure() string { return HeartRateEvent }

// Pillar implements Doc.
func (PhysicalHeartRateEventDocument) Pillar() string { return PillarPhysical }

// MarshalJSON emits the published shape.
func (d PhysicalHeartRateEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, HeartRateEvent, PillarPhysical, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *PhysicalHeartRateEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, HeartRateEvent, PillarPhysical, &d.Events)
}

// DataStructure implements Doc.
func (PhysicalOxygenationEventDocument) DataStructure() string { return OxygenationEvent }

// Pillar implements Doc.
func (PhysicalOxygenationEventDocument) Pillar() string { return PillarPhysical }

// MarshalJSON emits the published shape.
func (d PhysicalOxygenationEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, OxygenationEvent, PillarPhysical, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *PhysicalOxygenationEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, OxygenationEvent, PillarPhysical, &d.Events)
}

// DataStructure implements Doc.
func (StressEventDocument) DataStructure() string { return StressEvent }

// Pillar implements Doc.
func (StressEventDocument) Pillar() string { return PillarPhysical }

// MarshalJSON emits the published shape.
func (d StressEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, StressEvent, PillarPhysical, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *StressEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, StressEvent, PillarPhysical, &d.Events)
}

// DataStructure implements Doc.
func (BodyMetricsEventDocument) DataStructure() string { return BodyMetricsEvent }

// Pillar implements Doc.
func (BodyMetricsEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d BodyMetricsEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, BodyMetricsEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *BodyMetricsEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, BodyMetricsEvent, PillarBody, &d.Events)
}

// DataStructure implements Doc.
func (BodyHeartRateEventDocument) DataStructure() string { return HeartRateEvent }

// Pillar implements Doc.
func (BodyHeartRateEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d BodyHeartRateEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, HeartRateEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *BodyHeartRateEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, HeartRateEvent, PillarBody, &d.Events)
}

// DataStructure implements Doc.
func (BodyOxygenationEventDocument) DataStructure() string { return OxygenationEvent }

// Pillar implements Doc.
func (BodyOxygenationEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d BodyOxygenationEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, OxygenationEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *BodyOxygenationEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, OxygenationEvent, PillarBody, &d.Events)
}

// DataStructure implements Doc.
func (NutritionEventDocument) DataStructure() string { return NutritionEvent }

// Pillar implements Doc.
func (NutritionEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d NutritionEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, NutritionEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *NutritionEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, NutritionEvent, PillarBody, &d.Events)
}

// DataStructure implements Doc.
func (MoodEventDocument) DataStructure() string { return MoodEvent }

// Pillar implements Doc.
func (MoodEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d MoodEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, MoodEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *MoodEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, MoodEvent, PillarBody, &d.Events)
}

// DataStructure implements Doc.
func (HydrationEventDocument) DataStructure() string { return HydrationEvent }

// Pillar implements Doc.
func (HydrationEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d HydrationEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, HydrationEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *HydrationEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, HydrationEvent, PillarBody, &d.Events)
}

// DataStructure implements Doc.
func (BloodGlucoseEventDocument) DataStructure() string { return BloodGlucoseEvent }

// Pillar implements Doc.
func (BloodGlucoseEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d BloodGlucoseEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, BloodGlucoseEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *BloodGlucoseEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, BloodGlucoseEvent, PillarBody, &d.Events)
}

// DataStructure implements Doc.
func (BloodPressureEventDocument) DataStructure() string { return BloodPressureEvent }

// Pillar implements Doc.
func (BloodPressureEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d BloodPressureEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, BloodPressureEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *BloodPressureEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, BloodPressureEvent, PillarBody, &d.Events)
}

// DataStructure implements Doc.
func (TemperatureEventDocument) DataStructure() string { return TemperatureEvent }

// Pillar implements Doc.
func (TemperatureEventDocument) Pillar() string { return PillarBody }

// MarshalJSON emits the published shape.
func (d TemperatureEventDocument) MarshalJSON() ([]byte, error) {
	return marshalNested(d.Header, true, d.AutoDetected, TemperatureEvent, PillarBody, d.Events)
}

// UnmarshalJSON reads the published shape.
func (d *TemperatureEventDocument) UnmarshalJSON(b []byte) error {
	return unmarshalNested(b, &d.Header, true, &d.AutoDetected, TemperatureEvent, PillarBody, &d.Events)
}
