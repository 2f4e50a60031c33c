//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package desttest

import (
	"fmt"
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenConfig lets a listener and the socket holding its port (holdPort)
// share the port.
var listenConfig = net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) { serr = sharePort(int(fd)) }); err != nil {
		return err
	}
	return serr
}}

func sharePort(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return err
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
}

// holdPort binds a TCP socket to the loopback address addr without
// listening: the port stays taken, and connections to it are refused.
func holdPort(addr string) (io.Closer, error) {
	a, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return nil, err
	}
	ip := a.IP.To4()
	if ip == nil {
		return nil, fmt.Errorf("holding %s: not an IPv4 address", addr)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	sa := &unix.SockaddrInet4{Port: a.Port}
	copy(sa.Addr[:], ip)
	if err := sharePort(fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("holding %s: %w", addr, err)
	}
	return fdCloser(fd), nil
}

type fdCloser int

func (f fdCloser) Close() error { return unix.Close(int(f)) }
