package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/config"
)

var errClosed = errors.New("store closed")

// readyz answers 200 when this process can do its work: the store answers
// and takes a write (a full disk answers reads), and, when the process
// works jobs, River is running and its completer has not failed in the
// last minute. Otherwise 503, with the failing checks named so that an
// operator sees why.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok"}
	ok := true
	if err := a.pingStore(ctx); err != nil {
		checks["store"] = "unavailable"
		ok = false
	} else if err := a.probeWrite(ctx); err != nil {
		a.log.WarnContext(ctx, "readiness: the store does not take writes", "err", err)
		checks["store"] = "not writable"
		ok = false
	}
	if a.cfg.Role != config.RoleAPI {
		checks["jobs"] = "ok"
		if !a.jobsRunning() {
			checks["jobs"] = "not running"
			ok = false
		} else if msg, failing := a.completer.failing(); failing {
			checks["jobs"] = "completer failing: " + msg
			ok = false
		}
	}
	status, code := "ok", http.StatusOK
	if !ok {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": checks})
}

// pingStore asks the database itself rather than a table, so that an
// empty or busy store still counts as answering.
func (a *App) pingStore(ctx context.Context) error {
	st := a.store
	if st == nil {
		return errClosed
	}
	switch {
	case st.SQLite != nil:
		return st.SQLite.PingContext(ctx)
	case st.PG != nil:
		return st.PG.Ping(ctx)
	default:
		_, err := st.Store.ListClients(ctx)
		return err
	}
}

// probeWrite commits a tiny write (store.WriteProber).
func (a *App) probeWrite(ctx context.Context) error {
	st := a.store
	if st == nil {
		return errClosed
	}
	return st.Store.ProbeWrite(ctx)
}

// jobsRunning: Run started River and it has not stopped since.
func (a *App) jobsRunning() bool {
	if !a.started.Load() {
		return false
	}
	if s, ok := a.jobs.(interface{ Stopped() <-chan struct{} }); ok {
		select {
		case <-s.Stopped():
			return false
		default:
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
