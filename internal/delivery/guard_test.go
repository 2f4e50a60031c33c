package delivery

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

func TestBlockedAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true}, {"fd00::1", true},
		{"169.254.169.254", true}, {"fe80::1", true},
		{"0.0.0.0", true}, {"::", true}, {"0.1.2.3", true},
		{"100.64.0.1", true}, {"224.0.0.1", true}, {"255.255.255.255", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"64:ff9b::7f00:1", true},
		{"93.184.216.34", false}, {"8.8.8.8", false}, {"2606:4700::1111", false}, {"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false}, {"172.32.0.1", false}, {"100.128.0.1", false},
	} {
		if got := blocked(netip.MustParseAddr(tc.addr)) != ""; got != tc.blocked {
			t.Errorf("%s: blocked %v, want %v", tc.addr, got, tc.blocked)
		}
	}
}

// fakeResolver answers from a table; a name's answers are taken in turn,
// the last repeating, so a name can resolve one way at registration and
// another at connect time.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	calls   map[string]int
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if host == "localhost" {
		// The system's answer: a real name that resolves to loopback.
		return net.DefaultResolver.LookupNetIP(ctx, network, host)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	as, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	a := as[min(r.calls[host], len(as)-1)]
	r.calls[host]++
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

// Registration refuses URLs that resolve to addresses that are not public
// unless private webhooks are allowed.
func TestCheckURL(t *testing.T) {
	res := &fakeResolver{answers: map[string][]string{"public.example": {"93.184.216.34"}, "inside.example": {"10.0.0.7"}}}
	e := newEnv(t, func(c *Config) { c.AllowPrivate = false; c.Resolver = res })
	for _, u := range []string{
		"http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/", "http://10.0.0.1/", "http://169.254.169.254/latest",
		"http://inside.example/", "http://nowhere.example/", "ftp://public.example/", "https:///nohost", "public.example/hook", "",
	} {
		if err := e.svc.CheckURL(e.ctx, u); health.ErrorCode(err) != health.EINVALID {
			t.Errorf("%q: %v", u, err)
		}
		if _, err := e.svc.AddEndpoint(e.ctx, EndpointInput{ClientUUID: testClient, URL: u}); health.ErrorCode(err) != health.EINVALID {
			t.Errorf("AddEndpoint %q: %v", u, err)
		}
	}
	for _, u := range []string{"https://public.example/hook", "http://93.184.216.34:8080/"} {
		if err := e.svc.CheckURL(e.ctx, u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
	allowed := newEnv(t, func(c *Config) { c.AllowPrivate = true; c.Resolver = res })
	if err := allowed.svc.CheckURL(allowed.ctx, "http://127.0.0.1:8080/hook"); err != nil {
		t.Fatal(err)
	}
}

// The check holds at connect time: an endpoint stored with a loopback
// URL, or a name that resolves to a public address at registration and
// to 127.0.0.1 when the POST connects, reaches nothing.
func TestBlockedAtConnectTime(t *testing.T) {
	rcv := newReceiver(t)
	port := mustPort(t, rcv.URL)
	res := &fakeResolver{answers: map[string][]string{"rebind.example": {"93.184.216.34", "127.0.0.1"}}}
	e := newEnv(t, func(c *Config) { c.AllowPrivate = false; c.Resolver = res })

	// Stored without the registration check, as by an older version.
	for _, u := range []string{rcv.URL, "http://localhost:" + port + "/hook"} {
		if _, err := e.st.CreateEndpoint(e.ctx, store.WebhookEndpoint{ClientUUID: testClient, Kind: store.EndpointData, URL: u, Secret: NewSecret(), Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	// Registered while it resolved to a public address.
	if _, err := e.svc.AddEndpoint(e.ctx, EndpointInput{ClientUUID: testClient, URL: "http://rebind.example:" + port + "/hook"}); err != nil {
		t.Fatal(err)
	}
	applyDocs(t, e.st, 0, 1)
	ids := e.pump()
	if len(ids) != 3 {
		t.Fatalf("queued %v", ids)
	}
	for _, id := range ids {
		if _, again := e.work(id); !again {
			t.Fatalf("delivery %d not retried", id)
		}
		a := e.attempts(id)
		if len(a) != 1 || a[0].ErrorClass != store.ErrorBlocked || !strings.Contains(a[0].Error, "loopback") {
			t.Fatalf("attempt %+v", a)
		}
	}
	if n := len(rcv.got()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}

	// The same endpoints work when private webhooks are allowed: the
	// receiver is real, so the refusal above was the guard's.
	res2 := &fakeResolver{answers: map[string][]string{"rebind.example": {"127.0.0.1"}}}
	ok, err := New(Config{Store: e.st, Now: e.clock.Now, AllowPrivate: true, Resolver: res2, Jitter: -1})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(DefaultSchedule[0])
	for _, id := range ids {
		if _, again, err := ok.work(e.ctx, id); err != nil || again {
			t.Fatalf("allowed: %v %v", again, err)
		}
	}
	if n := len(rcv.got()); n != 3 {
		t.Fatalf("the receiver got %d requests when allowed", n)
	}
}

func mustPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// Transport failures are recorded by class.
func TestErrorClasses(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(nil)
	defer tlsSrv.Close()
	closed := httptest.NewServer(nil)
	closedURL := closed.URL
	closed.Close()
	res := &fakeResolver{answers: map[string][]string{}}
	e := newEnv(t, func(c *Config) { c.Resolver = res })
	for i, tc := range []struct {
		url   string
		class string
	}{
		{"http://missing.example/hook", store.ErrorDNS},
		{closedURL, store.ErrorConnect},
		{tlsSrv.URL, store.ErrorTLS},
	} {
		ep, err := e.st.CreateEndpoint(e.ctx, store.WebhookEndpoint{ClientUUID: testClient, Kind: store.EndpointData, URL: tc.url, Secret: NewSecret(), Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		applyDocs(t, e.st, i, 1)
		id := e.pump()[0]
		e.work(id)
		if a := e.attempts(id); len(a) != 1 || a[0].ErrorClass != tc.class || a[0].StatusCode != 0 || a[0].Error == "" {
			t.Errorf("%s: attempt %+v, want class %s", tc.url, a, tc.class)
		}
		if _, err := e.st.SetEndpointEnabled(e.ctx, ep.ID, false, "done", e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGuardIPv6Forms: every IPv6 form that embeds or hides an IPv4
// address is unwrapped or refused, at registration (CheckURL) and at
// connect time (the dialer's Control), beside the forms refused before.
func TestGuardIPv6Forms(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AllowPrivate = false; c.Resolver = &fakeResolver{} })
	g := &guard{}
	for _, tc := range []struct {
		addr    string
		blocked bool
	}{
		// Found by the audit.
		{"::7f00:1", true},                             // IPv4-compatible ::/96 (127.0.0.1)
		{"::127.0.0.1", true},                          // the same, dotted
		{"::8.8.8.8", true},                            // IPv4-compatible is deprecated whatever it embeds
		{"64:ff9b:1::7f00:1", true},                    // local-use NAT64 64:ff9b:1::/48
		{"64:ff9b:1:7f00:1::", true},                   // the same with a /48 embedding
		{"2002:7f00:1::1", true},                       // 6to4 of 127.0.0.1
		{"2002:a00:1::1", true},                        // 6to4 of 10.0.0.1
		{"2002:a9fe:a9fe::1", true},                    // 6to4 of 169.254.169.254
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", true}, // Teredo (client 127.0.0.1)
		{"2001::1", true},                              // Teredo
		{"fec0::1", true},                              // site-local
		{"::ffff:0:7f00:1", true},                      // IPv4-translated ::ffff:0:0/96
		{"100::1", true},                               // discard-only
		{"2001:db8::1", true},                          // documentation
		// Refused before.
		{"::1", true}, {"::", true}, {"fd00::1", true}, {"fe80::1", true}, {"ff02::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"64:ff9b::7f00:1", true}, {"64:ff9b::a00:1", true},
		{"127.0.0.1", true}, {"10.0.0.1", true}, {"169.254.169.254", true}, {"100.64.0.1", true},
		{"192.0.2.1", true}, {"198.51.100.1", true}, {"203.0.113.1", true},
		// Public, unwrapped or not.
		{"2606:4700::1111", false}, {"2a00:1450:4001::1", false}, {"2002:808:808::1", false},
		{"64:ff9b::808:808", false}, {"::ffff:8.8.8.8", false}, {"8.8.8.8", false},
	} {
		a := netip.MustParseAddr(tc.addr)
		if got := blocked(a) != ""; got != tc.blocked {
			t.Errorf("blocked(%s) = %v, want %v", tc.addr, got, tc.blocked)
		}
		u := "http://" + netip.AddrPortFrom(a, 8080).String() + "/hook"
		err := e.svc.CheckURL(e.ctx, u)
		if tc.blocked && health.ErrorCode(err) != health.EINVALID {
			t.Errorf("registration of %s: %v", u, err)
		}
		if !tc.blocked && err != nil {
			t.Errorf("registration of %s: %v", u, err)
		}
		cerr := g.control("tcp", netip.AddrPortFrom(a, 8080).String(), nil)
		var be *BlockedError
		if tc.blocked != errors.As(cerr, &be) {
			t.Errorf("connect to %s: %v", tc.addr, cerr)
		}
	}
}

// TestCheckURLAlwaysValidates: with private addresses allowed (the demo),
// a URL is still refused with credentials in it or an oversized host, and
// an endpoint stored with credentials by an older version lists without
// its password.
func TestCheckURLAlwaysValidates(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AllowPrivate = true })
	for _, u := range []string{
		"http://user:pass@127.0.0.1:8080/hook",
		"http://user@127.0.0.1:8080/hook",
		"https://" + strings.Repeat("a", 250) + ".example/hook",
		"https://example.com/" + strings.Repeat("a", MaxURLLength),
	} {
		if _, err := e.svc.AddEndpoint(e.ctx, EndpointInput{ClientUUID: testClient, URL: u}); health.ErrorCode(err) != health.EINVALID {
			t.Errorf("AddEndpoint %.60q: %v", u, err)
		}
	}
	if _, err := e.st.CreateEndpoint(e.ctx, store.WebhookEndpoint{ClientUUID: testClient, Kind: store.EndpointData,
		URL: "http://user:hunter2@127.0.0.1:9/hook", Secret: NewSecret(), Enabled: true}); err != nil {
		t.Fatal(err)
	}
	es, err := e.svc.ListEndpoints(e.ctx, testClient)
	if err != nil || len(es) != 1 {
		t.Fatal(len(es), err)
	}
	if strings.Contains(es[0].URL, "hunter2") {
		t.Fatalf("listing shows the password: %s", es[0].URL)
	}
}
