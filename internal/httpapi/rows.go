package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"slices"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// Webhook endpoints and destinations are rows of one table and are served
// alike: a collection a client lists and adds to, and per row get, change,
// delete, test and the kind's own actions. rowKind holds what differs, so
// that the lookup, the tenant check and the answers are written once.

// rowCall acts on the row id of the client, with the kind's manager m; a
// nil answer is a 204.
type rowCall[M any] func(m M, ctx context.Context, clientUUID, id string) (any, error)

// answer adapts a manager's method that returns its own type, such as
// WebhookManager.GetEndpoint, to a rowCall.
func answer[M, V any](f func(M, context.Context, string, string) (V, error)) rowCall[M] {
	return func(m M, ctx context.Context, clientUUID, id string) (any, error) {
		return f(m, ctx, clientUUID, id)
	}
}

// rowAction is a kind's own POST {path}/{id}/{name} route.
type rowAction[M any] struct {
	name string
	call rowCall[M]
}

// rowKind describes one kind of row for the routes every kind has. M is
// the kind's manager, T the row it lists.
type rowKind[M, T any] struct {
	// path is the collection; a row is path/{id}.
	path string
	// idPattern is the shape of the kind's ids: any other id is not found
	// without asking the manager, so a webhook's id is never a
	// destination's.
	idPattern *regexp.Regexp
	// notFound is the 404 message, a format of the quoted id.
	notFound string
	// manager is the manager and the authenticated client it acts for.
	manager func(c *store.Client) (M, string, error)
	list    func(m M, ctx context.Context, clientUUID string) ([]T, error)
	// listed is the list's response: each kind names its array.
	listed func(rows []T) any
	get    rowCall[M]
	delete func(m M, ctx context.Context, clientUUID, id string) error
	test   rowCall[M]
}

// routes are the kind's routes, in the order of the API's description:
// create and update are the kind's own (their bodies differ), actions go
// before test.
func (k rowKind[M, T]) routes(create, update handler, actions ...rowAction[M]) []route {
	row := k.path + "/{id}"
	rs := []route{
		{method: "GET", pattern: k.path, auth: true, h: k.listRows},
		{method: "POST", pattern: k.path, auth: true, h: create},
		{method: "GET", pattern: row, auth: true, h: k.one(k.get)},
		{method: "PATCH", pattern: row, auth: true, h: update},
		{method: "DELETE", pattern: row, auth: true, h: k.one(func(m M, ctx context.Context, clientUUID, id string) (any, error) {
			return nil, k.delete(m, ctx, clientUUID, id)
		})},
	}
	for _, a := range slices.Concat(actions, []rowAction[M]{{name: "test", call: k.test}}) {
		rs = append(rs, route{method: "POST", pattern: row + "/" + a.name, auth: true, h: k.one(a.call)})
	}
	return rs
}

// listRows serves GET path: the client's rows, [] for none.
func (k rowKind[M, T]) listRows(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	m, client, err := k.manager(c)
	if err != nil {
		return err
	}
	rows, err := k.list(m, r.Context(), client)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []T{}
	}
	writeJSON(w, http.StatusOK, k.listed(rows))
	return nil
}

// add answers POST path with the row add stores: 201, its place in
// Location. The caller has checked the body first, so that a bad body is
// a 400 even where the kind is not served.
func (k rowKind[M, T]) add(w http.ResponseWriter, r *http.Request, c *store.Client,
	add func(m M, ctx context.Context, clientUUID string) (id string, row any, err error)) error {
	m, client, err := k.manager(c)
	if err != nil {
		return err
	}
	id, row, err := add(m, r.Context(), client)
	if err != nil {
		return err
	}
	w.Header().Set("Location", k.path+"/"+id)
	writeJSON(w, http.StatusCreated, row)
	return nil
}

// one serves a route on the row of the path with call.
func (k rowKind[M, T]) one(call rowCall[M]) handler {
	return func(w http.ResponseWriter, r *http.Request, c *store.Client) error {
		return k.with(w, r, c, call)
	}
}

// with runs call on the row of the path and answers with what it returns
// (204 for nil).
func (k rowKind[M, T]) with(w http.ResponseWriter, r *http.Request, c *store.Client, call rowCall[M]) error {
	id := r.PathValue("id")
	if !k.idPattern.MatchString(id) {
		return health.Errorf(health.ENOTFOUND, k.notFound, quoteShort(id))
	}
	m, client, err := k.manager(c)
	if err != nil {
		return err
	}
	v, err := call(m, r.Context(), client, id)
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

// clientManager is m for the authenticated client, never "" (which would
// mean every client); a server without m answers 503 with unavailableMsg.
func clientManager[M comparable](m M, unavailableMsg string, c *store.Client) (M, string, error) {
	var none M
	if m == none {
		return none, "", unavailable(unavailableMsg)
	}
	if c == nil || c.UUID == "" {
		return none, "", health.Errorf(health.EUNAUTHORIZED, "Client credentials are required.")
	}
	return m, c.UUID, nil
}
