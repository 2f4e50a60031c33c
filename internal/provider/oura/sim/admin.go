package sim

import (
	"net/http"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// AdminHelp documents the control routes under /_sim. They are not part of
// the Oura API, take no credentials (bind the simulator to localhost) and
// answer JSON.
const AdminHelp = `Control routes (JSON, no authentication):
  GET    /_sim/users                        users with index, Oura id, time zone, last visible day and ready tokens
  GET    /_sim/clock                        simulated now, real now, speed factor
  POST   /_sim/clock/advance?by=24h         advance simulated time; reveals and announces the days reached
  POST   /_sim/clock/factor?factor=1440     change the clock speed (0 freezes it)
  POST   /_sim/days?user=0&n=1              reveal the next n days of one user (all users without user=) and send webhooks
  GET    /_sim/requests                     request counts per user index and collection
  DELETE /_sim/requests                     reset the counts
  GET    /_sim/faults                       faults in force
  PUT    /_sim/faults                       replace them: {"latency":"200ms","latency_jitter":"50ms","error_rate":0.1,
                                            "reset_rate":0,"truncate_rate":0,"force_429":0,"force_429_retry_after":"1s"}
  POST   /_sim/faults/429?n=5&retry_after=2s  the next n /v2/ requests get 429 (&tier=application: the
                                            application's layer; default token)
  POST   /_sim/limit?user=0&retry_after=30s  user 0's tokens get token-tier 429s until retry_after=0
  GET    /_sim/webhooks                     subscriptions and notification counters
  POST   /_sim/tokens                       issue a token: {"user":0,"scopes":["daily"],"expires_in":"1h"}
                                            (scopes omitted: all; negative expires_in: already expired)
  POST   /_sim/revoke?token=...             revoke the grant behind a token
  POST   /_sim/membership?user=0&lapsed=true  lapse (true) or renew (false) a user's membership: its data gets 403
  POST   /_sim/app_update?user=0&required=true  make a user's app too old (true) or update it: its data gets 426`

func (s *Server) adminRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /_sim/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"help": AdminHelp})
	})
	m.HandleFunc("GET /_sim/users", s.adminUsers)
	m.HandleFunc("GET /_sim/clock", s.adminClock)
	m.HandleFunc("POST /_sim/clock/advance", s.adminAdvance)
	m.HandleFunc("POST /_sim/clock/factor", s.adminFactor)
	m.HandleFunc("POST /_sim/days", s.adminDays)
	m.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.RequestCounts())
	})
	m.HandleFunc("DELETE /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		s.ResetRequestCounts()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	m.HandleFunc("PUT /_sim/faults", s.adminSetFaults)
	m.HandleFunc("POST /_sim/faults/429", s.adminForce429)
	m.HandleFunc("POST /_sim/limit", s.adminLimitUser)
	m.HandleFunc("GET /_sim/webhooks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"subscriptions": s.Subscriptions(), "stats": s.WebhookStats()})
	})
	m.HandleFunc("POST /_sim/tokens", s.adminIssueToken)
	m.HandleFunc("POST /_sim/revoke", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"revoked": s.RevokeToken(r.URL.Query().Get("token"))})
	})
	s.accessRoutes(m)
}

// SimUser is a user as the control API lists it.
type SimUser struct {
	Index    int       `json:"index"`
	OuraID   string    `json:"oura_id"`
	Email    string    `json:"email"`
	TimeZone string    `json:"time_zone"`
	LastDay  oura.Date `json:"last_day"`
	Token    Token     `json:"token"`
}

// Users lists the simulated users with their ready tokens.
func (s *Server) Users() []SimUser {
	toks := s.Tokens()
	var out []SimUser
	for i, u := range s.world.Users() {
		su := SimUser{Index: u.Index, OuraID: u.OuraID, Email: u.Email, TimeZone: u.TimeZone, LastDay: s.world.LastDay(u)}
		if i < len(toks) {
			su.Token = toks[i]
		}
		out = append(out, su)
	}
	return out
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Users())
}

func (s *Server) adminClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, simkit.ClockState(s.clock))
}

func revealedJSON(m map[int][]oura.Date) map[string][]oura.Date {
	out := map[string][]oura.Date{}
	for k, v := range m {
		out[strconv.Itoa(k)] = v
	}
	return out
}

func (s *Server) adminAdvance(w http.ResponseWriter, r *http.Request) {
	d, err := simkit.AdvanceBy(r)
	if err != nil {
		writeDetail(w, http.StatusBadRequest, err.Error())
		return
	}
	rev := s.AdvanceClock(d)
	writeJSON(w, http.StatusOK, map[string]any{"now": s.clock.Now(), "revealed": revealedJSON(rev)})
}

func (s *Server) adminFactor(w http.ResponseWriter, r *http.Request) {
	f, err := strconv.ParseFloat(r.URL.Query().Get("factor"), 64)
	if err != nil || f < 0 {
		writeDetail(w, http.StatusBadRequest, "factor must be a number >= 0")
		return
	}
	s.clock.SetFactor(f)
	writeJSON(w, http.StatusOK, map[string]any{"now": s.clock.Now(), "factor": f})
}

func (s *Server) adminDays(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n := 1
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 3660 {
			writeDetail(w, http.StatusBadRequest, "n must be between 1 and 3660")
			return
		}
	}
	var users []int
	if v := q.Get("user"); v != "" {
		i, err := strconv.Atoi(v)
		if err != nil || s.userByIndex(i) == nil {
			writeDetail(w, http.StatusBadRequest, "unknown user index")
			return
		}
		users = []int{i}
	} else {
		for _, u := range s.world.Users() {
			users = append(users, u.Index)
		}
	}
	rev := map[int][]oura.Date{}
	for _, i := range users {
		for k := 0; k < n; k++ {
			d, _ := s.AddDay(i)
			rev[i] = append(rev[i], d)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"revealed": revealedJSON(rev)})
}

func (s *Server) adminSetFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := simkit.ReadJSON(r, &f); err != nil {
		writeDetail(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.SetFaults(f); err != nil {
		writeDetail(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) adminForce429(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n < 0 {
		writeDetail(w, http.StatusBadRequest, "n must be a non-negative integer")
		return
	}
	var ra time.Duration
	if v := q.Get("retry_after"); v != "" {
		if ra, err = time.ParseDuration(v); err != nil || ra < 0 {
			writeDetail(w, http.StatusBadRequest, "retry_after must be a Go duration")
			return
		}
	}
	tier := q.Get("tier")
	if tier == "" {
		tier = TierToken
	}
	if tier != TierToken && tier != TierApplication {
		writeDetail(w, http.StatusBadRequest, "tier must be token or application")
		return
	}
	s.ForceRateLimitTier(n, ra, tier)
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) adminLimitUser(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	i, err := strconv.Atoi(q.Get("user"))
	if err != nil || s.userByIndex(i) == nil {
		writeDetail(w, http.StatusBadRequest, "user must be a user index")
		return
	}
	ra, err := time.ParseDuration(q.Get("retry_after"))
	if err != nil || ra < 0 {
		writeDetail(w, http.StatusBadRequest, "retry_after must be a Go duration (0 lifts the limit)")
		return
	}
	s.LimitUser(i, ra)
	writeJSON(w, http.StatusOK, map[string]any{"user": i, "retry_after": ra.String()})
}

func (s *Server) adminIssueToken(w http.ResponseWriter, r *http.Request) {
	req, err := simkit.ReadTokenRequest(r)
	if err != nil {
		writeDetail(w, http.StatusBadRequest, err.Error())
		return
	}
	t, err := s.IssueToken(req.User, req.Scopes, req.ExpiresIn)
	if err != nil {
		writeDetail(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, t)
}
