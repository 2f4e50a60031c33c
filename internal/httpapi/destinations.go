package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// The client's destinations: an S3 bucket, a Kafka topic or a PostgreSQL
// database its documents are written to besides its webhooks. As for
// webhooks, a client sees and changes only its own; their deliveries are
// listed with the webhooks' at /api/v1/client/deliveries.

const destinationsPath = "/api/v1/client/destinations"

// DestinationManager manages a client's destinations (*delivery.Service).
// Each method takes the client the caller acts for.
type DestinationManager interface {
	AddDestination(ctx context.Context, in delivery.DestinationInput) (delivery.Destination, error)
	ListDestinations(ctx context.Context, clientUUID string) ([]delivery.Destination, error)
	GetDestination(ctx context.Context, clientUUID, id string) (delivery.Destination, error)
	UpdateDestination(ctx context.Context, clientUUID, id string, u delivery.DestinationUpdate) (delivery.Destination, error)
	SetPaused(ctx context.Context, clientUUID, id string, paused bool) (delivery.Destination, error)
	// TestDestination connects now and reports what the destination said.
	TestDestination(ctx context.Context, clientUUID, id string) (delivery.DestinationTest, error)
	DeleteDestination(ctx context.Context, clientUUID, id string) error
}

func (a *API) destinationRoutes() []route {
	return []route{
		{method: "GET", pattern: destinationsPath, auth: true, h: a.listDestinations},
		{method: "POST", pattern: destinationsPath, auth: true, h: a.createDestination},
		{method: "GET", pattern: destinationsPath + "/{id}", auth: true, h: a.getDestination},
		{method: "PATCH", pattern: destinationsPath + "/{id}", auth: true, h: a.patchDestination},
		{method: "DELETE", pattern: destinationsPath + "/{id}", auth: true, h: a.deleteDestination},
		{method: "POST", pattern: destinationsPath + "/{id}/pause", auth: true, h: a.pauseDestination},
		{method: "POST", pattern: destinationsPath + "/{id}/resume", auth: true, h: a.resumeDestination},
		{method: "POST", pattern: destinationsPath + "/{id}/test", auth: true, h: a.testDestination},
	}
}

// destinations is the manager and the client it acts for, never "".
func (a *API) destinations(c *store.Client) (DestinationManager, string, error) {
	if a.cfg.Destinations == nil {
		return nil, "", unavailable("Managing destinations is not available on this server.")
	}
	if c == nil || c.UUID == "" {
		return nil, "", health.Errorf(health.EUNAUTHORIZED, "Client credentials are required.")
	}
	return a.cfg.Destinations, c.UUID, nil
}

var destinationIDPattern = regexp.MustCompile(`^ds_[a-z2-7]{1,64}$`)

type destinationList struct {
	Destinations []delivery.Destination `json:"destinations"`
}

func (a *API) listDestinations(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	dm, client, err := a.destinations(c)
	if err != nil {
		return err
	}
	ds, err := dm.ListDestinations(r.Context(), client)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []delivery.Destination{}
	}
	writeJSON(w, http.StatusOK, destinationList{Destinations: ds})
	return nil
}

// createDestination serves POST /api/v1/client/destinations: 201 with the
// destination, its settings shown without secrets.
func (a *API) createDestination(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	var body struct {
		Kind           string          `json:"kind"`
		Settings       json.RawMessage `json:"settings"`
		DataStructures []string        `json:"data_structures"`
		Paused         bool            `json:"paused"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Kind == "" {
		return invalid("kind is required: s3, kafka or postgres.")
	}
	if len(body.Settings) == 0 || string(body.Settings) == "null" {
		return invalid("settings are required: the %s destination's settings as an object.", quoteShort(body.Kind))
	}
	dm, client, err := a.destinations(c)
	if err != nil {
		return err
	}
	d, err := dm.AddDestination(r.Context(), delivery.DestinationInput{ClientUUID: client, Kind: body.Kind, Settings: body.Settings,
		DataStructures: body.DataStructures, Paused: body.Paused})
	if err != nil {
		return err
	}
	w.Header().Set("Location", destinationsPath+"/"+d.ID)
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// withDestination runs do on the destination of the path and answers with
// what it returns (204 for nil).
func (a *API) withDestination(w http.ResponseWriter, r *http.Request, c *store.Client,
	do func(dm DestinationManager, client, id string) (any, error)) error {
	id := r.PathValue("id")
	if !destinationIDPattern.MatchString(id) {
		return health.Errorf(health.ENOTFOUND, "There is no destination %s for this client.", quoteShort(id))
	}
	dm, client, err := a.destinations(c)
	if err != nil {
		return err
	}
	v, err := do(dm, client, id)
	if err != nil {
		return err
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) getDestination(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	return a.withDestination(w, r, c, func(dm DestinationManager, client, id string) (any, error) {
		return dm.GetDestination(r.Context(), client, id)
	})
}

// patchDestination serves PATCH /api/v1/client/destinations/{id}: new
// settings (secrets left out are kept) or a new filter; its deliveries
// stay, so dead letters can be replayed after a fix.
func (a *API) patchDestination(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	var body struct {
		Settings       json.RawMessage `json:"settings"`
		DataStructures *[]string       `json:"data_structures"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if string(body.Settings) == "null" {
		body.Settings = nil
	}
	if body.Settings == nil && body.DataStructures == nil {
		return invalid("Nothing to change: give settings or data_structures.")
	}
	return a.withDestination(w, r, c, func(dm DestinationManager, client, id string) (any, error) {
		return dm.UpdateDestination(r.Context(), client, id, delivery.DestinationUpdate{Settings: body.Settings, DataStructures: body.DataStructures})
	})
}

func (a *API) deleteDestination(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	return a.withDestination(w, r, c, func(dm DestinationManager, client, id string) (any, error) {
		return nil, dm.DeleteDestination(r.Context(), client, id)
	})
}

// pauseDestination serves POST .../{id}/pause: documents wait in the
// outbox, unattempted, until it is resumed.
func (a *API) pauseDestination(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	return a.withDestination(w, r, c, func(dm DestinationManager, client, id string) (any, error) {
		return dm.SetPaused(r.Context(), client, id, true)
	})
}

// resumeDestination serves POST .../{id}/resume: what waited is delivered.
func (a *API) resumeDestination(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	return a.withDestination(w, r, c, func(dm DestinationManager, client, id string) (any, error) {
		return dm.SetPaused(r.Context(), client, id, false)
	})
}

// testDestination serves POST .../{id}/test: 200 with whether the
// destination took the test, and its own message when it did not.
func (a *API) testDestination(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	return a.withDestination(w, r, c, func(dm DestinationManager, client, id string) (any, error) {
		return dm.TestDestination(r.Context(), client, id)
	})
}
