package whoop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Paths of the v2 routes, relative to the base URL.
const (
	pathCycle       = "/v2/cycle"
	pathRecovery    = "/v2/recovery"
	pathSleep       = "/v2/activity/sleep"
	pathWorkout     = "/v2/activity/workout"
	pathProfile     = "/v2/user/profile/basic"
	pathBody        = "/v2/user/measurement/body"
	pathUserAccess  = "/v2/user/access"
	MaxLimit        = 25 // the spec's maximum page size
	timeQueryLayout = "2006-01-02T15:04:05.000Z"
)

// User makes the calls of one WHOOP user.
type User struct {
	c    *Client
	auth Auth
}

// User returns the caller for one user's data.
func (c *Client) User(auth Auth) *User { return &User{c: c, auth: auth} }

// Range selects records of a collection route with WHOOP's semantics:
// records that started at or after Start (inclusive) and that intersect End
// or ended before it (exclusive). A zero Start is no lower bound; a zero
// End is WHOOP's default, now.
type Range struct {
	Start, End time.Time
}

func (r Range) values() url.Values {
	v := url.Values{"limit": {strconv.Itoa(MaxLimit)}}
	if !r.Start.IsZero() {
		v.Set("start", r.Start.UTC().Format(timeQueryLayout))
	}
	if !r.End.IsZero() {
		v.Set("end", r.End.UTC().Format(timeQueryLayout))
	}
	return v
}

// list follows nextToken to the last page. WHOOP sorts by start,
// descending; the records are returned in the order received.
func list[T any](ctx context.Context, u *User, path string, r Range) ([]Record[T], error) {
	var out []Record[T]
	seen := map[string]bool{}
	params := r.values()
	for {
		var p page[T]
		err := u.c.do(ctx, request{method: http.MethodGet, path: path, query: params, auth: u.auth,
			decode: func(b []byte) error { p = page[T]{}; return json.Unmarshal(b, &p) }})
		if err != nil {
			return out, err
		}
		out = append(out, p.Records...)
		if p.NextToken == nil || *p.NextToken == "" {
			return out, nil
		}
		// A cursor that comes back again would loop for ever.
		if seen[*p.NextToken] {
			return out, &Error{Kind: provider.KindServer, Method: http.MethodGet, Path: path, Detail: "next_token repeats"}
		}
		seen[*p.NextToken] = true
		// The request parameter is camelCase, the response field is not;
		// the window and limit go with every page.
		params = r.values()
		params.Set("nextToken", *p.NextToken)
	}
}

// get reads one document.
func get[T any](ctx context.Context, u *User, path string) (Record[T], error) {
	var rec Record[T]
	err := u.c.do(ctx, request{method: http.MethodGet, path: path, auth: u.auth,
		decode: func(b []byte) error { rec = Record[T]{}; return json.Unmarshal(b, &rec) }})
	return rec, err
}

// Cycles lists physiological cycles.
func (u *User) Cycles(ctx context.Context, r Range) ([]Record[Cycle], error) {
	return list[Cycle](ctx, u, pathCycle, r)
}

// Recoveries lists recoveries (sorted by their sleep's start).
func (u *User) Recoveries(ctx context.Context, r Range) ([]Record[Recovery], error) {
	return list[Recovery](ctx, u, pathRecovery, r)
}

// Sleeps lists sleep activities.
func (u *User) Sleeps(ctx context.Context, r Range) ([]Record[Sleep], error) {
	return list[Sleep](ctx, u, pathSleep, r)
}

// Workouts lists workout activities.
func (u *User) Workouts(ctx context.Context, r Range) ([]Record[Workout], error) {
	return list[Workout](ctx, u, pathWorkout, r)
}

// Cycle reads a cycle by its integer id.
func (u *User) Cycle(ctx context.Context, id string) (Record[Cycle], error) {
	if err := checkCycleID(id); err != nil {
		return Record[Cycle]{}, err
	}
	return get[Cycle](ctx, u, pathCycle+"/"+id)
}

// CycleSleep reads the sleep of a cycle.
func (u *User) CycleSleep(ctx context.Context, cycleID string) (Record[Sleep], error) {
	if err := checkCycleID(cycleID); err != nil {
		return Record[Sleep]{}, err
	}
	return get[Sleep](ctx, u, pathCycle+"/"+cycleID+"/sleep")
}

// CycleRecovery reads the recovery of a cycle.
func (u *User) CycleRecovery(ctx context.Context, cycleID string) (Record[Recovery], error) {
	if err := checkCycleID(cycleID); err != nil {
		return Record[Recovery]{}, err
	}
	return get[Recovery](ctx, u, pathCycle+"/"+cycleID+"/recovery")
}

// Sleep reads a sleep by its UUID.
func (u *User) Sleep(ctx context.Context, id string) (Record[Sleep], error) {
	if id == "" {
		return Record[Sleep]{}, errEmptyID()
	}
	return get[Sleep](ctx, u, pathSleep+"/"+url.PathEscape(id))
}

// Workout reads a workout by its UUID.
func (u *User) Workout(ctx context.Context, id string) (Record[Workout], error) {
	if id == "" {
		return Record[Workout]{}, errEmptyID()
	}
	return get[Workout](ctx, u, pathWorkout+"/"+url.PathEscape(id))
}

// Profile reads the basic profile, whose user_id notifications name.
func (u *User) Profile(ctx context.Context) (Record[UserBasicProfile], error) {
	return get[UserBasicProfile](ctx, u, pathProfile)
}

// BodyMeasurement reads height, weight and max heart rate.
func (u *User) BodyMeasurement(ctx context.Context) (Record[UserBodyMeasurement], error) {
	return get[UserBodyMeasurement](ctx, u, pathBody)
}

// RevokeAccess revokes the user's grant: DELETE /v2/user/access with the
// user's own bearer token (not RFC 7009), which also stops the app's
// webhooks for the user. WHOOP answers 204.
func (u *User) RevokeAccess(ctx context.Context) error {
	return u.c.do(ctx, request{method: http.MethodDelete, path: pathUserAccess, auth: u.auth})
}

// checkCycleID refuses what is not a cycle id before it reaches a path:
// cycle ids are integers, and a UUID here is a sleep id by mistake.
func checkCycleID(id string) error {
	if id == "" {
		return errEmptyID()
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return &Error{Kind: provider.KindInvalidRequest, Method: http.MethodGet, Path: pathCycle, Err: fmt.Errorf("cycle id %q is not an integer", id)}
	}
	return nil
}
