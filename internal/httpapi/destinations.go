package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/wearlink/wearlink/internal/delivery"
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
	k := rowKind[DestinationManager, delivery.Destination]{
		path:      destinationsPath,
		idPattern: destinationIDPattern,
		notFound:  "There is no destination %s for this client.",
		manager:   a.destinations,
		list:      DestinationManager.ListDestinations,
		listed:    func(ds []delivery.Destination) any { return destinationList{Destinations: ds} },
		get:       answer(DestinationManager.GetDestination),
		delete:    DestinationManager.DeleteDestination,
		// 200 with whether the destination took the test, and its own
		// message when it did not.
		test: answer(DestinationManager.TestDestination),
	}
	// pause: documents wait in the outbox, unattempted, until it is
	// resumed; resume: what waited is delivered.
	setPaused := func(paused bool) rowCall[DestinationManager] {
		return func(dm DestinationManager, ctx context.Context, client, id string) (any, error) {
			return dm.SetPaused(ctx, client, id, paused)
		}
	}
	return k.routes(createDestination(k), patchDestination(k),
		rowAction[DestinationManager]{name: "pause", call: setPaused(true)},
		rowAction[DestinationManager]{name: "resume", call: setPaused(false)})
}

// destinations is the manager and the client it acts for, never "".
func (a *API) destinations(c *store.Client) (DestinationManager, string, error) {
	return clientManager(a.cfg.Destinations, "Managing destinations is not available on this server.", c)
}

var destinationIDPattern = regexp.MustCompile(`^ds_[a-z2-7]{1,64}$`)

type destinationList struct {
	Destinations []delivery.Destination `json:"destinations"`
}

// createDestination serves POST /api/v1/client/destinations: 201 with the
// destination, its settings shown without secrets (the credentials are
// the client's own, sealed at rest, unlike a webhook's secret, which is
// ours to show once).
func createDestination(k rowKind[DestinationManager, delivery.Destination]) handler {
	return func(w http.ResponseWriter, r *http.Request, c *store.Client) error {
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
		return k.add(w, r, c, func(dm DestinationManager, ctx context.Context, client string) (string, any, error) {
			d, err := dm.AddDestination(ctx, delivery.DestinationInput{ClientUUID: client, Kind: body.Kind, Settings: body.Settings,
				DataStructures: body.DataStructures, Paused: body.Paused})
			return d.ID, d, err
		})
	}
}

// patchDestination serves PATCH /api/v1/client/destinations/{id}: new
// settings (secrets left out are kept) or a new filter; its deliveries
// stay, so dead letters can be replayed after a fix.
func patchDestination(k rowKind[DestinationManager, delivery.Destination]) handler {
	return func(w http.ResponseWriter, r *http.Request, c *store.Client) error {
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
		return k.with(w, r, c, func(dm DestinationManager, ctx context.Context, client, id string) (any, error) {
			return dm.UpdateDestination(ctx, client, id, delivery.DestinationUpdate{Settings: body.Settings, DataStructures: body.DataStructures})
		})
	}
}
