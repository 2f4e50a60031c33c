// Package health is wearlink's normalized domain: Go types for every ROOK
// data structure (API 2.0.1), the names and pillars those structures are
// filed under, the document envelope shared by the store, the REST API and
// webhook delivery, and the application's error kinds.
//
// It imports only the standard library, because every other package imports
// it.
//
// # Wire shape
//
// Each structure has a document type (SleepSummaryDocument,
// ActivityEventDocument, ...) whose JSON is exactly what ROOK publishes:
//
//	{"client_uuid": ..., "user_id": ..., "version": 2, "document_version": 1,
//	 "auto_detected": ...,                      // events only
//	 "data_structure": "activity_event",
//	 "physical_health": {"events": {"activity_event": [ {...} ]}}}
//
// Summaries nest one object under <pillar>.summary.<name>; events nest an
// array under <pillar>.events.<name>; user_info carries metadata and
// user_information at the top level. The Go types keep the nesting out of
// the way (doc.Summary, doc.Events) and MarshalJSON/UnmarshalJSON produce
// and read the published shape, so "version" and "data_structure" can never
// be wrong.
//
// # Unknown is null
//
// Inside a document every scalar is a pointer and every array a slice with
// no omitempty: a value the source did not provide is JSON null, never 0 or
// "", and every key the schema defines is always present. Build values with
// Int, Float, String, Bool and Datetime.
//
// # Published typos
//
// ROOK's OpenAPI document misspells a few keys. We emit the correct spelling
// (the one the rest of the schema and ROOK's own builders use); Typos lists
// every such decision and TYPOS.md explains them.
package health
