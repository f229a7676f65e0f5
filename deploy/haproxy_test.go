package deploy

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// haproxyPath finds Debian's haproxy (in /usr/sbin, often off a user's
// PATH) or fails the test naming the script that installs it.
func haproxyPath(t testing.TB) string {
	t.Helper()
	return toolPath(t, "haproxy")
}

func toolPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if _, err := os.Stat(dir + "/" + name); err == nil {
			return dir + "/" + name
		}
	}
	t.Fatalf("%s is not installed: run bin/install_tools.sh (make test runs it), which installs it with apt-get", name)
	return ""
}

// TestHAProxyConfigLoads has HAProxy itself check deploy/haproxy/haproxy.cfg
// with the environment it documents.
func TestHAProxyConfigLoads(t *testing.T) {
	cmd := exec.Command(haproxyPath(t), "-c", "-f", "haproxy/haproxy.cfg")
	cmd.Env = []string{"RESERVD_LB_BIND=" + freeAddr(t), "HAPROXY_STATS_BIND=" + freeAddr(t),
		"RESERVD_1=127.0.0.1:8080", "RESERVD_2=127.0.0.1:8081", "RESERVD_3=127.0.0.1:8082"}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[WARNING]") {
		t.Errorf("haproxy -c warns:\n%s", out)
	}
}

// TestHAProxyKeepsStreamsOpen checks that the inactivity timeouts between
// HAProxy and clients and replicas outlast the longest silence of a
// server-sent event stream: its heartbeat, STREAM_HEARTBEAT, at most 15s.
func TestHAProxyKeepsStreamsOpen(t *testing.T) {
	const maxHeartbeat = 15 * time.Second
	b, err := os.ReadFile("haproxy/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]time.Duration{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "timeout" && (f[1] == "server" || f[1] == "client") {
			d, err := time.ParseDuration(f[2])
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			found[f[1]] = d
		}
	}
	for _, name := range []string{"server", "client"} {
		if d, ok := found[name]; !ok || d < 2*maxHeartbeat {
			t.Errorf("timeout %s = %v; want at least %v, twice a stream's longest silence", name, d, 2*maxHeartbeat)
		}
	}
}
