package sim

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// Oura refuses a user's data while the membership has lapsed (403) and
// while the user's app is too old to share it (426), on every
// usercollection route, whatever the token. These controls make a user
// so, to test what a client does then.

// Bodies as Oura's API describes the two answers.
const (
	membershipLapsedDetail = "Access forbidden. Usually means the user's subscription to Oura has expired and their data is not available via the API."
	appUpdateDetail        = "The Oura user's Oura mobile app does not meet the minimum app version requirement to support sharing the requested data type."
)

// accessControl holds the users whose data is refused. The zero value
// refuses nothing.
type accessControl struct {
	mu        sync.Mutex
	lapsed    map[int]bool
	oldAppFor map[int]bool
}

// refusal is the status and detail a user's data requests get, 0 for none.
// A lapsed membership comes first: an app update would not help.
func (a *accessControl) refusal(user int) (int, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.lapsed[user]:
		return http.StatusForbidden, membershipLapsedDetail
	case a.oldAppFor[user]:
		return http.StatusUpgradeRequired, appUpdateDetail
	}
	return 0, ""
}

// SetMembershipLapsed lapses (true) or renews (false) a user's Oura
// membership: while lapsed, every usercollection request with the user's
// token gets 403.
func (s *Server) SetMembershipLapsed(userIndex int, lapsed bool) error {
	return s.setAccess(&s.access.lapsed, userIndex, lapsed)
}

// SetAppUpdateRequired makes a user's Oura app too old (true) or updates
// it (false): while too old, every usercollection request with the user's
// token gets 426.
func (s *Server) SetAppUpdateRequired(userIndex int, required bool) error {
	return s.setAccess(&s.access.oldAppFor, userIndex, required)
}

// setAccess sets a user's flag in one of s.access's sets.
func (s *Server) setAccess(set *map[int]bool, userIndex int, on bool) error {
	if s.userByIndex(userIndex) == nil {
		return fmt.Errorf("ourasim: no user %d", userIndex)
	}
	s.access.mu.Lock()
	defer s.access.mu.Unlock()
	if *set == nil {
		*set = map[int]bool{}
	}
	if on {
		(*set)[userIndex] = true
	} else {
		delete(*set, userIndex)
	}
	return nil
}

// refuseData writes the refusal of a user's data request and reports
// whether there was one.
func (s *Server) refuseData(w http.ResponseWriter, user int) bool {
	status, detail := s.access.refusal(user)
	if status == 0 {
		return false
	}
	writeDetail(w, status, detail)
	return true
}

// accessRoutes serves POST /_sim/membership?user=0&lapsed=true and
// POST /_sim/app_update?user=0&required=true.
func (s *Server) accessRoutes(m *http.ServeMux) {
	flagRoute := func(param string, set func(int, bool) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			user, err := strconv.Atoi(q.Get("user"))
			if err != nil {
				writeDetail(w, http.StatusBadRequest, "user must be a user index")
				return
			}
			on, err := strconv.ParseBool(q.Get(param))
			if err != nil {
				writeDetail(w, http.StatusBadRequest, param+" must be true or false")
				return
			}
			if err := set(user, on); err != nil {
				writeDetail(w, http.StatusBadRequest, "unknown user index")
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"user": user, param: on})
		}
	}
	m.HandleFunc("POST /_sim/membership", flagRoute("lapsed", s.SetMembershipLapsed))
	m.HandleFunc("POST /_sim/app_update", flagRoute("required", s.SetAppUpdateRequired))
}
