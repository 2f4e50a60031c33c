package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestControlRoutes(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 2})
	do := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, b := do("GET", "/_sim/users", ""); st != 200 || len(decode[[]UserInfo](t, b)) != 2 {
		t.Errorf("users: %d %s", st, b)
	}
	tok := srv.Tokens()[1].AccessToken
	before := len(listAll(t, ts, PathMeasure, tok, "measuregrps", form("action", "getmeas")))
	for _, p := range []string{"/_sim/weighin?user=1", "/_sim/bloodpressure?user=1"} {
		if st, b := do("POST", p, ""); st != 200 {
			t.Errorf("%s: %d %s", p, st, b)
		}
	}
	after := len(listAll(t, ts, PathMeasure, tok, "measuregrps", form("action", "getmeas")))
	if after != before+2 {
		t.Errorf("%d groups after adding two, %d before", after, before)
	}
	if st, _ := do("POST", "/_sim/weighin?user=7", ""); st != 400 {
		t.Errorf("an unknown user: %d", st)
	}
	if st, b := do("PUT", "/_sim/faults", `{"force_601":1}`); st != 200 || srv.Faults().Force601 != 1 {
		t.Errorf("faults: %d %s", st, b)
	}
	if rp := call(t, ts, PathUserV2, tok, form("action", "getdevice")); rp.Status != StatusTooManyReqs {
		t.Errorf("after PUT faults: %d", rp.Status)
	}
	if st, b := do("POST", "/_sim/tokens", `{"user":1,"scopes":["user.info"],"expires_in":"1h"}`); st != 200 {
		t.Errorf("tokens: %d %s", st, b)
	} else if tk := decode[Token](t, b); tk.UserIndex != 1 || len(tk.Scopes) != 1 {
		t.Errorf("token %+v", tk)
	}
	for _, p := range []string{"/_sim/subscriptions", "/_sim/notifications", "/_sim/faults"} {
		if st, b := do("GET", p, ""); st != 200 || !json.Valid(b) {
			t.Errorf("%s: %d %s", p, st, b)
		}
	}
}

func TestBanner(t *testing.T) {
	srv, err := New(Config{Users: 2, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	srv.PrintBanner(&out)
	b := out.String()
	for _, want := range []string{srv.URL(), DefaultClientID, DefaultClientSecret, srv.Tokens()[0].AccessToken, srv.Tokens()[1].AccessToken,
		"curl -H 'Authorization: Bearer " + srv.Tokens()[0].AccessToken + "'", srv.URL() + PathMeasure} {
		if !strings.Contains(b, want) {
			t.Errorf("banner lacks %q:\n%s", want, b)
		}
	}
	if err := srv.Start("0.0.0.0:0"); err == nil {
		t.Error("a non-loopback address was accepted")
	}
}
