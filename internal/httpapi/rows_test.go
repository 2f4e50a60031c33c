package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// fakeRows is a manager of rows named by their id.
type fakeRows struct{ rows []string }

type fakeList struct {
	Rows []string `json:"rows"`
}

// fakeKind is a rowKind on m; a nil m is a server without the kind.
func fakeKind(m *fakeRows, calls *[]string) rowKind[*fakeRows, string] {
	record := func(name string) rowCall[*fakeRows] {
		return func(_ *fakeRows, _ context.Context, client, id string) (any, error) {
			*calls = append(*calls, name+" "+client+" "+id)
			return map[string]string{"id": id}, nil
		}
	}
	return rowKind[*fakeRows, string]{
		path:      "/rows",
		idPattern: regexp.MustCompile(`^rw_[a-z]+$`),
		notFound:  "There is no row %s for this client.",
		manager: func(c *store.Client) (*fakeRows, string, error) {
			return clientManager(m, "Rows are not available on this server.", c)
		},
		list:   func(m *fakeRows, _ context.Context, _ string) ([]string, error) { return m.rows, nil },
		listed: func(rows []string) any { return fakeList{Rows: rows} },
		get:    record("get"),
		delete: func(_ *fakeRows, _ context.Context, client, id string) error {
			*calls = append(*calls, "delete "+client+" "+id)
			return nil
		},
		test: record("test"),
	}
}

func serveRow(h handler, id string, c *store.Client) (*httptest.ResponseRecorder, error) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/rows/"+id, nil)
	r.SetPathValue("id", id)
	return w, h(w, r, c)
}

// TestRowKindRoutes: every kind gets the same routes, in the same order,
// with its own actions before test.
func TestRowKindRoutes(t *testing.T) {
	var calls []string
	k := fakeKind(&fakeRows{}, &calls)
	var got []string
	for _, rt := range k.routes(nil, nil, rowAction[*fakeRows]{name: "pause"}, rowAction[*fakeRows]{name: "resume"}) {
		if !rt.auth {
			t.Errorf("%s %s without auth", rt.method, rt.pattern)
		}
		got = append(got, rt.method+" "+rt.pattern)
	}
	want := []string{"GET /rows", "POST /rows", "GET /rows/{id}", "PATCH /rows/{id}", "DELETE /rows/{id}",
		"POST /rows/{id}/pause", "POST /rows/{id}/resume", "POST /rows/{id}/test"}
	if !slices.Equal(got, want) {
		t.Fatalf("routes %v, want %v", got, want)
	}
}

// TestRowKindOne: an id of another shape is not found before the manager
// is asked for, the manager acts for the authenticated client, and a nil
// answer is a 204.
func TestRowKindOne(t *testing.T) {
	client := &store.Client{UUID: "client-a"}
	var calls []string
	if _, err := serveRow(fakeKind(nil, &calls).one(nil), "ep_abc", client); health.ErrorCode(err) != health.ENOTFOUND ||
		!strings.Contains(err.Error(), `There is no row "ep_abc" for this client.`) {
		t.Fatalf("another kind's id where the kind is not served: %v", err)
	}
	if _, err := serveRow(fakeKind(nil, &calls).one(nil), "rw_abc", client); health.ErrorCode(err) != eUnavailable {
		t.Fatalf("the kind not served: %v", err)
	}
	k := fakeKind(&fakeRows{}, &calls)
	if _, err := serveRow(k.one(k.get), "rw_abc", nil); health.ErrorCode(err) != health.EUNAUTHORIZED {
		t.Fatalf("no client: %v", err)
	}
	w, err := serveRow(k.one(k.get), "rw_abc", client)
	if err != nil || w.Code != http.StatusOK || w.Body.String() != `{"id":"rw_abc"}` {
		t.Fatalf("get: %v %d %s", err, w.Code, w.Body)
	}
	routes := k.routes(nil, nil)
	w, err = serveRow(routes[4].h, "rw_abc", client)
	if err != nil || w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("delete: %v %d %s", err, w.Code, w.Body)
	}
	if want := []string{"get client-a rw_abc", "delete client-a rw_abc"}; !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
}

// TestRowKindListAndAdd: no rows list as [], never null; an added row is
// a 201 with its place.
func TestRowKindListAndAdd(t *testing.T) {
	var calls []string
	k := fakeKind(&fakeRows{}, &calls)
	w := httptest.NewRecorder()
	if err := k.listRows(w, httptest.NewRequest("GET", "/rows", nil), &store.Client{UUID: "client-a"}); err != nil ||
		w.Body.String() != `{"rows":[]}` {
		t.Fatalf("list: %v %s", err, w.Body)
	}
	w = httptest.NewRecorder()
	err := k.add(w, httptest.NewRequest("POST", "/rows", nil), &store.Client{UUID: "client-a"},
		func(_ *fakeRows, _ context.Context, client string) (string, any, error) {
			return "rw_new", map[string]string{"client": client}, nil
		})
	if err != nil || w.Code != http.StatusCreated || w.Header().Get("Location") != "/rows/rw_new" || w.Body.String() != `{"client":"client-a"}` {
		t.Fatalf("add: %v %d %v %s", err, w.Code, w.Header(), w.Body)
	}
}
