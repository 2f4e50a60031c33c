package httpapi

import (
	"net"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/delivery"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestDestinationsLifecycle: add, list, get, pause, resume, test and
// remove a destination; its secret is never echoed and another client
// never sees it.
func TestDestinationsLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{webhooks: true})
	a, b := e.newClient("A"), e.newClient("B")
	addr := closedPort(t)
	body := `{"kind":"s3","settings":{"endpoint":"http://` + addr + `","bucket":"health-lake","prefix":"wl","path_style":true,
		"access_key_id":"AKIDEXAMPLE","secret_access_key":"super-secret-value"},"data_structures":["sleep_summary"]}`
	r := e.do(&a, "POST", destinationsPath, body)
	d := decode[delivery.Destination](t, r, 201)
	if !strings.HasPrefix(d.ID, "ds_") || d.Kind != "s3" || d.Status != "active" || r.header.Get("Location") != destinationsPath+"/"+d.ID {
		t.Fatalf("created %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "super-secret-value") || !strings.Contains(string(r.body), "AKIDEXAMPLE") {
		t.Fatalf("created: the secret shows or the settings do not: %s", r.body)
	}
	l := decode[destinationList](t, e.do(&a, "GET", destinationsPath, ""), 200)
	if len(l.Destinations) != 1 || l.Destinations[0].ID != d.ID {
		t.Fatalf("list = %+v", l)
	}
	if l := decode[destinationList](t, e.do(&b, "GET", destinationsPath, ""), 200); len(l.Destinations) != 0 {
		t.Fatalf("B lists A's destination: %+v", l)
	}
	if r := e.do(&b, "GET", destinationsPath+"/"+d.ID, ""); r.status != 404 {
		t.Fatalf("B gets A's destination: %d", r.status)
	}
	if r := e.do(&a, "GET", webhooksPath+"/"+d.ID, ""); r.status != 404 {
		t.Fatalf("a destination through the webhook route: %d", r.status)
	}
	if l := decode[webhookList](t, e.do(&a, "GET", webhooksPath, ""), 200); len(l.Webhooks) != 0 {
		t.Fatalf("a destination listed as a webhook: %+v", l)
	}
	got := decode[delivery.Destination](t, e.do(&a, "GET", destinationsPath+"/"+d.ID, ""), 200)
	if got.ID != d.ID || got.Description != d.Description {
		t.Fatalf("get = %+v", got)
	}

	// A new prefix without repeating the secret; the filter cleared.
	up := decode[delivery.Destination](t, e.do(&a, "PATCH", destinationsPath+"/"+d.ID, `{"settings":{"endpoint":"http://`+addr+`","bucket":"health-lake",
		"prefix":"v2","path_style":true,"access_key_id":"AKIDEXAMPLE"},"data_structures":[]}`), 200)
	if !strings.Contains(up.Description, "s3://health-lake/v2") || len(up.DataStructures) != 0 || strings.Contains(string(up.Settings), "super-secret") {
		t.Fatalf("patched %+v", up)
	}
	for _, bad := range []string{`{}`, `{"settings":null}`, `{"settings":{"topic":"t"}}`, `{"data_structures":["naps"]}`} {
		if r := e.do(&a, "PATCH", destinationsPath+"/"+d.ID, bad); r.status != 400 {
			t.Errorf("PATCH %s: %d %s", bad, r.status, r.body)
		}
	}
	if r := e.do(&b, "PATCH", destinationsPath+"/"+d.ID, `{"data_structures":[]}`); r.status != 404 {
		t.Fatalf("B patches A's destination: %d", r.status)
	}

	if p := decode[delivery.Destination](t, e.do(&a, "POST", destinationsPath+"/"+d.ID+"/pause", ""), 200); p.Status != "paused" || !p.Paused {
		t.Fatalf("paused = %+v", p)
	}
	if p := decode[delivery.Destination](t, e.do(&a, "POST", destinationsPath+"/"+d.ID+"/resume", ""), 200); p.Status != "active" || p.Paused {
		t.Fatalf("resumed = %+v", p)
	}

	// Nothing listens there: the test says so, as the system's client did.
	tr := decode[delivery.DestinationTest](t, e.do(&a, "POST", destinationsPath+"/"+d.ID+"/test", ""), 200)
	if tr.Succeeded || tr.ErrorClass != "connect" || !strings.Contains(tr.Error, "refused") || strings.Contains(tr.Error, "super-secret") {
		t.Fatalf("test = %+v", tr)
	}

	if r := e.do(&b, "DELETE", destinationsPath+"/"+d.ID, ""); r.status != 404 {
		t.Fatalf("B deletes A's destination: %d", r.status)
	}
	if r := e.do(&a, "DELETE", destinationsPath+"/"+d.ID, ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do(&a, "GET", destinationsPath+"/"+d.ID, ""); r.status != 404 {
		t.Fatalf("after delete: %d", r.status)
	}
}

// TestDestinationsBadRequests: each mistake is a 400 that names it, and
// stores nothing.
func TestDestinationsBadRequests(t *testing.T) {
	e := newEnv(t, envOptions{webhooks: true})
	a := e.newClient("A")
	for _, tc := range []struct{ body, want string }{
		{`{"settings":{}}`, "kind is required"},
		{`{"kind":"s3"}`, "settings are required"},
		{`{"kind":"ftp","settings":{}}`, `unknown destination kind "ftp"`},
		{`{"kind":"s3","settings":{"bucket":"b","colour":"red"}}`, `unknown field "colour"`},
		{`{"kind":"s3","settings":{"endpoint":"http://127.0.0.1:9","bucket":"Not_A_Bucket","access_key_id":"a","secret_access_key":"b"}}`, "bucket"},
		{`{"kind":"s3","settings":{"endpoint":"http://127.0.0.1:9","bucket":"lake","access_key_id":"a"}}`, "secret_access_key"},
		{`{"kind":"kafka","settings":{"brokers":[],"topic":"t"}}`, "broker"},
		{`{"kind":"postgres","settings":{"schema":"x"}}`, "dsn is required"},
		{`{"kind":"postgres","settings":{"dsn":"postgres://u:p@127.0.0.1/db"},"data_structures":["naps"]}`, `unknown data_structure "naps"`},
		{`{"kind":"s3","settings":{},"extra":1}`, "extra"},
	} {
		r := e.do(&a, "POST", destinationsPath, tc.body)
		if msg, _ := r.json(t)["message"].(string); r.status != 400 || !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.want)) {
			t.Errorf("%s: %d %s, want 400 saying %q", tc.body, r.status, r.body, tc.want)
		}
	}
	if r := e.do(&a, "GET", destinationsPath+"/ep_aaaaaaaaaaaaaaaaaaaaaaaa", ""); r.status != 404 {
		t.Fatalf("a webhook id as a destination: %d", r.status)
	}
	if l := decode[destinationList](t, e.do(&a, "GET", destinationsPath, ""), 200); len(l.Destinations) != 0 {
		t.Fatalf("bad requests stored %+v", l)
	}
}

// TestDestinationsNotConfigured: without a delivery service the routes
// answer 503, and without credentials 401.
func TestDestinationsNotConfigured(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	for _, rq := range []struct{ method, target, body string }{
		{"GET", destinationsPath, ""},
		{"POST", destinationsPath, `{"kind":"s3","settings":{}}`},
		{"GET", destinationsPath + "/ds_aaaaaaaaaaaaaaaaaaaaaaaa", ""},
		{"POST", destinationsPath + "/ds_aaaaaaaaaaaaaaaaaaaaaaaa/test", ""},
	} {
		if r := e.do(&a, rq.method, rq.target, rq.body); r.status != 503 {
			t.Errorf("%s %s: %d %s", rq.method, rq.target, r.status, r.body)
		}
		if r := e.do(nil, rq.method, rq.target, rq.body); r.status != 401 {
			t.Errorf("%s %s without credentials: %d", rq.method, rq.target, r.status)
		}
	}
}
