// Package common holds what the SQLite and PostgreSQL stores share beyond
// SQL: validation, content hashes, token sealing and cursor merging, so
// that both implement exactly the same semantics.
package common

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// Now returns a clock reading at the precision both databases keep
// (PostgreSQL timestamps have microseconds), in UTC, so that a value read
// back equals the value written.
func Now(clock func() time.Time) time.Time {
	return Time(clock())
}

// Time truncates t to microseconds in UTC; the zero time stays zero.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Hash is the content hash of a raw or health document body.
func Hash(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// ValidStatus reports an EINVALID error for an unknown connection status.
func ValidStatus(s string) error {
	switch s {
	case store.StatusActive, store.StatusReauthRequired, store.StatusRevoked, store.StatusSubscriptionRequired, store.StatusAppUpdateRequired:
		return nil
	}
	return health.Errorf(health.EINVALID, "unknown connection status %q", s)
}

// Associated data for the sealed token columns: the row's natural key,
// which never changes, so a token copied to another connection or column
// does not open.
func tokenAD(column string, c *store.Connection) []byte {
	return secret.AD("connections."+column, c.ClientUUID, c.UserID, c.DataSource)
}

// SealTokens seals a connection's access and refresh tokens.
func SealTokens(s *secret.Sealer, c *store.Connection) (access, refresh []byte, err error) {
	if access, err = s.SealString(c.Tokens.AccessToken, tokenAD("access_token", c)); err != nil {
		return nil, nil, err
	}
	if refresh, err = s.SealString(c.Tokens.RefreshToken, tokenAD("refresh_token", c)); err != nil {
		return nil, nil, err
	}
	return access, refresh, nil
}

// OpenTokens opens the sealed token columns into c.Tokens.
func OpenTokens(s *secret.Sealer, c *store.Connection, access, refresh []byte) error {
	var err error
	if c.Tokens.AccessToken, err = s.OpenString(access, tokenAD("access_token", c)); err != nil {
		return fmt.Errorf("connection %d access token: %w", c.ID, err)
	}
	if c.Tokens.RefreshToken, err = s.OpenString(refresh, tokenAD("refresh_token", c)); err != nil {
		return fmt.Errorf("connection %d refresh token: %w", c.ID, err)
	}
	return nil
}

// EncodeScopes and DecodeScopes keep scopes as a JSON array.
func EncodeScopes(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// DecodeScopes is the inverse of EncodeScopes; no scopes decode to nil.
func DecodeScopes(s []byte) ([]string, error) {
	var out []string
	if len(s) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(s, &out); err != nil {
		return nil, fmt.Errorf("decode scopes: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// EncodeCursors and DecodeCursors keep cursors as a JSON object.
func EncodeCursors(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// DecodeCursors always returns a non-nil map, so callers can read and
// write it without a check.
func DecodeCursors(s []byte) (map[string]string, error) {
	out := map[string]string{}
	if len(s) == 0 {
		return out, nil
	}
	if err := json.Unmarshal(s, &out); err != nil {
		return nil, fmt.Errorf("decode cursors: %w", err)
	}
	return out, nil
}

// RawKey identifies a raw document.
type RawKey struct {
	ConnectionID int64
	Collection   string
	ExternalID   string
}

// RawInput is a raw document prepared for writing.
type RawInput struct {
	store.RawDocument
	Key RawKey
}

// PrepareRaw validates docs, sets their hashes and fetch times, and keeps
// the last of several documents with the same identity (the newest copy
// wins, as it would had they come in separate calls).
func PrepareRaw(docs []store.RawDocument, now time.Time) ([]RawInput, error) {
	out := make([]RawInput, 0, len(docs))
	index := make(map[RawKey]int, len(docs))
	for i, d := range docs {
		switch {
		case d.ConnectionID <= 0:
			return nil, health.Errorf(health.EINVALID, "raw document %d: no connection", i)
		case d.Collection == "":
			return nil, health.Errorf(health.EINVALID, "raw document %d: no collection", i)
		case d.ExternalID == "":
			return nil, health.Errorf(health.EINVALID, "raw document %d (%s): no id", i, d.Collection)
		case !json.Valid(d.Body):
			return nil, health.Errorf(health.EINVALID, "raw document %s %s: body is not JSON", d.Collection, d.ExternalID)
		}
		if d.Day != "" {
			if _, err := time.Parse(time.DateOnly, d.Day); err != nil {
				return nil, health.Errorf(health.EINVALID, "raw document %s %s: day %q is not YYYY-MM-DD", d.Collection, d.ExternalID, d.Day)
			}
		}
		d.Hash = Hash(d.Body)
		d.FetchedAt = Time(d.FetchedAt)
		if d.FetchedAt.IsZero() {
			d.FetchedAt = now
		}
		d.UpdatedAt = now
		k := RawKey{d.ConnectionID, d.Collection, d.ExternalID}
		if j, ok := index[k]; ok {
			out[j].RawDocument = d
			continue
		}
		index[k] = len(out)
		out = append(out, RawInput{RawDocument: d, Key: k})
	}
	return out, nil
}

// Days collects the days to re-normalize: sorted, unique, no "".
type Days map[string]struct{}

// Add records a day.
func (d Days) Add(day string) {
	if day != "" {
		d[day] = struct{}{}
	}
}

// Sorted returns the days in order, nil when none.
func (d Days) Sorted() []string {
	if len(d) == 0 {
		return nil
	}
	out := make([]string, 0, len(d))
	for k := range d {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HealthKey identifies a health document.
type HealthKey struct {
	ClientUUID, UserID, DataStructure, Pillar, Key string
}

// HealthInput is a health document prepared for writing.
type HealthInput struct {
	HealthKey
	Day  string
	Doc  health.Doc
	Hash []byte
	// Given is the document_version the caller's Doc had, restored when
	// the write fails.
	Given int

	body0 []byte // the document encoded with document_version 0
}

// RestoreVersions undoes the versions Encode set, after a failed write.
func RestoreVersions(in []HealthInput) {
	for i := range in {
		in[i].Doc.Envelope().DocumentVersion = in[i].Given
	}
}

// PrepareHealth validates the documents and computes each one's content
// hash: the SHA-256 of its JSON with document_version 0, so that the
// version a caller happens to have set does not count as a change. Of
// several documents with the same identity the last is kept. The result
// is sorted by identity, which makes the order locks are taken in the same
// for every caller.
func PrepareHealth(in []store.HealthInput) ([]HealthInput, error) {
	out := make([]HealthInput, 0, len(in))
	index := make(map[HealthKey]int, len(in))
	for i, h := range in {
		if h.Doc == nil {
			return nil, health.Errorf(health.EINVALID, "health document %d: no document", i)
		}
		if h.Key == "" {
			return nil, health.Errorf(health.EINVALID, "health document %d (%s): no key", i, h.Doc.DataStructure())
		}
		env := h.Doc.Envelope()
		hdr := *env
		hdr.DocumentVersion = 1 // checked apart from the version, which the store sets
		if err := hdr.Validate(); err != nil {
			return nil, fmt.Errorf("health document %s %s: %w", h.Doc.DataStructure(), h.Key, err)
		}
		hash, body0, err := contentHash(h.Doc)
		if err != nil {
			return nil, err
		}
		k := HealthKey{env.ClientUUID, env.UserID, h.Doc.DataStructure(), h.Doc.Pillar(), h.Key}
		hi := HealthInput{HealthKey: k, Day: env.Day, Doc: h.Doc, Hash: hash, Given: env.DocumentVersion, body0: body0}
		if j, ok := index[k]; ok {
			out[j] = hi
			continue
		}
		index[k] = len(out)
		out = append(out, hi)
	}
	slices.SortFunc(out, func(a, b HealthInput) int { return CompareHealthKeys(a.HealthKey, b.HealthKey) })
	return out, nil
}

// CompareHealthKeys orders identities field by field.
func CompareHealthKeys(a, b HealthKey) int {
	for _, c := range [...][2]string{
		{a.ClientUUID, b.ClientUUID}, {a.UserID, b.UserID}, {a.DataStructure, b.DataStructure},
		{a.Pillar, b.Pillar}, {a.Key, b.Key},
	} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// contentHash encodes d with document_version 0 and hashes the bytes. It
// returns them too: Encode turns them into the stored body without
// encoding the document a second time (encoding is most of the cost of
// storing a document).
func contentHash(d health.Doc) (hash, body []byte, err error) {
	env := d.Envelope()
	saved := env.DocumentVersion
	env.DocumentVersion = 0
	body, err = json.Marshal(d)
	env.DocumentVersion = saved
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s: %w", d.DataStructure(), err)
	}
	return Hash(body), body, nil
}

// versionField is how the envelope's document_version 0 appears in a
// document encoded by contentHash.
var versionField = []byte(`"document_version":0`)

// Encode sets the document's version and returns the body to store: the
// bytes json.Marshal gives for the document at that version.
func (h *HealthInput) Encode(version int) ([]byte, error) {
	h.Doc.Envelope().DocumentVersion = version
	if b, ok := withVersion(h.body0, version); ok {
		return b, nil
	}
	b, err := json.Marshal(h.Doc)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", h.DataStructure, h.Key, err)
	}
	return b, nil
}

// withVersion rewrites document_version 0 to v in a document encoded by
// contentHash. Every document type writes its envelope (client_uuid,
// user_id, version, document_version) first, and a quote inside a JSON
// string is escaped, so the first `"document_version":0` followed by a
// delimiter is the envelope's. ok is false when the bytes do not have
// that shape; the caller then encodes the document again.
func withVersion(body0 []byte, v int) ([]byte, bool) {
	if !bytes.HasPrefix(body0, []byte(`{"client_uuid":`)) {
		return nil, false
	}
	i := bytes.Index(body0, versionField)
	end := i + len(versionField)
	if i < 0 || end >= len(body0) || (body0[end] != ',' && body0[end] != '}') {
		return nil, false
	}
	out := make([]byte, 0, len(body0)+10)
	out = append(out, body0[:end-1]...)
	out = strconv.AppendInt(out, int64(v), 10)
	return append(out, body0[end:]...), true
}

// SameHash compares content hashes.
func SameHash(a, b []byte) bool { return bytes.Equal(a, b) }

// ValidClient checks a client before it is written.
func ValidClient(c store.Client) error {
	if c.UUID == "" {
		return health.Errorf(health.EINVALID, "client_uuid is required")
	}
	if c.Settings != nil && !json.Valid(c.Settings) {
		return health.Errorf(health.EINVALID, "client %s: settings are not JSON", c.UUID)
	}
	return nil
}

// ValidUser checks a user before it is written.
func ValidUser(u store.User) error {
	if u.ClientUUID == "" {
		return health.Errorf(health.EINVALID, "client_uuid is required")
	}
	if !health.ValidUserID(u.UserID) {
		return health.Errorf(health.EINVALID, "user_id %q must be 1 to 50 letters, digits or hyphens", u.UserID)
	}
	if u.TimeZone != "" {
		if _, err := time.LoadLocation(u.TimeZone); err != nil {
			return health.Errorf(health.EINVALID, "time zone %q is unknown", u.TimeZone)
		}
	}
	if u.Info != nil && !json.Valid(u.Info) {
		return health.Errorf(health.EINVALID, "user %s: information is not JSON", u.UserID)
	}
	return nil
}

// ValidNewConnection checks a connection to create and fills the default
// status, active. The data source is required: the store serves every
// provider and cannot guess one.
func ValidNewConnection(c *store.Connection) error {
	if err := ValidUser(store.User{ClientUUID: c.ClientUUID, UserID: c.UserID}); err != nil {
		return err
	}
	if c.DataSource == "" {
		return health.Errorf(health.EINVALID, "connection of user %s: a data source is required", c.UserID)
	}
	if c.Status == "" {
		c.Status = store.StatusActive
	}
	return ValidStatus(c.Status)
}

// HealthWhere builds the WHERE clause of a health document query, with ?
// placeholders.
func HealthWhere(q store.HealthQuery) (string, []any, error) {
	if q.ClientUUID == "" {
		return "", nil, health.Errorf(health.EINVALID, "client_uuid is required")
	}
	var b strings.Builder
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(cond)
	}
	add("client_uuid = ?", q.ClientUUID)
	if q.UserID != "" {
		add("user_id = ?", q.UserID)
	}
	if q.DataStructure != "" {
		add("data_structure = ?", q.DataStructure)
	}
	if q.Pillar != "" {
		add("pillar = ?", q.Pillar)
	}
	switch {
	case q.Day != "":
		add("day = ?", q.Day)
	default:
		if q.FromDay != "" {
			add("day >= ?", q.FromDay)
		}
		if q.ToDay != "" {
			add("day <= ?", q.ToDay)
		}
	}
	return b.String(), args, nil
}
