package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// ConnectionsPages makes signed links to the hosted connections page
// (*web.Handler).
type ConnectionsPages interface {
	// ConnectionsPageURL returns the link and when it stops working; an
	// invalid user id or redirect URL is an EINVALID error.
	ConnectionsPageURL(ctx context.Context, clientUUID, userID, redirectURL string) (string, time.Time, error)
}

// connectionsPage is the answer of the connections page route.
type connectionsPage struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// connectionsPageURL serves GET /api/v1/user_id/{user_id}/connections_page:
// a signed, expiring link to the page where the user connects and
// disconnects data sources. Like the authorizer, it works for users the
// client has not created yet.
func (a *API) connectionsPageURL(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	if a.cfg.ConnectionsPages == nil {
		return unavailable("The connections page is not served by this server.")
	}
	u, exp, err := a.cfg.ConnectionsPages.ConnectionsPageURL(r.Context(), c.UUID, userID, r.URL.Query().Get("redirect_url"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, connectionsPage{URL: u, ExpiresAt: exp.UTC()})
	return nil
}
