package web

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in limits. Failed attempts are counted per (client, source
// address) and per source address: someone guessing a client's secret
// from elsewhere exhausts their own buckets, never the owner's, and the
// owner's own failures hold back only the owner's address, for a
// bounded time (a bucket refills one attempt every loginEvery). A
// successful sign-in costs nothing.
//
// The limits are in memory, per process: with several wearlink processes
// behind a load balancer each keeps its own, which multiplies the rate
// an attacker gets by the number of processes (still far below what
// guessing a 256-bit secret needs).
//
// The source address is the connection's peer (r.RemoteAddr): behind a
// reverse proxy every client shares the proxy's address, and the
// per-address limit then holds everyone back together; X-Forwarded-For is
// not trusted because any client can send it. IPv6 addresses count per
// /64, the block one host usually has.
const (
	loginBurst     = 10
	loginEvery     = 6 * time.Second
	addrBurst      = 30
	addrEvery      = 2 * time.Second
	maxLoginBucket = 50000
)

type loginLimits struct {
	mu     sync.Mutex
	byPair map[[2]string]*rate.Limiter
	byAddr map[string]*rate.Limiter
}

func (l *loginLimits) get(now time.Time, pair [2]string) (*rate.Limiter, *rate.Limiter) {
	if l.byPair == nil {
		l.byPair, l.byAddr = map[[2]string]*rate.Limiter{}, map[string]*rate.Limiter{}
	}
	if len(l.byPair)+len(l.byAddr) > maxLoginBucket {
		// Full buckets are the same as none.
		for k, b := range l.byPair {
			if b.TokensAt(now) >= loginBurst {
				delete(l.byPair, k)
			}
		}
		for k, b := range l.byAddr {
			if b.TokensAt(now) >= addrBurst {
				delete(l.byAddr, k)
			}
		}
	}
	p, ok := l.byPair[pair]
	if !ok {
		p = rate.NewLimiter(rate.Every(loginEvery), loginBurst)
		l.byPair[pair] = p
	}
	a, ok := l.byAddr[pair[1]]
	if !ok {
		a = rate.NewLimiter(rate.Every(addrEvery), addrBurst)
		l.byAddr[pair[1]] = a
	}
	return p, a
}

// allowed reports whether a sign-in for client from addr may be tried.
func (l *loginLimits) allowed(client, addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, a := l.get(now, [2]string{client, addr})
	return p.TokensAt(now) >= 1 && a.TokensAt(now) >= 1
}

// failed counts a failed sign-in.
func (l *loginLimits) failed(client, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, a := l.get(now, [2]string{client, addr})
	p.AllowN(now, 1)
	a.AllowN(now, 1)
}

// sourceAddr is the request's peer address (an IPv6 one as its /64).
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
