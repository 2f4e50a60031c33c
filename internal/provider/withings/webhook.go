package withings

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Notifications. Withings POSTs a form (userid, appli, and a window:
// startdate and enddate in epoch seconds, or date as YYYY-MM-DD) and signs
// nothing. What keeps strangers out is the unguessable token in the
// callback URL, which the HTTP layer checks before this reads the body; a
// forged notification can only make wearlink read a user's own data with
// that user's own token.

// AppliCollections are the collections each notification category
// announces. Categories not listed (user actions, bed in and out, ECG)
// announce nothing wearlink reads.
func AppliCollections(appli int) []string {
	switch appli {
	case AppliWeight, AppliTemperature, AppliPressure:
		return []string{CollMeasure}
	case AppliActivity:
		return []string{CollActivity, CollWorkout}
	case AppliSleep:
		return []string{CollSleepSummary, CollSleep}
	}
	return nil
}

// Widest offsets from UTC: a local day D lies within
// [D 00:00 UTC - maxEast, D+1 00:00 UTC + maxWest).
const (
	maxEast = 14 * time.Hour
	maxWest = 12 * time.Hour
)

// ReadNotification implements provider.NotificationReader: one
// notification per collection the category announces, each with the
// window Withings sent. A date (a local day in the user's zone, which is
// not sent) becomes the instants that hold that day in every zone. An
// unknown category yields no notification and no error, so Withings is
// answered 2xx and does not retry; a form without a user, a category or a
// window is an error of kind KindInvalidRequest.
func (p *Provider) ReadNotification(r *http.Request, body []byte) ([]provider.Notification, error) {
	return ParseNotification(body)
}

// ParseNotification reads a notification's form-encoded body.
func ParseNotification(body []byte) ([]provider.Notification, error) {
	bad := func(format string, args ...any) error {
		return &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("withings notification: "+format, args...)}
	}
	form, err := url.ParseQuery(strings.TrimSpace(string(body)))
	if err != nil {
		return nil, bad("the body is not a form: %v", err)
	}
	userID := strings.TrimSpace(form.Get("userid"))
	if userID == "" {
		return nil, bad("no userid")
	}
	if _, err := strconv.ParseUint(userID, 10, 64); err != nil {
		return nil, bad("userid %q is not a number", userID)
	}
	appli, err := strconv.Atoi(strings.TrimSpace(form.Get("appli")))
	if err != nil {
		return nil, bad("appli %q is not a number", form.Get("appli"))
	}
	colls := AppliCollections(appli)
	if len(colls) == 0 {
		return nil, nil
	}
	from, to, err := notificationWindow(form)
	if err != nil {
		return nil, bad("%v", err)
	}
	out := make([]provider.Notification, 0, len(colls))
	for _, c := range colls {
		// Withings does not say whether data was added, changed or
		// deleted: no Event.
		out = append(out, provider.Notification{ExternalUserID: userID, Collection: c, From: from, To: to})
	}
	return out, nil
}

func notificationWindow(form url.Values) (from, to time.Time, err error) {
	if d := strings.TrimSpace(form.Get("date")); d != "" && form.Get("startdate") == "" {
		day, err := time.Parse(time.DateOnly, d)
		if err != nil {
			return from, to, fmt.Errorf("date %q is not YYYY-MM-DD", d)
		}
		return day.Add(-maxEast), day.AddDate(0, 0, 1).Add(maxWest), nil
	}
	s, e := strings.TrimSpace(form.Get("startdate")), strings.TrimSpace(form.Get("enddate"))
	if s == "" || e == "" {
		return from, to, errors.New("neither startdate and enddate nor date")
	}
	si, err1 := strconv.ParseInt(s, 10, 64)
	ei, err2 := strconv.ParseInt(e, 10, 64)
	if err1 != nil || err2 != nil {
		return from, to, fmt.Errorf("startdate %q or enddate %q is not epoch seconds", s, e)
	}
	if ei < si {
		return from, to, fmt.Errorf("enddate %d before startdate %d", ei, si)
	}
	return time.Unix(si, 0).UTC(), time.Unix(ei, 0).UTC(), nil
}
