package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoSystemdRuntimeCgroup boots systemd with a plain cgroup mount: the
// runtime detects systemd, makes a cgroup of its own below the caller's
// delegated one and binds it; with NOTIFY_SOCKET set, systemd's READY=1
// reaches the runtime's socket; its power-off is a clean exit 0; and the
// cgroup is gone afterwards.
func TestDemoSystemdRuntimeCgroup(t *testing.T) {
	needDemo(t)
	id := fmt.Sprintf("e2e-systemd-rt-%d", os.Getpid())
	t.Cleanup(func() { forceDelete(id) })
	script := demoScript(t, "run-systemd")
	if r := runDemo(t, demoEnv(id), script, "--prepare"); r.code != 0 || r.err != nil {
		t.Fatalf("run_demo.sh --prepare: %s", r.describe())
	}
	bdir := bundleDir(id)
	t.Cleanup(func() { removeBundle(bdir) })
	if r := asUser(t, execOpts{}, demoTools.democonfig, "systemd", "-cgroup", "runtime", "-hostname", "systemd-rt", filepath.Join(bdir, "config.json")); r.code != 0 {
		t.Fatalf("democonfig: %s", r.describe())
	}
	// The runtime runs in a delegated cgroup (as a systemd user service with
	// Delegate=yes would).
	parent := delegatedCgroup(t, "systemd-rt")

	// A notify socket the test user can send to, as systemd's would be.
	sockDir := filepath.Join(h.base, fmt.Sprintf("notify-%d", os.Getpid()))
	if err := os.MkdirAll(sockDir, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(sockDir, 0o777)
	sock := filepath.Join(sockDir, "n.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = os.Chmod(sock, 0o777)
	got := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()

	run := startBGEnv(t, parent, []string{"NOTIFY_SOCKET=" + sock}, "run", "--bundle", bdir, id)
	pid := waitPid(t, id, run)
	mine := filepath.Join(parent, "bwrap-oci-"+id)
	if _, err := os.Stat(filepath.Join(mine, "init.scope")); err != nil {
		// systemd may still be starting: wait for READY first.
		t.Logf("init.scope not there yet: %v", err)
	}

	ready := false
	deadline := time.After(2 * time.Minute)
	for !ready {
		select {
		case m, ok := <-got:
			if !ok {
				t.Fatal("notify socket closed")
			}
			t.Logf("sd_notify: %q", m)
			ready = strings.Contains(m, "READY=1")
		case <-deadline:
			t.Fatalf("no READY=1 from the container's systemd within 2 minutes:\n%s", readFile(run.log))
		}
	}
	if r := inContainer(t, pid, 100*time.Second, "systemctl", "is-system-running", "--wait"); strings.TrimSpace(r.stdout) != "running" {
		failed := inContainer(t, pid, 30*time.Second, "systemctl", "--failed", "--plain", "--no-legend", "--no-pager")
		t.Errorf("systemctl is-system-running = %q, want running; failed: %s", strings.TrimSpace(r.stdout), failed.stdout)
	}
	if _, err := os.Stat(filepath.Join(mine, "init.scope")); err != nil {
		t.Errorf("systemd's init.scope is not in the runtime's cgroup %s: %v", mine, err)
	}
	if r := inContainer(t, pid, 10*time.Second, "cat", "/proc/1/cgroup"); !strings.Contains(r.stdout, "0::/init.scope") {
		t.Errorf("/proc/1/cgroup = %q, want 0::/init.scope (its own cgroup namespace)", r.stdout)
	}
	mustOCI(t, "kill", id, "SIGRTMIN+3")
	if code := run.wait(t, 60*time.Second); code != 0 {
		t.Errorf("run exited %d after SIGRTMIN+3, want 0:\n%s", code, readFile(run.log))
	}
	if _, err := os.Stat(mine); err == nil {
		t.Errorf("the container's cgroup %s is left after it ended", mine)
	}
}
