package httpapi

import (
	"net/http"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// authorization is the single-source authorizer's answer.
type authorization struct {
	DataSource       string  `json:"data_source"`
	Authorized       bool    `json:"authorized"`
	AuthorizationURL *string `json:"authorization_url"`
}

// authorizer serves GET /api/v1/user_id/{user_id}/data_source/{data_source}/authorizer:
// whether the user is authorized, and if not the URL that starts linking.
// It works for users the client has not created yet: linking creates them.
func (a *API) authorizer(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	ctx := r.Context()
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	src, err := a.source(r.PathValue("data_source"), health.EINVALID)
	if err != nil {
		return err
	}
	linker, err := src.linker()
	if err != nil {
		return err
	}
	redirect := r.URL.Query().Get("redirect_url")
	authorized, err := a.authorized(ctx, c.UUID, userID, src)
	if err != nil {
		return err
	}
	res := authorization{DataSource: src.Name, Authorized: authorized}
	// The URL is made even when authorized, so a bad redirect_url is
	// reported the same way in both states.
	u, err := linker.AuthorizationURL(ctx, c.UUID, userID, redirect)
	if err != nil {
		return err
	}
	if !authorized {
		res.AuthorizationURL = &u
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// dataSourceAuthorizer is an item of the deprecated authorizers list
// (ROOK's schema_one_data_source_authorizer).
type dataSourceAuthorizer struct {
	Name             string `json:"name"`
	Description      string `json:"description"`
	Image            string `json:"image"`
	Connected        bool   `json:"connected"`
	AuthorizationURL string `json:"authorization_url"`
}

type authorizersList struct {
	ClientName  string                 `json:"client_name"`
	Theme       string                 `json:"theme"`
	DataSources []dataSourceAuthorizer `json:"data_sources"`
}

// authorizers serves the deprecated list form,
// GET /api/v1/client_uuid/{client_uuid}/user_id/{user_id}/data_sources/authorizers.
// ROOK's schema requires authorization_url on every item, so it is given
// even when connected (following it again re-authorizes).
func (a *API) authorizers(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	ctx := r.Context()
	if r.PathValue("client_uuid") != c.UUID {
		return health.Errorf(health.EFORBIDDEN, "The client_uuid in the path is not the one you authenticated as.")
	}
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	name := c.Name
	if name == "" {
		name = c.UUID
	}
	list := authorizersList{ClientName: name, Theme: "light", DataSources: []dataSourceAuthorizer{}}
	for _, src := range a.cfg.Sources {
		if src.Linker == nil {
			continue
		}
		authorized, err := a.authorized(ctx, c.UUID, userID, src)
		if err != nil {
			return err
		}
		u, err := src.Linker.AuthorizationURL(ctx, c.UUID, userID, r.URL.Query().Get("redirect_url"))
		if err != nil {
			return err
		}
		list.DataSources = append(list.DataSources, dataSourceAuthorizer{Name: src.Name, Description: src.Description,
			Image: a.logoURL(r, src), Connected: authorized, AuthorizationURL: u})
	}
	if len(list.DataSources) == 0 {
		return unavailable("Linking accounts is not configured on this server.")
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *API) logoURL(r *http.Request, s Source) string {
	return a.publicURL(r) + "/connect/" + s.DataSource + "/logo.svg"
}

// authorizedV1 serves GET /api/v1/user_id/{user_id}/data_sources/authorized
// in ROOK's v1 shape: every source ROOK names, true only for a working
// connection to a served one.
func (a *API) authorizedV1(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	ctx := r.Context()
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	if err := a.userExists(ctx, c.UUID, userID); err != nil {
		return err
	}
	sources := map[string]bool{}
	for _, k := range []string{"polar", "whoop", "fitbit", "garmin", "withings", "google_fit", "apple_health"} {
		sources[k] = false
	}
	for _, src := range a.cfg.Sources {
		if sources[src.DataSource], err = a.authorized(ctx, c.UUID, userID, src); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_id": userID, "sources": sources})
	return nil
}

type sourceStatus struct {
	DataSource string `json:"data_source"`
	Status     bool   `json:"status"`
	Image      string `json:"image"`
}

// authorizedV2 serves GET /api/v2/user_id/{user_id}/data_sources/authorized:
// the sources this server offers, each with its status.
func (a *API) authorizedV2(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	ctx := r.Context()
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	if err := a.userExists(ctx, c.UUID, userID); err != nil {
		return err
	}
	list := []sourceStatus{}
	for _, src := range a.cfg.Sources {
		ok, err := a.authorized(ctx, c.UUID, userID, src)
		if err != nil {
			return err
		}
		list = append(list, sourceStatus{DataSource: src.Name, Status: ok, Image: a.logoURL(r, src)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_id": userID, "data_sources": list})
	return nil
}

type message struct {
	Message string `json:"message"`
}

// revoke serves POST /api/v1/user_id/{user_id}/data_sources/revoke_auth
// {"data_source": NAME}: the token is revoked at the provider and
// syncing stops; stored data stays. 204 when the user has nothing to
// revoke.
func (a *API) revoke(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	ctx := r.Context()
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	var body struct {
		DataSource *string `json:"data_source"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.DataSource == nil {
		return invalid("data_source is required in the body, for example {\"data_source\": \"NAME\"}; this server serves %s.", a.served())
	}
	// ROOK answers 422 for a data source it cannot revoke.
	src, err := a.source(*body.DataSource, eUnprocessable)
	if err != nil {
		return err
	}
	if err := a.userExists(ctx, c.UUID, userID); err != nil {
		return err
	}
	linker, err := src.linker()
	if err != nil {
		return err
	}
	revoked, err := linker.Revoke(ctx, c.UUID, userID)
	if err != nil {
		return err
	}
	if !revoked {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, message{"Authorization for the specified user data source has been successfully revoked"})
	return nil
}

// resync serves POST /api/v1/user_id/{user_id}/data_source/{data_source}/sync
// {"start_date", "end_date"}: the provider's data of those days is read
// again and whatever changed is delivered again.
func (a *API) resync(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	ctx := r.Context()
	userID, err := userIDParam(r.PathValue("user_id"))
	if err != nil {
		return err
	}
	src, err := a.source(r.PathValue("data_source"), health.EINVALID)
	if err != nil {
		return err
	}
	var body struct {
		StartDate string `json:"start_date"`
		EndDate   string `json:"end_date"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	from, to, err := a.dayRange(body.StartDate, body.EndDate)
	if err != nil {
		return err
	}
	conn, err := a.st.FindConnection(ctx, c.UUID, userID, src.DataSource)
	if health.ErrorCode(err) == health.ENOTFOUND {
		if err := a.userExists(ctx, c.UUID, userID); err != nil {
			return err
		}
		return health.Errorf(eUnprocessable, "User %s has not authorized %s.", userID, src.Name)
	}
	if err != nil {
		return err
	}
	if store.Paused(conn.Status) {
		// Authorizing again would not help: the provider withholds the data.
		return health.Errorf(eUnprocessable, "User %s's %s connection is paused (%s): %s.", userID, src.Name, conn.Status, store.PauseText(conn.Status, src.Name))
	}
	if conn.Status != store.StatusActive {
		return health.Errorf(eUnprocessable, "User %s's %s authorization is %s; the user has to authorize again first.", userID, src.Name, conn.Status)
	}
	if a.cfg.Resyncer == nil {
		return unavailable("Re-syncing is not available on this server yet.")
	}
	n, err := a.cfg.Resyncer.Resync(ctx, conn, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "Sync started.", "start_date": from, "end_date": to, "jobs": n})
	return nil
}
