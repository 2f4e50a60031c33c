// Package loopback keeps a package's tests on this machine. Every provider
// URL has a live default in the configuration; a test that forgets to point
// one at a simulator must fail, not look up the provider's host name.
package loopback

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
)

// ErrRefused is what a name lookup answers under Guard (as text: the
// resolver's error keeps only its message).
var ErrRefused = errors.New("tests reach loopback only: a name lookup went to DNS (a provider or destination URL was left at its live default?)")

// Guard replaces the process's resolver with one that answers from the
// hosts file (localhost) and refuses everything that would go to DNS. It
// holds for every dialer that does not bring its own resolver, whatever
// its HTTP client. Call it before the tests start any goroutine.
func Guard() {
	net.DefaultResolver = &net.Resolver{PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) { return nil, ErrRefused }}
}

// Main guards the resolver and runs the package's tests: a package's
// TestMain is `func TestMain(m *testing.M) { loopback.Main(m) }`.
func Main(m *testing.M) {
	Guard()
	os.Exit(m.Run())
}
