package sim

import (
	"net/http"
	"strconv"

	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// AdminHelp describes the control routes, for the CLI's help text.
const AdminHelp = `Control routes (no authentication; loopback only):
  GET    /_sim/users                       users with their ready tokens
  GET    /_sim/clock                       simulated and real time
  POST   /_sim/clock/advance?by=24h        advance simulated time, send due webhooks
  POST   /_sim/night?user=0                advance to the user's next scored night
  DELETE /_sim/sleep/{id}                  delete a sleep (sleep.deleted, recovery.deleted)
  GET    /_sim/faults, PUT /_sim/faults    read or replace injected faults (JSON)
  GET    /_sim/webhooks                    webhook stats and recent events
  POST   /_sim/tokens                      issue a token: {"user":0,"scopes":[...],"expires_in":"1h"}`

func (s *Server) adminRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /_sim/users", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.Info().Users) })
	m.HandleFunc("GET /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, simkit.ClockState(s.clock))
	})
	m.HandleFunc("POST /_sim/clock/advance", func(w http.ResponseWriter, r *http.Request) {
		d, err := simkit.AdvanceBy(r)
		if err != nil {
			adminError(w, err.Error())
			return
		}
		evs := s.AdvanceClock(d)
		writeJSON(w, 200, map[string]any{"now": s.clock.Now(), "webhooks": len(evs)})
	})
	m.HandleFunc("POST /_sim/night", func(w http.ResponseWriter, r *http.Request) {
		u, _ := strconv.Atoi(r.URL.Query().Get("user"))
		id, evs, err := s.NextNight(u)
		if err != nil {
			adminError(w, err.Error())
			return
		}
		writeJSON(w, 200, map[string]any{"now": s.clock.Now(), "cycle_id": id, "webhooks": len(evs)})
	})
	m.HandleFunc("DELETE /_sim/sleep/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeleteSleep(r.PathValue("id")); err != nil {
			adminError(w, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.Faults()) })
	m.HandleFunc("PUT /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := simkit.ReadJSON(r, &f); err != nil {
			adminError(w, err.Error())
			return
		}
		if err := s.SetFaults(f); err != nil {
			adminError(w, err.Error())
			return
		}
		writeJSON(w, 200, s.Faults())
	})
	m.HandleFunc("GET /_sim/webhooks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"url": s.cfg.WebhookURL, "stats": s.WebhookStats(), "recent": s.WebhookLog()})
	})
	m.HandleFunc("POST /_sim/tokens", func(w http.ResponseWriter, r *http.Request) {
		req, err := simkit.ReadTokenRequest(r)
		if err != nil {
			adminError(w, err.Error())
			return
		}
		t, err := s.IssueToken(req.User, req.Scopes, req.ExpiresIn)
		if err != nil {
			adminError(w, err.Error())
			return
		}
		writeJSON(w, 200, t)
	})
}

func adminError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}
