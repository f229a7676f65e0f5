package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSIGTERMEndsStreams: streams never go idle, yet serve's shutdown does
// not wait SHUTDOWN_TIMEOUT for them: it ends them as it begins, and their
// clients see the end of the response.
func TestSIGTERMEndsStreams(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "warn", "SHUTDOWN_TIMEOUT": "20s"}
	in := start(t, env)
	res, err := http.Get("http://" + in.addr + "/flights/1/seats/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("seat stream = %d", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "event: snapshot") {
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for sc.Scan() {
		}
	}()
	stop := in.stop
	in.stop = nil
	began := time.Now()
	stop()
	select {
	case err := <-in.done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("run returned %s after SIGTERM with a stream open; want it not to wait for the stream", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return")
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end with the server")
	}
}
