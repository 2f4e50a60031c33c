package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// Resolver resolves host names; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var defaultResolver Resolver = net.DefaultResolver

// BlockedError is the error of a connection refused because its address
// is private, loopback, link-local or otherwise not public.
type BlockedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("webhook address %s is %s (set %s=true to allow)", e.Addr, e.Reason, EnvAllowPrivate)
}

var specialPrefixes = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
}

// nat64 embeds IPv4 addresses in IPv6 (RFC 6052): the embedded address
// is what the packets reach.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// sixToFour (2002::/16, RFC 3056) carries an IPv4 address in bits 16-47:
// a relay sends the packets to it.
var sixToFour = netip.MustParsePrefix("2002::/16")

// globalUnicast is where every public IPv6 address is allocated (RFC
// 4291). Outside it are the forms that embed IPv4 addresses without a
// way to tell which (IPv4-compatible ::/96, IPv4-translated
// ::ffff:0:0/96, the local-use NAT64 64:ff9b:1::/48 whose prefix length
// is the operator's choice), deprecated site-local fec0::/10, unique
// local, link-local, multicast and everything reserved.
var globalUnicast = netip.MustParsePrefix("2000::/3")

var specialPrefixes6 = []struct {
	p      netip.Prefix
	reason string
}{
	// IETF protocol assignments: Teredo (2001::/32, which hides an IPv4
	// address behind a relay), benchmarking, ORCHID and the like.
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol address (Teredo, benchmarking, ORCHID)"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
}

// blocked says why a is not a public address, "" when it is. IPv6 forms
// that carry an IPv4 address are unwrapped when the embedded address is
// where the packets go (IPv4-mapped, NAT64 64:ff9b::/96, 6to4) and
// refused when it cannot be told (every other form lies outside
// 2000::/3 or in 2001::/23).
func blocked(a netip.Addr) string {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		return blocked(netip.AddrFrom4([4]byte(b[12:])))
	}
	if sixToFour.Contains(a) {
		b := a.As16()
		if r := blocked(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
			return "a 6to4 address embedding " + r
		}
		return ""
	}
	switch {
	case !a.IsValid():
		return "not an address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "a link-local address"
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	if a.Is4() {
		if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return "the broadcast address"
		}
		for _, sp := range specialPrefixes {
			if sp.p.Contains(a) {
				return sp.reason
			}
		}
		return ""
	}
	if !globalUnicast.Contains(a) {
		return "not a global unicast IPv6 address (IPv4-compatible, IPv4-translated, local-use NAT64, site-local or reserved)"
	}
	for _, sp := range specialPrefixes6 {
		if sp.p.Contains(a) {
			return sp.reason
		}
	}
	return ""
}

// guard checks every address a webhook connects to.
type guard struct {
	allow    bool
	resolver Resolver
	dialer   *net.Dialer
}

// control runs after the address is chosen and before connect(2): what is
// checked here is what is connected to, whatever DNS said earlier.
func (g *guard) control(_, address string, _ syscall.RawConn) error {
	if g.allow {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Reason: "not an IP address: " + address}
	}
	if r := blocked(ap.Addr()); r != "" {
		return &BlockedError{Addr: ap.Addr().Unmap(), Reason: r}
	}
	return nil
}

// dial resolves with the guard's resolver and tries each address in turn;
// the dialer's Control refuses the ones not allowed.
func (g *guard) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		if ips, err = g.resolver.LookupNetIP(ctx, "ip", host); err != nil {
			var de *net.DNSError
			if !errors.As(err, &de) {
				err = &net.DNSError{Err: err.Error(), Name: host}
			}
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
	}
	var first error
	for _, ip := range ips {
		c, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if first == nil {
		first = &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}}
	}
	return nil, first
}

// GuardedDialer returns a DialContext that resolves with resolver and,
// unless allowPrivate, refuses at connect time every address that is not
// public, with a *BlockedError. Webhooks and destinations connect with it.
func GuardedDialer(allowPrivate bool, resolver Resolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if resolver == nil {
		resolver = defaultResolver
	}
	g := &guard{allow: allowPrivate, resolver: resolver}
	g.dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return g.dial
}

// ClientOptions configure NewHTTPClient.
type ClientOptions struct {
	AllowPrivate bool
	Resolver     Resolver
	// Timeout bounds a whole request (default 15 s).
	Timeout time.Duration
}

// NewHTTPClient returns the client webhooks are posted with: it follows
// no redirect (a 3xx is a failed attempt, as Standard Webhooks asks), uses
// no proxy from the environment (the proxy's address would be the one
// checked), and refuses at connect time every address that is not public
// unless AllowPrivate.
func NewHTTPClient(o ClientOptions) *http.Client {
	if o.Resolver == nil {
		o.Resolver = defaultResolver
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           GuardedDialer(o.AllowPrivate, o.Resolver),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// MaxHostLength bounds a webhook URL's host: a DNS name is at most 253
// characters.
const MaxHostLength = 253

// MaxURLLength bounds a webhook URL.
const MaxURLLength = 2048

// CheckURL validates an endpoint URL at registration: http or https, a
// host, and, unless private addresses are allowed, only public addresses
// for it now. Connections are checked again at connect time, so a name
// that later resolves elsewhere is still refused.
func (s *Service) CheckURL(ctx context.Context, raw string) error {
	if len(raw) > MaxURLLength {
		return health.Errorf(health.EINVALID, "webhook URL is longer than %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return health.Errorf(health.EINVALID, "webhook URL %q does not parse", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return health.Errorf(health.EINVALID, "webhook URL %q must be http or https", raw)
	}
	host := u.Hostname()
	if host == "" || u.Opaque != "" {
		return health.Errorf(health.EINVALID, "webhook URL %q has no host", raw)
	}
	// These hold even when private addresses are allowed: credentials in
	// the URL would be stored in plain text and shown in every listing.
	if u.User != nil {
		return health.Errorf(health.EINVALID, "webhook URL must not contain a user name or password; authenticate the request with its signature")
	}
	if len(host) > MaxHostLength {
		return health.Errorf(health.EINVALID, "webhook URL's host is longer than %d characters", MaxHostLength)
	}
	if s.cfg.AllowPrivate {
		return nil
	}
	ips := []netip.Addr{}
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = append(ips, ip)
	} else {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if ips, err = s.cfg.Resolver.LookupNetIP(ctx, "ip", host); err != nil || len(ips) == 0 {
			return health.Errorf(health.EINVALID, "webhook host %q does not resolve", host)
		}
	}
	for _, ip := range ips {
		if r := blocked(ip); r != "" {
			return health.Errorf(health.EINVALID, "webhook host %q resolves to %s, %s (set %s=true to allow)", host, ip.Unmap(), r, EnvAllowPrivate)
		}
	}
	return nil
}
