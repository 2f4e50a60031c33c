package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// processed serves GET /v2/processed_data/...: the structure's document of
// one day (date), or the documents of a range (start_date, end_date) as an
// array. Events of one day come as one document holding all of them.
func (a *API) processed(s health.Structure) handler {
	return func(w http.ResponseWriter, r *http.Request, c *store.Client) error {
		ctx := r.Context()
		q := r.URL.Query()
		userID, err := userIDParam(q.Get("user_id"))
		if err != nil {
			return err
		}
		// A user linked to several providers has a document of each per
		// day: data_source picks one provider's; without it a summary
		// comes from the first data source (by slug) that has that day,
		// and events are merged from all.
		only := ""
		if q.Has("data_source") {
			src, err := a.source(q.Get("data_source"), health.EINVALID)
			if err != nil {
				return err
			}
			only = src.DataSource
		}
		ranged := q.Has("start_date") || q.Has("end_date")
		hq := store.HealthQuery{ClientUUID: c.UUID, UserID: userID, DataStructure: s.Name, Pillar: s.Pillar}
		if ranged {
			if q.Has("date") {
				return invalid("Give either date, or start_date and end_date, not both.")
			}
			if hq.FromDay, hq.ToDay, err = a.dayRange(q.Get("start_date"), q.Get("end_date")); err != nil {
				return err
			}
		} else if hq.Day, err = a.dayParam("date", q.Get("date")); err != nil {
			return err
		}
		docs, err := a.st.GetHealthDocuments(ctx, hq)
		if err != nil {
			return err
		}
		if only != "" {
			docs = slices.DeleteFunc(docs, func(d store.HealthDocument) bool { return d.DataSource() != only })
		}
		days, err := a.dayDocuments(ctx, s, hq, docs)
		if err != nil {
			return err
		}
		if len(days) == 0 {
			if err := a.userExists(ctx, c.UUID, userID); err != nil {
				return err
			}
		}
		if !ranged {
			if len(days) == 0 {
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
			writeBody(w, http.StatusOK, days[0].body)
			return nil
		}
		var b bytes.Buffer
		b.WriteByte('[')
		for i, d := range days {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(d.body)
		}
		b.WriteByte(']')
		writeBody(w, http.StatusOK, b.Bytes())
		return nil
	}
}

// getUser reads a user of the client; ENOTFOUND says so in the client's
// terms.
func (a *API) getUser(ctx context.Context, clientUUID, userID string) (store.User, error) {
	u, err := a.st.GetUser(ctx, clientUUID, userID)
	if health.ErrorCode(err) == health.ENOTFOUND {
		return u, health.Errorf(health.ENOTFOUND, "This client has no user %s.", userID)
	}
	return u, err
}

// upsertUser writes the user and reports a new one to Events. A new row
// has equal creation and update times (both the insert's clock reading).
func (a *API) upsertUser(ctx context.Context, u store.User) error {
	got, err := a.st.UpsertUser(ctx, u)
	if err != nil {
		return err
	}
	if a.cfg.Events != nil && got.CreatedAt.Equal(got.UpdatedAt) {
		if err := a.cfg.Events.UserCreated(ctx, u.ClientUUID, u.UserID); err != nil {
			a.log.WarnContext(ctx, "lifecycle event not recorded", "event", "user created", "err", err)
		}
	}
	return nil
}

// userExists answers ENOTFOUND for a user the client does not have.
func (a *API) userExists(ctx context.Context, clientUUID, userID string) error {
	_, err := a.getUser(ctx, clientUUID, userID)
	return err
}

type dayDoc struct {
	day  string
	body []byte
}

// dayDocuments turns stored documents into one body per day, in day order:
// a summary as stored; the events of a day merged into one document;
// user_info with the information the client posted for that day.
func (a *API) dayDocuments(ctx context.Context, s health.Structure, q store.HealthQuery, docs []store.HealthDocument) ([]dayDoc, error) {
	byDay := map[string][]store.HealthDocument{}
	var days []string
	for _, d := range docs {
		if _, ok := byDay[d.Day]; !ok {
			days = append(days, d.Day)
		}
		byDay[d.Day] = append(byDay[d.Day], d)
	}
	var posted *postedInfo
	if s.Kind == health.KindInfo {
		u, err := a.st.GetUser(ctx, q.ClientUUID, q.UserID)
		if err != nil && health.ErrorCode(err) != health.ENOTFOUND {
			return nil, err
		}
		if err == nil {
			posted = decodePosted(u)
		}
		if posted != nil && inQuery(q, posted.Day) && byDay[posted.Day] == nil {
			days = append(days, posted.Day)
			byDay[posted.Day] = []store.HealthDocument{}
		}
	}
	sort.Strings(days)
	out := make([]dayDoc, 0, len(days))
	for _, day := range days {
		ds := byDay[day]
		var body []byte
		var err error
		switch {
		case s.Kind == health.KindInfo:
			body, err = userInfoBody(q.ClientUUID, q.UserID, day, ds, posted)
		case s.Kind == health.KindEvent && len(ds) > 1:
			body, err = mergeEvents(s, ds)
		default:
			body = ds[0].Body
		}
		if err != nil {
			return nil, fmt.Errorf("%s of %s on %s: %w", s.Name, q.UserID, day, err)
		}
		out = append(out, dayDoc{day: day, body: body})
	}
	return out, nil
}

func inQuery(q store.HealthQuery, day string) bool {
	if q.Day != "" {
		return day == q.Day
	}
	return day >= q.FromDay && day <= q.ToDay
}

// mergeEvents makes one document of a day's event documents: the records
// of all of them in time order, the highest document_version, and
// auto_detected when they agree (null when they do not). Every event
// document type has the Events and AutoDetected fields this relies on.
func mergeEvents(s health.Structure, docs []store.HealthDocument) ([]byte, error) {
	out := s.New()
	if err := json.Unmarshal(docs[0].Body, out); err != nil {
		return nil, err
	}
	v := reflect.ValueOf(out).Elem()
	events, auto := v.FieldByName("Events"), v.FieldByName("AutoDetected")
	if !events.IsValid() || !auto.IsValid() {
		return nil, fmt.Errorf("%s is not an event structure", s.Name)
	}
	h := out.Envelope()
	for _, d := range docs[1:] {
		next := s.New()
		if err := json.Unmarshal(d.Body, next); err != nil {
			return nil, err
		}
		nv := reflect.ValueOf(next).Elem()
		events.Set(reflect.AppendSlice(events, nv.FieldByName("Events")))
		h.DocumentVersion = max(h.DocumentVersion, next.Envelope().DocumentVersion)
		a, b := auto.Interface().(*bool), nv.FieldByName("AutoDetected").Interface().(*bool)
		if a == nil || b == nil || *a != *b {
			auto.Set(reflect.Zero(auto.Type()))
		}
	}
	sortRecords(events)
	return json.Marshal(out)
}

// sortRecords orders event records by metadata.datetime_string; records
// without one keep their place after those with one.
func sortRecords(events reflect.Value) {
	at := func(i int) (time.Time, bool) {
		m := events.Index(i).FieldByName("Metadata")
		if !m.IsValid() {
			return time.Time{}, false
		}
		dt := m.FieldByName("Datetime")
		if !dt.IsValid() || dt.IsNil() {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, dt.Elem().String())
		return t, err == nil
	}
	n := events.Len()
	keys := make([]time.Time, n)
	has := make([]bool, n)
	idx := make([]int, n)
	for i := range n {
		keys[i], has[i] = at(i)
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool {
		i, j := idx[x], idx[y]
		if has[i] != has[j] {
			return has[i]
		}
		return has[i] && keys[i].Before(keys[j])
	})
	sorted := reflect.MakeSlice(events.Type(), n, n)
	for to, from := range idx {
		sorted.Index(to).Set(events.Index(from))
	}
	events.Set(sorted)
}

// rawData serves GET /v2/raw_data/{data_source}/{collection}: the
// provider's documents of the user's days start_date..end_date exactly as
// the provider sent them, in a list ({"data": [...]}). Collections without
// days (a profile, a device's settings) come whole.
func (a *API) rawData(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	ctx := r.Context()
	q := r.URL.Query()
	src, err := a.source(r.PathValue("data_source"), health.EINVALID)
	if err != nil {
		return err
	}
	coll := r.PathValue("collection")
	if err := src.collection(coll); err != nil {
		return err
	}
	userID, err := userIDParam(q.Get("user_id"))
	if err != nil {
		return err
	}
	from, to, err := a.dayRange(q.Get("start_date"), q.Get("end_date"))
	if err != nil {
		return err
	}
	conn, err := a.st.FindConnection(ctx, c.UUID, userID, src.DataSource)
	if health.ErrorCode(err) == health.ENOTFOUND {
		if err := a.userExists(ctx, c.UUID, userID); err != nil {
			return err
		}
		writeBody(w, http.StatusOK, []byte(`{"data":[]}`))
		return nil
	}
	if err != nil {
		return err
	}
	docs, err := a.st.RawDocuments(ctx, conn.ID, []string{coll}, from, to)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i, d := range docs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(d.Body)
	}
	b.WriteString(`]}`)
	writeBody(w, http.StatusOK, b.Bytes())
	return nil
}
