package testdb

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisCluster is a throwaway Redis Cluster of three masters (no replicas)
// on 127.0.0.1, run from the machine's redis-server and redis-cli.
type RedisCluster struct {
	// URL names every master as a seed, in the form REDIS_URL takes with
	// REDIS_CLUSTER=true: redis://127.0.0.1:P1?addr=127.0.0.1:P2&addr=….
	URL string
	// Addrs are the masters' host:port.
	Addrs []string

	procs []*exec.Cmd
}

// clusterMasters is how many masters StartRedisCluster starts: the
// fewest redis-cli --cluster create accepts.
const clusterMasters = 3

// StartRedisCluster starts three redis-server processes in cluster mode on
// free ports, each in a temporary directory of t's, joins them into one
// cluster covering every slot and waits until every node reports it ok.
// The processes are killed at cleanup. It fails t, never skips, when
// redis-server or redis-cli is missing.
//
// The nodes run with cluster-require-full-coverage no, as docs/OPERATIONS.md
// recommends: when a master dies, the other masters keep serving their
// slots rather than refusing every command; and a short node timeout, so
// that the cluster notices a dead master within a test.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli is not installed (apt-get install redis-tools): %v", err)
	}
	c := &RedisCluster{}
	t.Cleanup(c.stop)
	for i := 0; i < clusterMasters; i++ {
		port := clusterPort(t)
		dir := t.TempDir()
		log, err := os.Create(filepath.Join(dir, "redis.log")) // #nosec G304 -- dir is this test's t.TempDir()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() }) // #nosec G104 -- a test's redis-server log in t.TempDir(), read by nobody once the test ends
		cmd := exec.Command(server,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--dir", dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000", "--cluster-require-full-coverage", "no",
			"--save", "", "--appendonly", "no", "--daemonize", "no") // #nosec G204 -- redis-server found on PATH, with this helper's own arguments
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		c.procs = append(c.procs, cmd)
		c.Addrs = append(c.Addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}
	for _, addr := range c.Addrs {
		waitFor(t, 5*time.Second, "redis-server at "+addr+" answers", func() (bool, string) {
			out, err := exec.Command(cli, "-h", "127.0.0.1", "-p", port(addr), "ping").CombinedOutput() // #nosec G204 -- redis-cli found on PATH, with this helper's own arguments
			return err == nil && strings.TrimSpace(string(out)) == "PONG", string(out)
		})
	}
	create := append([]string{"--cluster", "create"}, c.Addrs...)
	create = append(create, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, create...).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("All 16384 slots covered")) { // #nosec G204 -- redis-cli found on PATH, with this helper's own arguments
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range c.Addrs {
		waitFor(t, 10*time.Second, "cluster_state:ok at "+addr, func() (bool, string) {
			out, err := exec.Command(cli, "-h", "127.0.0.1", "-p", port(addr), "cluster", "info").CombinedOutput() // #nosec G204 -- redis-cli found on PATH, with this helper's own arguments
			return err == nil && bytes.Contains(out, []byte("cluster_state:ok")), string(out)
		})
	}
	c.URL = "redis://" + c.Addrs[0]
	for i, addr := range c.Addrs[1:] {
		if i == 0 {
			c.URL += "?"
		} else {
			c.URL += "&"
		}
		c.URL += "addr=" + addr
	}
	return c
}

// Kill kills master i (0, 1 or 2) with SIGKILL, as a crash would, and
// reaps it.
func (c *RedisCluster) Kill(i int) error {
	p := c.procs[i]
	if err := p.Process.Kill(); err != nil {
		return fmt.Errorf("kill redis-server %s: %w", c.Addrs[i], err)
	}
	_ = p.Wait()
	return nil
}

func (c *RedisCluster) stop() {
	for _, p := range c.procs {
		if p.ProcessState == nil {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}
}

// clusterPort returns a free port whose cluster bus port (port+10000) is
// free too.
func clusterPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close() // #nosec G104 -- the listener only proved the port free; nothing was served on it
		if p+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		bus.Close() // #nosec G104 -- the listener only proved the port free; nothing was served on it
		return p
	}
	t.Fatal("no free port pair (port, port+10000) for a Redis Cluster node")
	return 0
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last answer: %s", d, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
