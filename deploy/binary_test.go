package deploy

import (
	"bytes"
	"debug/elf"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the reservd binary the tests build, for the whole run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reservd-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// reservdBinary builds ./cmd/reservd static, with CGO_ENABLED=0 as
// deploy/Dockerfile does, once per test run and returns its path. (Without
// the Dockerfile's -trimpath, so that the build cache of ordinary builds
// serves it: a cold CGO_ENABLED=0 build takes minutes on a loaded machine.)
func reservdBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go tool is not on PATH: %v", err)
			return
		}
		buildPath = filepath.Join(binDir, "reservd")
		cmd := exec.Command(goTool, "build", "-o", buildPath, "../cmd/reservd")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/reservd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// TestStaticBinaryRunsWithNothing proves what the Dockerfile's final stage
// relies on: the binary is statically linked (no ELF interpreter, no shared
// library) and runs from an empty directory with an empty environment —
// usage, then a real serve on the embedded database with only ADDR and
// DATA_DIR set, /healthz, and a clean exit on SIGTERM.
func TestStaticBinaryRunsWithNothing(t *testing.T) {
	bin := reservdBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", bin, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary asks for an ELF interpreter (dynamic loader): not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	f.Close()

	// A copy in an empty directory of its own, as in the image.
	empty := t.TempDir()
	exe := filepath.Join(empty, "reservd")
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, raw, 0o755); err != nil {
		t.Fatal(err)
	}

	help := exec.Command(exe, "--help")
	help.Dir, help.Env = empty, []string{}
	out, err := help.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "usage: reservd") {
		t.Fatalf("reservd --help with an empty environment: %v\n%s", err, out)
	}

	dataDir := t.TempDir()
	addr := freeAddr(t)
	logs := &syncBuffer{}
	serve := exec.Command(exe)
	serve.Dir = empty
	serve.Env = []string{"ADDR=" + addr, "DATA_DIR=" + dataDir}
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	defer func() {
		serve.Process.Kill()
		<-done
	}()
	waitHealthy(t, "http://"+addr, done, logs)
	res, err := http.Get("http://" + addr + "/flights/1")
	if err != nil || res.StatusCode != 200 {
		t.Errorf("GET /flights/1 on the demo catalogue: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		done <- err // for the deferred wait
		if err != nil {
			t.Errorf("reservd exited with %v after SIGTERM\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("reservd did not stop on SIGTERM")
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 1 {
		t.Errorf("reservd wrote into its working directory: %v", entries)
	}
}

// syncBuffer collects a process's output; safe to read while it writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits for /healthz to answer 200, failing if the process
// exits first (its exit is read from done).
func waitHealthy(t testing.TB, base string, done chan error, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("reservd exited while starting: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("reservd at %s did not become healthy\n%s", base, logs)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
