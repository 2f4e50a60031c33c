package web

import (
	"context"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// dashboardHome handles GET /dashboard: the login form, or the users.
func (h *Handler) dashboardHome(w http.ResponseWriter, r *http.Request) {
	c, sess := h.signedIn(w, r)
	if c == nil {
		return
	}
	const perPage = 100
	pageNo, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pageNo = max(pageNo, 1)
	page, err := h.st.UserStatuses(r.Context(), store.UserStatusQuery{ClientUUID: c.UUID, Limit: perPage, Offset: (pageNo - 1) * perPage})
	if err != nil {
		h.internal(w, r, "dashboard: users", err)
		return
	}
	type row struct {
		UserID string
		// Statuses has one entry per configured provider, in order.
		Statuses  []string
		LastSync  time.Time
		LastError string
	}
	rows := make([]row, 0, len(page.Users))
	for _, u := range page.Users {
		rw := row{UserID: u.UserID}
		var errs []string
		for _, pv := range h.cfg.Providers {
			status := "not connected"
			for _, cs := range u.Connections {
				if cs.DataSource != pv.DataSource {
					continue
				}
				status = statusText(cs.Status, pv.Name)
				if cs.LastSyncAt.After(rw.LastSync) {
					rw.LastSync = cs.LastSyncAt
				}
				if cs.LastError != "" {
					errs = append(errs, named(pv.Name, cs.LastError, len(h.cfg.Providers)))
				}
			}
			rw.Statuses = append(rw.Statuses, status)
		}
		rw.LastError = strings.Join(errs, "; ")
		rows = append(rows, rw)
	}
	data := struct {
		Total, Active int
		Providers     []ProviderInfo
		Columns       int
		Users         []row
		Prev, Next    int
	}{Total: page.Total, Active: page.Active, Providers: h.cfg.Providers, Columns: 3 + len(h.cfg.Providers), Users: rows}
	if pageNo > 1 {
		data.Prev = pageNo - 1
	}
	if pageNo*perPage < page.Total {
		data.Next = pageNo + 1
	}
	h.signedInPage(w, r, c, sess, "users", "Users", data)
}

// named prefixes a connection's error with its provider's name when there
// is more than one provider, so the cell says whose error it is.
func named(name, text string, providers int) string {
	if providers > 1 {
		return name + ": " + text
	}
	return text
}

// statusText is a connection status as the dashboard shows it; provider
// names the data source in the explanation of a pause.
func statusText(s, provider string) string {
	if store.Paused(s) {
		return "paused: " + store.PauseText(s, provider)
	}
	switch s {
	case store.StatusActive:
		return "connected"
	case store.StatusReauthRequired:
		return "needs reconnecting"
	case store.StatusRevoked:
		return "disconnected"
	}
	return s
}

func (h *Handler) signedInPage(w http.ResponseWriter, r *http.Request, c *store.Client, s *store.DashboardSession, page, title string, data any) {
	name := c.Name
	if name == "" {
		name = c.UUID
	}
	h.render(w, http.StatusOK, page, view{Title: title, Nav: true, Client: name, CSRF: s.CSRF, Data: data, Active: page,
		Deliveries: h.cfg.Deliveries != nil})
}

// connStatus is a user's connection to one provider.
type connStatus struct {
	Name, Status, LastError string
	LastSync                time.Time
}

// userData is the user page.
type userData struct {
	UserID string
	// Connections has one entry per configured provider, in order.
	Connections               []connStatus
	Day, MinDay, MaxDay       string
	Period                    int
	Periods                   []int
	HasNight                  bool
	Night                     night
	Hypnogram, HeartRate, HRV template.HTML
	Steps, Calories, Scores   template.HTML
}

const dayLayout = "2006-01-02"

// userPage handles GET /dashboard/users/{user_id}?day&period.
func (h *Handler) userPage(w http.ResponseWriter, r *http.Request) {
	c, sess := h.signedIn(w, r)
	if c == nil {
		return
	}
	ctx := r.Context()
	userID := r.PathValue("user_id")
	if _, err := h.st.GetUser(ctx, c.UUID, userID); err != nil {
		if health.ErrorCode(err) == health.ENOTFOUND {
			h.message(w, http.StatusNotFound, "No such user", message{Text: "Your app has no user " + userID + ".", Back: DashboardPath})
			return
		}
		h.internal(w, r, "dashboard: get user", err)
		return
	}
	d := userData{UserID: userID, Periods: []int{7, 30}, Period: 7}
	for _, pv := range h.cfg.Providers {
		cs := connStatus{Name: pv.Name, Status: "not connected"}
		conn, err := h.st.FindConnection(ctx, c.UUID, userID, pv.DataSource)
		switch {
		case err == nil:
			cs.Status, cs.LastSync, cs.LastError = statusText(conn.Status, pv.Name), conn.LastSyncAt, conn.LastError
		case health.ErrorCode(err) != health.ENOTFOUND:
			h.internal(w, r, "dashboard: find connection", err)
			return
		}
		d.Connections = append(d.Connections, cs)
	}
	q := r.URL.Query()
	if p, _ := strconv.Atoi(q.Get("period")); slices.Contains(d.Periods, p) {
		d.Period = p
	}
	newest, oldest, err := h.nightRange(ctx, c.UUID, userID)
	if err != nil {
		h.internal(w, r, "dashboard: nights", err)
		return
	}
	d.MinDay, d.MaxDay, d.Day = oldest, newest, newest
	if t, err := time.Parse(dayLayout, q.Get("day")); err == nil {
		d.Day = t.Format(dayLayout)
	}
	if d.Day == "" {
		d.Day = h.now().UTC().Format(dayLayout)
	}
	if err := h.charts(ctx, c.UUID, &d); err != nil {
		h.internal(w, r, "dashboard: charts", err)
		return
	}
	h.signedInPage(w, r, c, sess, "user", "User "+userID, d)
}

// nightRange finds the newest and oldest nights: first among the last 60
// days, then among all.
func (h *Handler) nightRange(ctx context.Context, clientUUID, userID string) (newest, oldest string, err error) {
	today := h.now().UTC()
	q := store.HealthQuery{ClientUUID: clientUUID, UserID: userID, DataStructure: health.SleepSummary,
		FromDay: today.AddDate(0, 0, -60).Format(dayLayout), ToDay: today.AddDate(0, 0, 1).Format(dayLayout)}
	docs, err := h.st.GetHealthDocuments(ctx, q)
	if err == nil && len(docs) == 0 {
		q.FromDay, q.ToDay = "", ""
		docs, err = h.st.GetHealthDocuments(ctx, q)
	}
	if err != nil {
		return "", "", err
	}
	for _, d := range docs {
		if newest == "" || d.Day > newest {
			newest = d.Day
		}
		if oldest == "" || d.Day < oldest {
			oldest = d.Day
		}
	}
	return newest, oldest, nil
}

// charts reads the night of d.Day and the d.Period days ending with it.
func (h *Handler) charts(ctx context.Context, clientUUID string, d *userData) error {
	end, _ := time.Parse(dayLayout, d.Day)
	from := end.AddDate(0, 0, 1-d.Period).Format(dayLayout)
	sleeps, err := h.st.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: clientUUID, UserID: d.UserID, DataStructure: health.SleepSummary, FromDay: from, ToDay: d.Day})
	if err != nil {
		return err
	}
	acts, err := h.st.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: clientUUID, UserID: d.UserID, DataStructure: health.PhysicalSummary, FromDay: from, ToDay: d.Day})
	if err != nil {
		return err
	}
	// A day's scores come from all its documents of both structures:
	// which structure a provider attaches a score to is its own choice.
	scores := map[string]map[scoreKey]float64{}
	addDay := func(day string, m map[scoreKey]float64) {
		if scores[day] == nil {
			scores[day] = map[scoreKey]float64{}
		}
		maps.Copy(scores[day], m)
	}
	nights := map[string]night{}
	for _, doc := range sleeps {
		if n, ok := readNight(doc); ok {
			nights[doc.Day] = n
			addDay(doc.Day, n.Scores)
		}
	}
	days := map[string]activity{}
	for _, doc := range acts {
		if a, ok := readActivity(doc); ok {
			days[doc.Day] = a
			addDay(doc.Day, a.Scores)
		}
	}
	d.Night, d.HasNight = nights[d.Day]
	d.Hypnogram = hypnogramChart(d.Day, d.Night.Phases)
	d.HeartRate = lineChart("heart-rate", "Heart rate during the night of "+d.Day+" (bpm)", "bpm", d.Night.HeartRate)
	d.HRV = lineChart("hrv", "Heart rate variability (RMSSD) during the night of "+d.Day+" (ms)", "ms", d.Night.HRV)
	var steps, cals []DayValue
	var period []string
	for i := range d.Period {
		day := end.AddDate(0, 0, i+1-d.Period).Format(dayLayout)
		a := days[day]
		period = append(period, day)
		steps = append(steps, DayValue{Day: day, Value: a.Steps})
		cals = append(cals, DayValue{Day: day, Value: a.Calories})
	}
	d.Steps = barChart("steps", "Daily steps", "steps", steps)
	d.Calories = barChart("calories", "Daily calories burned (kcal)", "kcal", cals)
	series := scoreSeries(period, scores, h.providerName)
	title := "Scores"
	if len(series) > 0 {
		var names []string
		for _, s := range series {
			names = append(names, s.Name)
		}
		title += ": " + strings.Join(names, ", ")
	}
	d.Scores = scoreChart("scores", title, series)
	return nil
}

// deliveriesData is the deliveries page.
type deliveriesData struct {
	// Targets are where documents go, webhooks first; nil hides them.
	Targets      []targetRow
	Recent, Dead []store.Delivery
	Replayed     string
}

// targetRow is a webhook endpoint or a destination as the deliveries
// page lists it.
type targetRow struct {
	ID, Kind, To, Structures, Status, Note string
	// Failing marks a status the client must look at.
	Failing bool
}

// targets lists the client's endpoints and destinations.
func (h *Handler) targets(ctx context.Context, clientUUID string) ([]targetRow, error) {
	if h.cfg.Targets == nil {
		return nil, nil
	}
	eps, err := h.cfg.Targets.ListEndpoints(ctx, clientUUID)
	if err != nil {
		return nil, err
	}
	dests, err := h.cfg.Targets.ListDestinations(ctx, clientUUID)
	if err != nil {
		return nil, err
	}
	structures := func(ds []string) string {
		if len(ds) == 0 {
			return "all"
		}
		return strings.Join(ds, ", ")
	}
	since := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return "every attempt failed since " + t.UTC().Format("2006-01-02 15:04 UTC")
	}
	rows := []targetRow{}
	for _, e := range eps {
		r := targetRow{ID: e.ID, Kind: "webhook (" + e.Kind + ")", To: e.URL, Structures: structures(e.DataStructures), Status: "active", Note: since(e.FailingSince)}
		switch {
		case !e.Enabled:
			r.Status, r.Note, r.Failing = "disabled", e.DisabledReason, true
		case e.FailingSince != nil:
			r.Status, r.Failing = "failing", true
		}
		if e.Kind == store.EndpointNotification {
			r.Structures = "lifecycle events"
		}
		rows = append(rows, r)
	}
	for _, d := range dests {
		r := targetRow{ID: d.ID, Kind: d.Kind, To: d.Description, Structures: structures(d.DataStructures), Status: d.Status,
			Note: since(d.FailingSince), Failing: d.Status == delivery.DestinationFailing || d.Status == delivery.DestinationDisabled}
		switch d.Status {
		case delivery.DestinationDisabled:
			r.Note = d.DisabledReason
		case delivery.DestinationPaused:
			r.Note = "documents wait until it is resumed"
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// recentDeliveries returns the newest n of the client's deliveries of the
// last 30 days with that status ("" for all), newest first.
func (h *Handler) recentDeliveries(ctx context.Context, clientUUID, status string, n int) ([]store.Delivery, error) {
	q := store.DeliveryQuery{Status: status, CreatedFrom: h.now().AddDate(0, 0, -30), Limit: 500}
	var all []store.Delivery
	for range 20 {
		ds, err := h.cfg.Deliveries.ListDeliveries(ctx, clientUUID, q)
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
		if len(all) > n {
			all = all[len(all)-n:]
		}
		if len(ds) < q.Limit {
			break
		}
		q.AfterID = ds[len(ds)-1].ID
	}
	slices.Reverse(all)
	return all, nil
}

// deliveriesPage handles GET /dashboard/deliveries.
func (h *Handler) deliveriesPage(w http.ResponseWriter, r *http.Request) {
	c, sess := h.signedIn(w, r)
	if c == nil {
		return
	}
	if h.cfg.Deliveries == nil {
		h.message(w, http.StatusNotFound, "No deliveries here", message{Text: "This server does not deliver webhooks.", Back: DashboardPath})
		return
	}
	recent, err := h.recentDeliveries(r.Context(), c.UUID, "", 50)
	if err != nil {
		h.internal(w, r, "dashboard: deliveries", err)
		return
	}
	dead, err := h.recentDeliveries(r.Context(), c.UUID, store.DeliveryDead, 50)
	if err != nil {
		h.internal(w, r, "dashboard: dead letters", err)
		return
	}
	targets, err := h.targets(r.Context(), c.UUID)
	if err != nil {
		h.internal(w, r, "dashboard: endpoints and destinations", err)
		return
	}
	h.signedInPage(w, r, c, sess, "deliveries", "Webhook deliveries", deliveriesData{Targets: targets, Recent: recent, Dead: dead, Replayed: r.URL.Query().Get("replayed")})
}

// replay handles POST /dashboard/deliveries/{id}/replay.
func (h *Handler) replay(w http.ResponseWriter, r *http.Request) {
	c, sess := h.signedIn(w, r)
	if c == nil || !h.checkSessionCSRF(w, r, sess) {
		return
	}
	if h.cfg.Deliveries == nil {
		h.message(w, http.StatusNotFound, "No deliveries here", message{Text: "This server does not deliver webhooks.", Back: DashboardPath})
		return
	}
	notFound := func() {
		h.message(w, http.StatusNotFound, "No such delivery", message{Text: "Your app has no delivery " + r.PathValue("id") + ".", Back: DashboardPath + "/deliveries"})
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		notFound()
		return
	}
	if _, err := h.cfg.Deliveries.Replay(r.Context(), c.UUID, store.ReplayQuery{IDs: []int64{id}}); err != nil {
		if health.ErrorCode(err) == health.ENOTFOUND {
			notFound()
			return
		}
		h.internal(w, r, "dashboard: replay", err)
		return
	}
	h.log.InfoContext(r.Context(), "delivery replayed from the dashboard", "client_uuid", c.UUID, "delivery", id)
	http.Redirect(w, r, DashboardPath+"/deliveries?replayed="+strconv.FormatInt(id, 10), http.StatusSeeOther)
}
