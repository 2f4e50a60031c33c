//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package desttest

import (
	"errors"
	"io"
	"net"
)

var listenConfig net.ListenConfig

// holdPort cannot share a port here: a stopped server releases it.
func holdPort(string) (io.Closer, error) { return nil, errors.New("no port sharing") }
