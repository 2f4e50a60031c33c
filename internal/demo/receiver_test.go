package demo

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/wearlink/wearlink/internal/delivery"
)

const testBody = `{"client_uuid":"demoClientUUID","user_id":"demoUserId","version":2,"document_version":1,"data_structure":"sleep_summary",` +
	`"sleep_health":{"summary":{"sleep_summary":{"duration":{"sleep_start_datetime_string":"2022-10-27T23:10:00+03:00","sleep_date_string":"2022-10-28"}}}}}`

// signed builds a request as wearlink posts it, signed by the Standard
// Webhooks reference library with secret, and X-ROOK-HASH under rookKey.
func signed(t *testing.T, secret, rookKey, body string, ts time.Time) *http.Request {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign("msg_1", ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, DataPath, strings.NewReader(body))
	stamp := strconv.FormatInt(ts.Unix(), 10)
	r.Header.Set("webhook-id", "msg_1")
	r.Header.Set("webhook-timestamp", stamp)
	r.Header.Set("webhook-signature", sig)
	r.Header.Set("X-ROOK-HASH", delivery.RookHash(rookKey, ClientUUID, UserID, stamp))
	return r
}

// TestReceiverVerifies: the receiver accepts a request signed as the
// contract says and refuses, with 401, any that is not.
func TestReceiverVerifies(t *testing.T) {
	secret, other := delivery.NewSecret(), delivery.NewSecret()
	now := time.Now()
	tests := []struct {
		name string
		req  func() *http.Request
		want int
		says string
	}{
		{"valid", func() *http.Request { return signed(t, secret, secret, testBody, now) }, http.StatusNoContent, ""},
		{"another secret", func() *http.Request { return signed(t, other, secret, testBody, now) }, http.StatusUnauthorized, "webhook-signature"},
		{"body changed", func() *http.Request {
			r := signed(t, secret, secret, testBody, now)
			r.Body = httpBody(strings.Replace(testBody, `"document_version":1`, `"document_version":9`, 1))
			return r
		}, http.StatusUnauthorized, "webhook-signature"},
		{"signature garbled", func() *http.Request {
			r := signed(t, secret, secret, testBody, now)
			r.Header.Set("webhook-signature", "v1,"+strings.Repeat("A", 44))
			return r
		}, http.StatusUnauthorized, "webhook-signature"},
		{"stale", func() *http.Request { return signed(t, secret, secret, testBody, now.Add(-time.Hour)) }, http.StatusUnauthorized, "off"},
		{"no signature", func() *http.Request {
			r := signed(t, secret, secret, testBody, now)
			r.Header.Del("webhook-signature")
			return r
		}, http.StatusUnauthorized, "missing"},
		{"X-ROOK-HASH under another key", func() *http.Request { return signed(t, secret, other, testBody, now) }, http.StatusUnauthorized, "X-ROOK-HASH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := NewReceiver()
			rcv.SetSecret(DataPath, secret)
			w := httptest.NewRecorder()
			rcv.ServeHTTP(w, tt.req())
			if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.says) {
				t.Fatalf("%d %q, want %d with %q", w.Code, w.Body.String(), tt.want, tt.says)
			}
			got := rcv.Deliveries()
			if len(got) != 1 {
				t.Fatalf("%d deliveries recorded", len(got))
			}
			dv := got[0]
			if dv.Verified != (tt.want == http.StatusNoContent) || dv.DataStructure != "sleep_summary" || dv.UserID != UserID || dv.Day != ExampleDay {
				t.Fatalf("recorded %+v", dv)
			}
		})
	}
	// A path that is no endpoint is not one.
	rcv := NewReceiver()
	w := httptest.NewRecorder()
	rcv.ServeHTTP(w, signed(t, secret, secret, testBody, now))
	if w.Code != http.StatusNotFound || len(rcv.Deliveries()) != 0 {
		t.Fatalf("unknown endpoint: %d", w.Code)
	}
}

func httpBody(s string) *readCloser { return &readCloser{bytes.NewReader([]byte(s))} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestDocumentDay(t *testing.T) {
	for body, want := range map[string]string{
		testBody: "2022-10-28",
		`{"data_structure":"physical_summary","physical_health":{"summary":{"physical_summary":{"non_structured_data_array":[{"document":{"day":"2022-10-30"}}],"metadata":{"datetime_string":"2022-10-30T00:00:00+09:00"}}}}}`: "2022-10-30",
		`{"data_structure":"heart_rate_event","body_health":{"events":{"heart_rate_event":[{"metadata":{"datetime_string":"2022-11-01T00:00:21.000000-07:00"}}]}}}`:                                                             "2022-11-01",
		`{"data_structure":"user_info"}`: "",
		`not json`:                       "",
	} {
		if got := documentDay([]byte(body)); got != want {
			t.Errorf("%s: day %q, want %q", body, got, want)
		}
	}
}
