package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// Lifecycle event types (the "type" field and the message's event type).
const (
	EventUserCreated        = "user.created"
	EventDataSourceLinked   = "data_source.linked"
	EventDataSourceUnlinked = "data_source.unlinked"
	EventDataSourceRevoked  = "data_source.revoked"
	EventExtractionFailed   = "extraction.failed"
	EventLinkFailed         = "data_source.link_failed"
	EventDeliveryRejected   = "delivery.rejected"
	EventEndpointDisabled   = "endpoint.disabled"
	EventTest               = "webhook.test"
)

// Who ended a link, for DataSourceUnlinked.
const (
	ByClient = "client"
	ByUser   = "user"
)

// Event is the JSON body of a lifecycle notification: Standard Webhooks'
// recommended type, timestamp and data, plus the flat fields ROOK's
// notification webhook carries (client_uuid, user_id, data_source,
// action, level, message), so a receiver written for either reads it.
// docs/webhooks.md documents every type's data.
type Event struct {
	Type       string `json:"type"`
	Timestamp  string `json:"timestamp"`
	ClientUUID string `json:"client_uuid"`
	UserID     string `json:"user_id,omitempty"`
	DataSource string `json:"data_source,omitempty"`
	Action     string `json:"action"`
	// Level is info, warning or error.
	Level   string `json:"level"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

// dataSourceName is a data source as ROOK spells it; "" stays "".
func (s *Service) dataSourceName(ds string) string {
	if ds == "" {
		return ""
	}
	if n := s.cfg.SourceName(ds); n != "" {
		return n
	}
	return ds
}

// Notify stores ev for every notification endpoint of its client and
// queues the deliveries. Timestamp is set when empty. A client without a
// notification endpoint gets nothing.
func (s *Service) Notify(ctx context.Context, ev Event) error {
	now := s.now()
	if ev.Timestamp == "" {
		ev.Timestamp = now.UTC().Format(time.RFC3339Nano)
	}
	if ev.Data == nil {
		ev.Data = struct{}{}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("notify %s: %w", ev.Type, err)
	}
	ids, err := s.st.AddMessage(ctx, store.WebhookMessage{ClientUUID: ev.ClientUUID, UserID: ev.UserID,
		Kind: store.MessageLifecycle, EventType: ev.Type, Body: body}, nil, now)
	if err != nil {
		return fmt.Errorf("notify %s: %w", ev.Type, err)
	}
	// A failed queueing leaves the deliveries to the pump.
	if err := s.enqueue(ctx, ids); err != nil {
		s.log.Warn("queue notification", "type", ev.Type, "err", err)
	}
	return nil
}

// UserCreated announces a new user of a client.
func (s *Service) UserCreated(ctx context.Context, clientUUID, userID string) error {
	return s.Notify(ctx, Event{Type: EventUserCreated, ClientUUID: clientUUID, UserID: userID,
		Action: "user_created", Level: "info", Message: "User created.", Data: struct{}{}})
}

// connData is the data of the data source events.
type connData struct {
	ConnectionID int64  `json:"connection_id"`
	Status       string `json:"status"`
	By           string `json:"by,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// DataSourceLinked announces that a user linked a data source.
func (s *Service) DataSourceLinked(ctx context.Context, c store.Connection) error {
	name := s.dataSourceName(c.DataSource)
	return s.Notify(ctx, Event{Type: EventDataSourceLinked, ClientUUID: c.ClientUUID, UserID: c.UserID, DataSource: name,
		Action: "connection_established", Level: "info", Message: name + " linked.",
		Data: connData{ConnectionID: c.ID, Status: c.Status}})
}

// DataSourceUnlinked announces that a link ended: by ByClient (the
// client revoked it through wearlink: data_source.unlinked) or by ByUser
// (the user revoked access at the data source: data_source.revoked).
func (s *Service) DataSourceUnlinked(ctx context.Context, c store.Connection, by string) error {
	name := s.dataSourceName(c.DataSource)
	typ, msg := EventDataSourceUnlinked, name+" unlinked by the client."
	if by == ByUser {
		typ, msg = EventDataSourceRevoked, name+" access revoked by the user at "+name+"."
	}
	return s.Notify(ctx, Event{Type: typ, ClientUUID: c.ClientUUID, UserID: c.UserID, DataSource: name,
		Action: "connection_revoked", Level: "warning", Message: msg,
		Data: connData{ConnectionID: c.ID, Status: c.Status, By: by}})
}

// extractionMessages explain the reasons the sync engine reports.
var extractionMessages = map[string]string{
	"token":     "The user's authorization no longer works: the user must link the data source again.",
	"scope":     "The user did not grant every permission needed: the user must link the data source again.",
	"forbidden": "The data source refused access to the user's data (membership or permission).",
	"source":    "The data source failed to return the user's data.",

	// A pause, not a loss: no new link is needed.
	"subscription_required": "The data source refuses the user's data, usually because the user's membership lapsed; syncing resumes by itself once it is renewed.",
	"app_update_required":   "The user's app is too old to share this data: the user must update it; syncing resumes by itself after the update.",
}

// ExtractionFailed announces that a user's data can no longer be fetched.
// It has the signature of the sync engine's Events, so the Service can be
// given to it as is. The error is logged, not sent: it may carry
// internal details.
func (s *Service) ExtractionFailed(ctx context.Context, c store.Connection, reason string, err error) {
	name := s.dataSourceName(c.DataSource)
	msg, ok := extractionMessages[reason]
	if !ok {
		msg = "Data could not be extracted from " + name + "."
	}
	s.log.Info("extraction failed", "connection", c.ID, "client", c.ClientUUID, "user", c.UserID, "reason", reason, "err", err)
	if nerr := s.Notify(ctx, Event{Type: EventExtractionFailed, ClientUUID: c.ClientUUID, UserID: c.UserID, DataSource: name,
		Action: "extraction_failed", Level: "error", Message: msg,
		Data: connData{ConnectionID: c.ID, Status: c.Status, Reason: reason}}); nerr != nil {
		s.log.Error("notify extraction failure", "connection", c.ID, "err", nerr)
	}
}

// linkFailedData is the data of data_source.link_failed.
type linkFailedData struct {
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// LinkFailed announces that a user's attempt to link a data source ended
// without a link (consent refused, a permission missing, an expired
// page ...). It has the signature of the linking package's FailureEvents.
func (s *Service) LinkFailed(ctx context.Context, clientUUID, userID, dataSource, reason, detail string) error {
	name := s.dataSourceName(dataSource)
	if len(detail) > 500 {
		detail = detail[:500]
	}
	return s.Notify(ctx, Event{Type: EventLinkFailed, ClientUUID: clientUUID, UserID: userID, DataSource: name,
		Action: "connection_failed", Level: "warning", Message: "The user did not complete linking " + name + ".",
		Data: linkFailedData{Reason: reason, Detail: detail}})
}

// rejectedData is the data of delivery.rejected.
type rejectedData struct {
	DeliveryID      int64  `json:"delivery_id"`
	WebhookID       string `json:"webhook_id"`
	EndpointID      string `json:"endpoint_id"`
	DataStructure   string `json:"data_structure"`
	Pillar          string `json:"pillar"`
	Day             string `json:"day"`
	DocumentVersion int    `json:"document_version"`
	Attempts        int    `json:"attempts"`
	LastStatusCode  int    `json:"last_status_code,omitempty"`
	// ErrorClass is the last attempt's (a destination's auth, permission
	// and not_found say the client must act on it).
	ErrorClass string `json:"error_class,omitempty"`
	// Destination is the kind of the destination the delivery was for,
	// absent for a webhook.
	Destination string `json:"destination,omitempty"`
	LastError   string `json:"last_error"`
	CreatedAt   string `json:"created_at"`
	KeptUntil   string `json:"kept_until"`
}

// rejected announces a data delivery that became a dead letter. A
// delivery does not know its document's data source, so the event names
// none; the document is in the dead letter.
func (s *Service) rejected(ctx context.Context, d store.Delivery, ep store.WebhookEndpoint, class string) {
	until := d.FinishedAt.Add(s.cfg.DeadLetterRetention)
	err := s.Notify(ctx, Event{Type: EventDeliveryRejected, ClientUUID: d.ClientUUID, UserID: d.UserID,
		Action: "delivery_rejected", Level: "warning",
		Message: fmt.Sprintf("A %s document was not accepted after %d attempts; it is kept until %s for a resend.",
			d.EventType, d.Attempts, until.UTC().Format(time.DateOnly)),
		Data: rejectedData{DeliveryID: d.ID, WebhookID: d.WebhookID, EndpointID: ep.ID, DataStructure: d.EventType, Pillar: d.Pillar,
			Day: d.Day, DocumentVersion: d.Version, Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastError: d.LastError,
			ErrorClass: class, Destination: ep.Destination,
			CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339Nano), KeptUntil: until.UTC().Format(time.RFC3339Nano)}})
	if err != nil {
		s.log.Error("notify rejected delivery", "delivery", d.ID, "err", err)
	}
}

// disabledData is the data of endpoint.disabled.
type disabledData struct {
	EndpointID   string `json:"endpoint_id"`
	Kind         string `json:"kind"`
	URL          string `json:"url"`
	Reason       string `json:"reason"`
	FailingSince string `json:"failing_since,omitempty"`
}

// endpointDisabled announces that wearlink disabled an endpoint.
func (s *Service) endpointDisabled(ctx context.Context, ep store.WebhookEndpoint, failingSince time.Time, reason string) {
	data := disabledData{EndpointID: ep.ID, Kind: ep.Kind, URL: ep.URL, Reason: reason}
	if !failingSince.IsZero() {
		data.FailingSince = failingSince.UTC().Format(time.RFC3339Nano)
	}
	msg := "Webhook endpoint " + ep.ID + " was disabled: " + reason + ". Enable it again, then resend what it missed."
	if ep.IsDestination() {
		data.Kind = ep.Destination
		msg = "Destination " + ep.ID + " was disabled: " + reason + ". Resume it, then resend what it missed."
	}
	err := s.Notify(ctx, Event{Type: EventEndpointDisabled, ClientUUID: ep.ClientUUID,
		Action: "webhook_disabled", Level: "error", Message: msg, Data: data})
	if err != nil {
		s.log.Error("notify disabled endpoint", "endpoint", ep.ID, "err", err)
	}
}
