package httpapi

import (
	"io"
	"net/http"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// maxNotificationBytes bounds a provider's notification body.
const maxNotificationBytes = 64 << 10

// notificationSource is the data source a notification route serves: the
// path's, or Oura's on the old /oura/webhook.
func notificationSource(r *http.Request) string {
	if ds := r.PathValue("data_source"); ds != "" {
		return ds
	}
	return "oura"
}

// challenge serves GET /webhooks/{data_source}: a provider checking the
// callback URL before it sends notifications to it.
func (a *API) challenge(w http.ResponseWriter, r *http.Request, _ *store.Client) error {
	if a.cfg.Notifications == nil {
		return unavailable("This server takes no provider notifications.")
	}
	out, err := a.cfg.Notifications.Challenge(r, notificationSource(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// notification serves POST /webhooks/{data_source} and, for providers
// whose notifications are not signed, POST /webhooks/{data_source}/{token}
// (the URL wearlink registered, with its token). The answer is 200 once
// the fetch it announces is stored, so a failure (500) makes the provider
// retry; a request the provider did not sign gets 401 and changes nothing.
func (a *API) notification(w http.ResponseWriter, r *http.Request, _ *store.Client) error {
	if a.cfg.Notifications == nil {
		return unavailable("This server takes no provider notifications.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	if err != nil {
		return health.Errorf(health.EINVALID, "The notification body could not be read.")
	}
	if len(body) > maxNotificationBytes {
		return tooLarge(maxNotificationBytes)
	}
	n, err := a.cfg.Notifications.HandleNotification(r, notificationSource(r), r.PathValue("token"), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"connections": n})
	return nil
}
