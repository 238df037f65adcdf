package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freePorts returns n TCP ports free on 127.0.0.1 right now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// etcdctl runs etcdctl (v3 API) on the host as the test user.
func etcdctl(t *testing.T, endpoint string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	saved := h.env
	h.env = append(append([]string{}, h.env...), "ETCDCTL_API=3")
	defer func() { h.env = saved }()
	return h.exec(ctx, execOpts{}, "etcdctl", append([]string{"--endpoints=" + endpoint, "--dial-timeout=2s"}, args...)...)
}

// TestDemoEtcd runs the etcd demo: Debian's etcd as a non-root uid in the
// container, on the host's network, reached with etcdctl from the host, and
// stopped by SIGTERM with exit status 0.
func TestDemoEtcd(t *testing.T) {
	needDemo(t, "etcdctl:etcd-client")
	id := fmt.Sprintf("e2e-etcd-demo-%d", os.Getpid())
	t.Cleanup(func() { forceDelete(id) })
	ports := freePorts(t, 2)
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	script := demoScript(t, "etcd")
	env := demoEnv(id, "ETCD_CLIENT_PORT="+strconv.Itoa(ports[0]), "ETCD_PEER_PORT="+strconv.Itoa(ports[1]))
	r := runDemo(t, env, script, "--prepare")
	if r.code != 0 || r.err != nil {
		t.Fatalf("run_demo.sh --prepare: %s", r.describe())
	}
	bdir := bundleDir(id)
	t.Cleanup(func() { removeBundle(bdir) })
	rootfs := filepath.Join(bdir, "rootfs")

	// The etcd user of the package, and the uid the container runs as.
	var uid, gid string
	for _, line := range strings.Split(readFile(filepath.Join(rootfs, "etc/passwd")), "\n") {
		if f := strings.Split(line, ":"); len(f) > 3 && f[0] == "etcd" {
			uid, gid = f[2], f[3]
		}
	}
	if uid == "" || uid == "0" {
		t.Fatalf("no non-root etcd user in %s/etc/passwd", rootfs)
	}
	s := (&bundle{t: t, dir: bdir}).spec()
	if strconv.Itoa(int(s.Process.User.UID)) != uid || strconv.Itoa(int(s.Process.User.GID)) != gid {
		t.Errorf("process.user = %d:%d, want the etcd user %s:%s", s.Process.User.UID, s.Process.User.GID, uid, gid)
	}

	start := time.Now()
	run := startBG(t, "", "run", "--bundle", bdir, id)
	pid := waitPid(t, id, run)
	for {
		if r := etcdctl(t, client, "endpoint", "health"); r.code == 0 {
			break
		}
		if run.exited() {
			t.Fatalf("etcd exited %d:\n%s", run.code, readFile(run.log))
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("etcd not healthy at %s after 30s:\n%s", client, readFile(run.log))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("etcd healthy at %s after %v", client, time.Since(start).Round(100*time.Millisecond))

	// A non-root uid inside: the etcd user, which is the test user's own uid
	// on the host (bwrap-oci's mapping rule), with no capability.
	r = inContainer(t, pid, 10*time.Second, "sh", "-c", "awk '/^(Uid|Gid|CapEff):/ { print $2 }' /proc/1/status")
	if f := strings.Fields(r.stdout); len(f) != 3 || f[0] != uid || f[1] != gid || f[2] != "0000000000000000" {
		t.Errorf("etcd's ids and capabilities in the container: %s, want uid %s gid %s, CapEff 0", r.describe(), uid, gid)
	}
	if u, err := procUID(pid); err != nil || u != h.uid {
		t.Errorf("etcd's uid on the host = %d (%v), want the test user's %d", u, err, h.uid)
	}
	// The data directory belongs to etcd inside the container.
	if r := inContainer(t, pid, 10*time.Second, "stat", "-c", "%U", "/var/lib/etcd/demo"); strings.TrimSpace(r.stdout) != "etcd" {
		t.Errorf("/var/lib/etcd/demo owner: %s", r.describe())
	}
	if r := inContainer(t, pid, 10*time.Second, "stat", "-c", "%U %a", "/usr/bin/su"); strings.TrimSpace(r.stdout) != "root 4755" {
		t.Errorf("/usr/bin/su should stay setuid root after the ownership shift: %s", r.describe())
	}

	// Reachable from the host.
	value := fmt.Sprintf("hello from %s at %d", h.name, time.Now().Unix())
	if r := etcdctl(t, client, "put", "demo/greeting", value); r.code != 0 || strings.TrimSpace(r.stdout) != "OK" {
		t.Fatalf("etcdctl put: %s", r.describe())
	}
	if r := etcdctl(t, client, "get", "--print-value-only", "demo/greeting"); strings.TrimSpace(r.stdout) != value {
		t.Errorf("etcdctl get = %q, want %q: %s", strings.TrimSpace(r.stdout), value, r.describe())
	}
	if e, ok := findEntry(listJSON(t), id); !ok || e.Status != "running" {
		t.Errorf("list: %+v (found %v)", e, ok)
	}

	// SIGTERM stops it with exit status 0.
	mustOCI(t, "kill", id, "SIGTERM")
	if code := run.wait(t, 30*time.Second); code != 0 {
		t.Errorf("bwrap-oci run exited %d after SIGTERM, want 0:\n%s", code, readFile(run.log))
	}
	if procAlive(pid) {
		t.Errorf("etcd (pid %d) alive after SIGTERM", pid)
	}
	if r := etcdctl(t, client, "endpoint", "health"); r.code == 0 {
		t.Errorf("etcd still answers at %s after it stopped", client)
	}
}
