package docs_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// block is one command block of TUTORIAL.md with its role: "server" (what
// the reader starts in the first terminal), "run" (pasted into the second)
// or "background" (started in a third).
type block struct{ role, code string }

var blockRE = regexp.MustCompile("(?s)<!-- tutorial: (server|run|background) -->\n```sh\n(.*?)```\n")

func tutorialBlocks(t *testing.T) []block {
	raw, err := os.ReadFile("TUTORIAL.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	for _, m := range blockRE.FindAllStringSubmatch(string(raw), -1) {
		out = append(out, block{m[1], m[2]})
	}
	if got := strings.Count(string(raw), "```sh"); got != len(out) {
		t.Fatalf("TUTORIAL.md has %d sh blocks but %d are marked <!-- tutorial: … -->: mark each one", got, len(out))
	}
	return out
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestTutorial runs docs/TUTORIAL.md as a reader would: the server block
// starts the built binary with the block's settings, every other block runs,
// in order, in one bash session (so variables carry over) with errexit and
// pipefail, against a fresh embedded database in an empty directory. The
// only rewrites are where things are: the tutorial's addresses become free
// ports and `go run ./…` the binaries built here.
func TestTutorial(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the tutorial needs %s: %v (install it: apt-get install %s)", tool, err, tool)
		}
	}
	blocks := tutorialBlocks(t)
	dir := t.TempDir()
	bin := func(pkg string) string {
		out := filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = ".."
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	reservd, receiver := bin("./cmd/reservd"), bin("./examples/webhook-receiver")
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	apiAddr, hookAddr := freeAddr(t), freeAddr(t)
	rewrite := strings.NewReplacer(
		"go run ./cmd/reservd", reservd,
		"go run ./examples/webhook-receiver", receiver,
		"http://localhost:8080", "http://"+apiAddr,
		"127.0.0.1:9090", hookAddr,
	)

	var script strings.Builder
	script.WriteString("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n")
	var serverEnv []string
	for i, b := range blocks {
		switch b.role {
		case "server":
			// Settings are the assignments before the command.
			for _, f := range strings.Fields(b.code) {
				if !strings.Contains(f, "=") {
					break
				}
				serverEnv = append(serverEnv, f)
			}
		case "run":
			fmt.Fprintf(&script, "echo '### block %d'\n%s\n", i, rewrite.Replace(b.code))
		case "background":
			fmt.Fprintf(&script, "( %s ) >background-%d.log 2>&1 &\n", strings.TrimSpace(rewrite.Replace(b.code)), i)
			// The reader waits for the receiver to say it listens.
			fmt.Fprintf(&script, "until grep -q listening background-%d.log; do sleep 0.1; done\n", i)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, reservd)
	srv.Dir = work
	srv.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "ADDR=" + apiAddr}, serverEnv...)
	srvLog, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout, srv.Stderr = srvLog, srvLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	})
	waitReady(t, "http://"+apiAddr+"/readyz", filepath.Join(dir, "server.log"))

	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir = work
	sh.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	out, err := sh.CombinedOutput()
	if err != nil {
		serverOut, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		t.Fatalf("the tutorial failed: %v\n--- its output:\n%s\n--- the server's log:\n%s", err, out, serverOut)
	}
	logs, _ := filepath.Glob(filepath.Join(work, "background-*.log"))
	if len(logs) != 1 {
		t.Fatalf("want one background log (the receiver), have %v", logs)
	}
	got, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"received hold.created", "received booking.confirmed"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the receiver never printed %q; its log:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "refused") {
		t.Errorf("the receiver refused a delivery; its log:\n%s", got)
	}
}

func waitReady(t *testing.T, url, logPath string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(logPath)
	t.Fatalf("the server never became ready at %s; its log:\n%s", url, b)
}
