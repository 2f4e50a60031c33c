package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// The client's webhook endpoints and their deliveries. A client sees and
// changes only its own: every call passes the authenticated client_uuid,
// and another client's endpoint or delivery is a 404.

const (
	webhooksPath   = "/api/v1/client/webhooks"
	deliveriesPath = "/api/v1/client/deliveries"
	// deliveriesPage is the default page length of the deliveries list,
	// maxDeliveriesPage its largest.
	deliveriesPage    = 100
	maxDeliveriesPage = 1000
)

func (a *API) webhookRoutes() []route {
	k := rowKind[WebhookManager, delivery.Endpoint]{
		path:      webhooksPath,
		idPattern: endpointIDPattern,
		notFound:  "There is no webhook endpoint %s for this client.",
		manager:   a.webhooks,
		list:      WebhookManager.ListEndpoints,
		listed:    func(es []delivery.Endpoint) any { return webhookList{Webhooks: es} },
		get:       answer(WebhookManager.GetEndpoint),
		delete:    WebhookManager.DeleteEndpoint,
		// A signed webhook.test event posted now, and what the endpoint
		// answered.
		test: answer(WebhookManager.TestEndpoint),
	}
	// rotate_secret answers the new secret, shown this once; the previous
	// one signs beside it until previous_secret_expires_at. An endpoint
	// has no pause and resume: PATCH's enabled switches it, and disabling
	// turns what is pending into dead letters, where a destination's pause
	// holds it.
	rs := k.routes(createWebhook(k), patchWebhook(k),
		rowAction[WebhookManager]{name: "rotate_secret", call: answer(WebhookManager.RotateSecret)})
	return append(rs,
		route{method: "GET", pattern: deliveriesPath, auth: true, h: a.listDeliveries},
		route{method: "GET", pattern: deliveriesPath + "/{id}", auth: true, h: a.getDelivery})
}

// webhooks is the manager and the client it acts for, never "" (which
// would mean every client).
func (a *API) webhooks(c *store.Client) (WebhookManager, string, error) {
	return clientManager(a.cfg.Webhooks, "Managing webhooks is not available on this server.", c)
}

var endpointIDPattern = regexp.MustCompile(`^ep_[a-z2-7]{1,64}$`)

type webhookList struct {
	Webhooks []delivery.Endpoint `json:"webhooks"`
}

// createWebhook serves POST /api/v1/client/webhooks: 201 with the new
// endpoint and its secret, shown this once (a destination has no secret
// of ours to show).
func createWebhook(k rowKind[WebhookManager, delivery.Endpoint]) handler {
	return func(w http.ResponseWriter, r *http.Request, c *store.Client) error {
		var body struct {
			URL            *string  `json:"url"`
			Kind           string   `json:"kind"`
			DataStructures []string `json:"data_structures"`
			Enabled        *bool    `json:"enabled"`
		}
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if body.URL == nil {
			return invalid("url is required: the http or https URL to post to.")
		}
		return k.add(w, r, c, func(wm WebhookManager, ctx context.Context, client string) (string, any, error) {
			e, err := wm.AddEndpoint(ctx, delivery.EndpointInput{ClientUUID: client, URL: *body.URL, Kind: body.Kind,
				DataStructures: body.DataStructures, Disabled: body.Enabled != nil && !*body.Enabled})
			return e.ID, e, err
		})
	}
}

// patchWebhook serves PATCH /api/v1/client/webhooks/{id}: the fields
// given change, the others stay.
func patchWebhook(k rowKind[WebhookManager, delivery.Endpoint]) handler {
	return func(w http.ResponseWriter, r *http.Request, c *store.Client) error {
		var body struct {
			URL            *string   `json:"url"`
			DataStructures *[]string `json:"data_structures"`
			Enabled        *bool     `json:"enabled"`
		}
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if body.URL == nil && body.DataStructures == nil && body.Enabled == nil {
			return invalid("Nothing to change: give url, data_structures or enabled.")
		}
		return k.with(w, r, c, func(wm WebhookManager, ctx context.Context, client, id string) (any, error) {
			var e delivery.Endpoint
			var err error
			if body.URL != nil || body.DataStructures != nil {
				if e, err = wm.UpdateEndpoint(ctx, client, id, delivery.EndpointUpdate{URL: body.URL, DataStructures: body.DataStructures}); err != nil {
					return nil, err
				}
			}
			if body.Enabled != nil {
				if e, err = wm.SetEnabled(ctx, client, id, *body.Enabled); err != nil {
					return nil, err
				}
			}
			return e, nil
		})
	}
}

type deliveryList struct {
	Deliveries []delivery.DeliveryView `json:"deliveries"`
	// NextCursor is the cursor of the next page, nil on the last.
	NextCursor *string `json:"next_cursor"`
}

var deliveryListParams = []string{"status", "endpoint", "since", "until", "limit", "cursor"}

// listDeliveries serves GET /api/v1/client/deliveries: the client's
// deliveries, oldest first, filtered by status, endpoint and creation
// time, a page at a time.
func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	q := r.URL.Query()
	for name := range q {
		if !slices.Contains(deliveryListParams, name) {
			return invalid("Unknown parameter %s; this route takes status, endpoint, since, until, limit and cursor.", quoteShort(name))
		}
	}
	dq := store.DeliveryQuery{Status: q.Get("status"), EndpointID: q.Get("endpoint"), Limit: deliveriesPage}
	if dq.Status != "" && !store.ValidDeliveryStatus(dq.Status) {
		return invalid("status %s is not a delivery status: use pending, succeeded or dead.", quoteShort(dq.Status))
	}
	var err error
	if dq.CreatedFrom, err = timeParam("since", q.Get("since")); err != nil {
		return err
	}
	if dq.CreatedTo, err = timeParam("until", q.Get("until")); err != nil {
		return err
	}
	if !dq.CreatedFrom.IsZero() && !dq.CreatedTo.IsZero() && !dq.CreatedFrom.Before(dq.CreatedTo) {
		return invalid("until %s is not after since %s.", q.Get("until"), q.Get("since"))
	}
	if v := q.Get("limit"); v != "" {
		if dq.Limit, err = strconv.Atoi(v); err != nil || dq.Limit < 1 || dq.Limit > maxDeliveriesPage {
			return invalid("limit %s is not a number from 1 to %d.", quoteShort(v), maxDeliveriesPage)
		}
	}
	if v := q.Get("cursor"); v != "" {
		if dq.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil || dq.AfterID < 1 {
			return invalid("cursor %s is not a cursor this route gave (next_cursor).", quoteShort(v))
		}
	}
	wm, client, err := a.webhooks(c)
	if err != nil {
		return err
	}
	ds, err := wm.ListDeliveries(r.Context(), client, dq)
	if err != nil {
		return err
	}
	out := deliveryList{Deliveries: make([]delivery.DeliveryView, len(ds))}
	for i, d := range ds {
		out.Deliveries[i] = delivery.ViewDelivery(d, nil)
	}
	if len(ds) == dq.Limit {
		next := strconv.FormatInt(ds[len(ds)-1].ID, 10)
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getDelivery serves GET /api/v1/client/deliveries/{id}: one delivery with
// every attempt.
func (a *API) getDelivery(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return health.Errorf(health.ENOTFOUND, "There is no delivery %s for this client: delivery ids are positive numbers.", quoteShort(v))
	}
	wm, client, err := a.webhooks(c)
	if err != nil {
		return err
	}
	d, atts, err := wm.Delivery(r.Context(), client, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, delivery.ViewDelivery(d, atts))
	return nil
}

// timeParam reads an optional time as RFC 3339 or a YYYY-MM-DD date (UTC
// midnight).
func timeParam(name, v string) (time.Time, error) {
	t, err := delivery.ParseTime(v)
	if err != nil {
		return time.Time{}, invalid("%s %s is not a time: use RFC 3339 (2025-01-02T15:04:05Z) or a date (2025-01-02).", name, quoteShort(v))
	}
	return t, nil
}
