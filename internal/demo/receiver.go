package demo

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Delivery is one webhook the receiver took.
type Delivery struct {
	// Endpoint is the path it was posted to.
	Endpoint string
	// DataStructure is the document's data_structure, or the event's type
	// for a notification.
	DataStructure string
	UserID        string
	// Day is the user's local day the document belongs to ("" for events).
	Day       string
	WebhookID string
	// Verified says both the Standard Webhooks signature and X-ROOK-HASH
	// held; Problem says what did not.
	Verified   bool
	Problem    string
	ReceivedAt time.Time
}

// Receiver is a client's webhook receiver, as an app would write one: it
// checks every request's Standard Webhooks signature (webhook-id,
// webhook-timestamp, webhook-signature) and ROOK's X-ROOK-HASH with the
// secret of the endpoint it was posted to, answers 401 when they do not
// hold, and records every request. It is written from docs/webhooks.md
// alone, not with wearlink's signing code, so that it checks the contract.
type Receiver struct {
	// Tolerance is how far webhook-timestamp may be from Now (default 5
	// minutes, as the Standard Webhooks libraries).
	Tolerance time.Duration
	Now       func() time.Time
	// OnDelivery, when set, is called after each request is recorded.
	OnDelivery func(Delivery)

	mu      sync.Mutex
	secrets map[string]string
	got     []Delivery
}

// NewReceiver returns a receiver with no endpoints.
func NewReceiver() *Receiver {
	return &Receiver{Tolerance: 5 * time.Minute, Now: time.Now, secrets: map[string]string{}}
}

// SetSecret makes path an endpoint verified with secret ("whsec_...").
func (r *Receiver) SetSecret(path, secret string) {
	r.mu.Lock()
	r.secrets[path] = secret
	r.mu.Unlock()
}

// Deliveries returns a copy of what was received so far.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// maxBody bounds a request body: the largest documents (a day of heart
// rate) are a few hundred KB.
const maxBody = 16 << 20

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	r.mu.Lock()
	secret, ok := r.secrets[req.URL.Path]
	r.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	d := describe(body)
	d.Endpoint, d.WebhookID, d.ReceivedAt = req.URL.Path, req.Header.Get("webhook-id"), time.Now()
	if err := r.verify(secret, req.Header, body); err != nil {
		d.Problem = err.Error()
	} else {
		d.Verified = true
	}
	r.mu.Lock()
	r.got = append(r.got, d)
	r.mu.Unlock()
	if r.OnDelivery != nil {
		r.OnDelivery(d)
	}
	if !d.Verified {
		http.Error(w, d.Problem, http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify checks the signature, the timestamp's freshness and X-ROOK-HASH.
func (r *Receiver) verify(secret string, h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q is not Unix seconds", ts)
	}
	if skew := r.Now().Sub(time.Unix(sec, 0)).Abs(); skew > r.Tolerance {
		return fmt.Errorf("webhook-timestamp is %s off", skew.Round(time.Second))
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("endpoint secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	signed := false
	for _, s := range strings.Fields(sigs) {
		v, b64, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			signed = true
			break
		}
	}
	if !signed {
		return errors.New("webhook-signature does not match")
	}
	var who struct {
		ClientUUID string `json:"client_uuid"`
		UserID     string `json:"user_id"`
	}
	if err := json.Unmarshal(body, &who); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	rm := hmac.New(sha256.New, []byte(secret))
	rm.Write([]byte(who.ClientUUID + who.UserID + ts))
	got, err := hex.DecodeString(h.Get("X-ROOK-HASH"))
	if err != nil || !hmac.Equal(got, rm.Sum(nil)) {
		return errors.New("X-ROOK-HASH does not match")
	}
	return nil
}

// describe reads what a receiver shows of a delivery: the data structure
// (or event type), the user and the document's day.
func describe(body []byte) Delivery {
	var top struct {
		DataStructure string `json:"data_structure"`
		Type          string `json:"type"`
		UserID        string `json:"user_id"`
	}
	_ = json.Unmarshal(body, &top)
	d := Delivery{DataStructure: top.DataStructure, UserID: top.UserID}
	if d.DataStructure == "" {
		d.DataStructure = top.Type
		return d
	}
	d.Day = documentDay(body)
	return d
}

// documentDay finds the local day of a ROOK document, which is not a field
// of its own: a sleep summary's sleep_date_string, else the first "day"
// (of the Oura document it carries), else the date of the first
// datetime_string (local time with its offset).
func documentDay(body []byte) string {
	found := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(body))
	var walk func(key string) error
	walk = func(key string) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := t.(type) {
		case json.Delim:
			switch v {
			case '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					name, _ := k.(string)
					if err := walk(name); err != nil {
						return err
					}
				}
				_, err = dec.Token()
			case '[':
				for dec.More() {
					if err := walk(""); err != nil {
						return err
					}
				}
				_, err = dec.Token()
			}
			return err
		case string:
			if _, seen := found[key]; !seen && len(v) >= 10 {
				found[key] = v[:10]
			}
		}
		return nil
	}
	_ = walk("")
	for _, k := range []string{"sleep_date_string", "day", "datetime_string"} {
		if d, ok := found[k]; ok {
			if _, err := time.Parse(time.DateOnly, d); err == nil {
				return d
			}
		}
	}
	return ""
}
