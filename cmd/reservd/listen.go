package main

import (
	"fmt"
	"net"
	"time"

	"golang.org/x/net/netutil"
)

// idleTimeout is how long a keep-alive connection may sit idle between
// requests. Short enough that idle connections cannot pile up against the
// connection cap (and the file descriptors behind it), long enough that a
// client sending a request every few seconds keeps its connection.
const idleTimeout = 30 * time.Second

// listen listens on addr and accepts at most maxConns connections at once
// (MAX_CONNECTIONS; 0: no cap). Past the cap a new connection waits in the
// kernel's accept queue until one closes, rather than costing the process
// a file descriptor it may not have: without a cap, idle clients can
// exhaust the descriptors and every new client times out.
func listen(addr string, maxConns int) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if maxConns > 0 {
		ln = netutil.LimitListener(ln, maxConns)
	}
	return ln, nil
}
