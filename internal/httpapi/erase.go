package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// Eraser erases users (*erase.Service).
type Eraser interface {
	Request(ctx context.Context, clientUUID, userID, by string) (store.Erasure, error)
	Status(ctx context.Context, clientUUID, id string) (store.Erasure, error)
	UserStatus(ctx context.Context, clientUUID, userID string) (store.Erasure, error)
}

// erasureBody is an erasure as the API shows it: its audit record. UserID
// is the one the request named (a completed erasure no longer keeps it).
type erasureBody struct {
	ErasureID   string           `json:"erasure_id"`
	UserID      string           `json:"user_id,omitempty"`
	State       string           `json:"state"`
	RequestedBy string           `json:"requested_by"`
	RequestedAt string           `json:"requested_at"`
	CompletedAt *string          `json:"completed_at"`
	Deleted     map[string]int64 `json:"deleted"`
	StatusURL   string           `json:"status_url"`
}

func (a *API) erasureJSON(r *http.Request, e store.Erasure, userID string) erasureBody {
	b := erasureBody{ErasureID: e.ID, UserID: userID, State: e.State, RequestedBy: e.RequestedBy,
		RequestedAt: e.RequestedAt.UTC().Format(time.RFC3339Nano), Deleted: e.Counts,
		StatusURL: a.publicURL(r) + "/api/v1/client/erasures/" + e.ID}
	if b.Deleted == nil {
		b.Deleted = map[string]int64{}
	}
	if !e.CompletedAt.IsZero() {
		s := e.CompletedAt.UTC().Format(time.RFC3339Nano)
		b.CompletedAt = &s
	}
	return b
}

func (a *API) eraser() (Eraser, error) {
	if a.cfg.Eraser == nil {
		return nil, unavailable("Erasing users is not available on this server.")
	}
	return a.cfg.Eraser, nil
}

// eraseUser serves DELETE /api/v1/user_id/{user_id}: the erasure runs in
// the background (202 with its state); once it has completed, asking
// again answers 200 with the audit record.
func (a *API) eraseUser(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	er, err := a.eraser()
	if err != nil {
		return err
	}
	e, err := er.Request(r.Context(), c.UUID, userID, "api")
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if e.State == store.ErasureCompleted {
		status = http.StatusOK
	}
	writeJSON(w, status, a.erasureJSON(r, e, userID))
	return nil
}

// userErasure serves GET /api/v1/user_id/{user_id}/erasure: the newest
// erasure of the user.
func (a *API) userErasure(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	er, err := a.eraser()
	if err != nil {
		return err
	}
	e, err := er.UserStatus(r.Context(), c.UUID, userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.erasureJSON(r, e, userID))
	return nil
}

var erasureIDPattern = regexp.MustCompile(`^era_[0-9a-f]{24}$`)

// erasure serves GET /api/v1/client/erasures/{erasure_id}.
func (a *API) erasure(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	id := r.PathValue("erasure_id")
	if !erasureIDPattern.MatchString(id) {
		return invalid("erasure_id %s is not valid: it looks like era_ and 24 hexadecimal digits.", quoteShort(id))
	}
	er, err := a.eraser()
	if err != nil {
		return err
	}
	e, err := er.Status(r.Context(), c.UUID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.erasureJSON(r, e, e.UserID))
	return nil
}
