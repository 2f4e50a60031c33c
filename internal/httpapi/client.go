package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// resend serves POST /api/v1/client/webhooks/resend {"start", "finish"}:
// the client's rejected deliveries of those days (UTC, inclusive) are
// queued again.
func (a *API) resend(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	var body struct {
		Start  string `json:"start"`
		Finish string `json:"finish"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	start, err := a.dayParam("start", body.Start)
	if err != nil {
		return err
	}
	finish, err := a.dayParam("finish", body.Finish)
	if err != nil {
		return err
	}
	if finish < start {
		return invalid("finish %s is before start %s.", finish, start)
	}
	if a.cfg.Resender == nil {
		return unavailable("Resending webhook notifications is not available on this server yet.")
	}
	from, _ := time.Parse(time.DateOnly, start)
	to, _ := time.Parse(time.DateOnly, finish)
	n, err := a.cfg.Resender.Replay(r.Context(), c.UUID, store.ReplayQuery{ClientUUID: c.UUID, CreatedFrom: from, CreatedTo: to.AddDate(0, 0, 1)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Success", "total_docs_to_resend": n})
	return nil
}

// usersPageSize is the page length of the users status route.
const usersPageSize = 100

type userStatusItem struct {
	UserID      string             `json:"user_id"`
	CreatedAt   string             `json:"created_at"`
	TimeZone    *string            `json:"time_zone"`
	Active      bool               `json:"active"`
	DataSources []sourceConnection `json:"data_sources"`
}

type sourceConnection struct {
	DataSource string  `json:"data_source"`
	Authorized bool    `json:"authorized"`
	Status     string  `json:"status"`
	LinkedAt   string  `json:"linked_at"`
	UpdatedAt  string  `json:"updated_at"`
	LastSyncAt *string `json:"last_sync_at"`
	LastError  *string `json:"last_error"`
}

type pagination struct {
	Page       int  `json:"page"`
	PageSize   int  `json:"page_size"`
	TotalPages int  `json:"total_pages"`
	TotalUsers int  `json:"total_users"`
	NextPage   *int `json:"next_page"`
}

type usersStatus struct {
	UpToDate          string           `json:"up_to_date"`
	TotalCreatedUsers int              `json:"total_created_users"`
	TotalActiveUsers  int              `json:"total_active_users"`
	Users             []userStatusItem `json:"users"`
	Pagination        pagination       `json:"pagination"`
}

// usersStatus serves GET /api/v1/client/users/status?up_to_date&page: the
// users created up to the end of up_to_date (UTC), how many have a working
// authorization, and a page of them with their authorizations. Statuses are
// those of now: no history of them is kept.
func (a *API) usersStatus(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	q := r.URL.Query()
	upTo, err := a.dayParam("up_to_date", q.Get("up_to_date"))
	if err != nil {
		return err
	}
	upToDay, _ := time.Parse(time.DateOnly, upTo)
	if oldest := a.now().UTC().AddDate(0, -6, -1).Format(time.DateOnly); upTo < oldest {
		return invalid("up_to_date %s is more than 6 months ago; the oldest allowed is %s.", upTo, oldest)
	}
	page := 1
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 || page > 1_000_000 {
			return invalid("page %s is not a page number (1, 2, ...).", quoteShort(v))
		}
	}
	res, err := a.st.UserStatuses(r.Context(), store.UserStatusQuery{ClientUUID: c.UUID, CreatedBefore: upToDay.AddDate(0, 0, 1),
		Limit: usersPageSize, Offset: (page - 1) * usersPageSize})
	if err != nil {
		return err
	}
	out := usersStatus{UpToDate: upTo, TotalCreatedUsers: res.Total, TotalActiveUsers: res.Active, Users: []userStatusItem{}}
	for _, u := range res.Users {
		item := userStatusItem{UserID: u.UserID, CreatedAt: fmtTime(u.CreatedAt), DataSources: []sourceConnection{}}
		if u.TimeZone != "" {
			item.TimeZone = &u.TimeZone
		}
		for _, cs := range u.Connections {
			sc := sourceConnection{DataSource: a.sourceName(cs.DataSource), Authorized: cs.Status == store.StatusActive, Status: cs.Status,
				LinkedAt: fmtTime(cs.CreatedAt), UpdatedAt: fmtTime(cs.UpdatedAt)}
			if !cs.LastSyncAt.IsZero() {
				s := fmtTime(cs.LastSyncAt)
				sc.LastSyncAt = &s
			}
			if cs.LastError != "" {
				sc.LastError = &cs.LastError
			}
			item.Active = item.Active || sc.Authorized
			item.DataSources = append(item.DataSources, sc)
		}
		out.Users = append(out.Users, item)
	}
	pages := (res.Total + usersPageSize - 1) / usersPageSize
	out.Pagination = pagination{Page: page, PageSize: usersPageSize, TotalPages: pages, TotalUsers: res.Total}
	if page < pages {
		next := page + 1
		out.Pagination.NextPage = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
