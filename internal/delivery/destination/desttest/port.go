package desttest

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// keptPort holds a loopback port for the whole test, so that a server
// stopped and started again finds its address free: another process
// cannot take it in between. While the server is down a socket bound to
// the port but not listening holds it, and connections are refused as
// they are by a host where nothing listens.
type keptPort struct {
	addr string

	mu   sync.Mutex
	hold io.Closer // the bound socket while down
}

// keepPort takes a free loopback port until the test ends; the port
// starts down.
func keepPort(t testing.TB) *keptPort {
	t.Helper()
	ln, err := listenConfig.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &keptPort{addr: ln.Addr().String()}
	p.park(ln)
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.hold != nil {
			_ = p.hold.Close()
			p.hold = nil
		}
	})
	return p
}

// Addr is the port's address.
func (p *keptPort) Addr() string { return p.addr }

// park closes a listener of the port, holding the port first.
func (p *keptPort) park(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hold == nil {
		// Without a hold (a system where a port cannot be shared) the
		// port is released, and listen retries.
		p.hold, _ = holdPort(p.addr)
	}
	_ = ln.Close()
}

// listen brings the port up: a listener on it that parks the port again
// when closed. A port released meanwhile (see park) may have been taken;
// the bind is retried a few times before saying so.
func (p *keptPort) listen() (net.Listener, error) {
	var err error
	for try := 0; try < 10; try++ {
		if try > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		var ln net.Listener
		if ln, err = listenConfig.Listen(context.Background(), "tcp", p.addr); err == nil {
			p.mu.Lock()
			if p.hold != nil {
				_ = p.hold.Close()
				p.hold = nil
			}
			p.mu.Unlock()
			return &keptListener{Listener: ln, p: p}, nil
		}
	}
	return nil, fmt.Errorf("desttest: listening again on %s, the port of a server stopped and started: %w", p.addr, err)
}

func (p *keptPort) mustListen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := p.listen()
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// keptListener is a listener of a kept port: closing it parks the port.
type keptListener struct {
	net.Listener
	p    *keptPort
	once sync.Once
}

func (l *keptListener) Close() error {
	l.once.Do(func() { l.p.park(l.Listener) })
	return nil
}
