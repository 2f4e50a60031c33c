package normkit

import (
	"encoding/json"
	"strconv"
)

// Items of non_structured_data_array.
//
// A provider document that has no field of its own in ROOK's structures is
// attached to a document of its day inside a wrapper:
//
//	{"source": "<provider>", "collection": "<the provider's collection>",
//	 "role": "<optional, see below>", "document": { ...the document... }}
//
// Each provider's normalizer says which collection goes where.

// Roles of attached items, the same for every provider so that a receiver
// reads them once.
const (
	RoleMain       = "main"       // the sleep period a summary maps
	RoleNap        = "nap"        // a sleep period left out of the summary
	RoleDeleted    = "deleted"    // a period the provider marks deleted
	RoleSuperseded = "superseded" // an older document of a day that has a newer one
	RoleHypnogram  = "hypnogram"  // sleep stages over time, derived
	RoleSources    = "sources"    // which source produced heart-rate samples, derived
)

// Wrap builds the attachment item for a document's JSON.
func Wrap(source, coll, role string, raw []byte) json.RawMessage {
	b := make([]byte, 0, len(raw)+64+len(source)+len(coll)+len(role))
	b = append(b, `{"source":`...)
	b = strconv.AppendQuote(b, source)
	b = append(b, `,"collection":`...)
	b = strconv.AppendQuote(b, coll)
	if role != "" {
		b = append(b, `,"role":`...)
		b = strconv.AppendQuote(b, role)
	}
	b = append(b, `,"document":`...)
	b = append(b, raw...)
	b = append(b, '}')
	return b
}

// Derived marshals an item a normalizer computes itself (a hypnogram,
// source runs). Its fields are plain values, so encoding cannot fail.
func Derived(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
