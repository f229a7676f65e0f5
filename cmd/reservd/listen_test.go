package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestListenCapsConnections: with MAX_CONNECTIONS=2, two idle keep-alive
// connections leave a third client unserved (it waits in the accept queue,
// costing the process no descriptor) until one of them closes.
func TestListenCapsConnections(t *testing.T) {
	t.Parallel()
	ln, err := listen("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String() + "/"

	// Each client keeps its own connection open after its request.
	var idle []*http.Transport
	for range 2 {
		tr := &http.Transport{}
		idle = append(idle, tr)
		res, err := (&http.Client{Transport: tr}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	third := &http.Client{Transport: &http.Transport{}}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if res, err := third.Do(req); err == nil {
		res.Body.Close()
		t.Fatal("a third connection was served while two were open, with a cap of 2")
	}
	idle[0].CloseIdleConnections()
	res, err := third.Get(url)
	if err != nil {
		t.Fatalf("a new connection once one of the two closed: %v", err)
	}
	res.Body.Close()
	idle[1].CloseIdleConnections()
}

func TestListenWithoutCap(t *testing.T) {
	t.Parallel()
	ln, err := listen("127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, ok := ln.(*net.TCPListener); !ok {
		t.Errorf("MAX_CONNECTIONS=0 wrapped the listener: %T", ln)
	}
	if idleTimeout >= 120*time.Second {
		t.Errorf("keep-alive idle timeout %s: idle connections would pile up", idleTimeout)
	}
}
