package httpapi

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	// Zone names come from clients; the answer must not depend on whether
	// the host has a zoneinfo database (static binaries often run without).
	_ "time/tzdata"

	"github.com/wearlink/wearlink/internal/store"
)

var offsetRE = regexp.MustCompile(`^[+-]\d{2}:\d{2}$`)

// formatOffset renders a UTC offset in seconds as +HH:MM.
func formatOffset(secs int) string {
	sign := '+'
	if secs < 0 {
		sign, secs = '-', -secs
	}
	return fmt.Sprintf("%c%02d:%02d", sign, secs/3600, secs%3600/60)
}

// loadZone accepts an IANA zone name ("America/Los_Angeles", "UTC").
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, invalid("time_zone is required: an IANA name such as America/Los_Angeles.")
	}
	if name == "Local" || strings.ContainsAny(name, " \\") || strings.HasPrefix(name, "/") {
		return nil, invalid("time_zone %s is not an IANA time zone name such as America/Los_Angeles.", quoteShort(name))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalid("time_zone %s is not an IANA time zone name such as America/Los_Angeles.", quoteShort(name))
	}
	return loc, nil
}

// zoneOffsets lists the offsets a zone uses in the year around t, standard
// first: a client may send the standard offset (ROOK's reference asks for
// it) or the one in effect now.
func zoneOffsets(loc *time.Location, t time.Time) []string {
	seen := map[int]bool{}
	var secs []int
	start := time.Date(t.Year(), 1, 1, 12, 0, 0, 0, time.UTC)
	add := func(at time.Time) {
		_, off := at.In(loc).Zone()
		if !seen[off] {
			seen[off] = true
			secs = append(secs, off)
		}
	}
	add(t)
	for m := range 12 {
		add(start.AddDate(0, m, 14))
	}
	// The standard offset is the smaller one wherever daylight saving
	// moves clocks forward (nearly everywhere).
	slices.Sort(secs)
	out := make([]string, len(secs))
	for i, s := range secs {
		out[i] = formatOffset(s)
	}
	return out
}

type timeZoneBody struct {
	TimeZone *string `json:"time_zone"`
	Offset   *string `json:"offset"`
}

// postTimeZone serves POST /api/v1/user_id/{user_id}/time_zone
// {"time_zone", "offset"}: an IANA name and an offset it uses. The user is
// created when new, as ROOK creates users on first contact.
func (a *API) postTimeZone(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	var body timeZoneBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.TimeZone == nil {
		return invalid("time_zone is required: an IANA name such as America/Los_Angeles.")
	}
	loc, err := loadZone(*body.TimeZone)
	if err != nil {
		return err
	}
	if body.Offset == nil || *body.Offset == "" {
		return invalid("offset is required, as +HH:MM or -HH:MM, for example -08:00 for America/Los_Angeles.")
	}
	if !offsetRE.MatchString(*body.Offset) {
		return invalid("offset %s is not +HH:MM or -HH:MM.", quoteShort(*body.Offset))
	}
	offsets := zoneOffsets(loc, a.now())
	if !slices.Contains(offsets, *body.Offset) {
		return invalid("offset %s does not match %s, whose UTC offsets are %s.", *body.Offset, *body.TimeZone, strings.Join(offsets, " and "))
	}
	if err := a.upsertUser(r.Context(), store.User{ClientUUID: c.UUID, UserID: userID, TimeZone: *body.TimeZone}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, message{"Time zone and offset successfully updated for the user."})
	return nil
}

// getTimeZone serves GET /api/v1/user_id/{user_id}/time_zone: the stored
// zone and its offset now; 204 when none is set.
func (a *API) getTimeZone(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	u, err := a.getUser(r.Context(), c.UUID, userID)
	if err != nil {
		return err
	}
	if u.TimeZone == "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	offset := ""
	if loc, err := time.LoadLocation(u.TimeZone); err == nil {
		_, secs := a.now().In(loc).Zone()
		offset = formatOffset(secs)
	}
	writeJSON(w, http.StatusOK, map[string]string{"user_id": userID, "time_zone": u.TimeZone, "offset": offset})
	return nil
}
