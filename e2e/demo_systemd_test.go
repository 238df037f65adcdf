package e2e

// End-to-end tests of the demos (demos/run-systemd, demos/etcd): they build
// the demo rootfs with debootstrap (cached in the test user's
// ~/.cache/bwrap-oci/debootstrap, about a minute each the first time), run
// the containers as the test user and check what the demos promise with
// real commands. The helpers shared by both files are here.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// demoTimeout bounds a demo's --prepare step (a debootstrap the first time).
const demoTimeout = 10 * time.Minute

var (
	demoToolsOnce sync.Once
	demoToolsErr  error
	demoTools     struct{ democonfig, idshift string }
)

// needDemo skips (or, under CI, fails) the test when the demos cannot run:
// the suite cannot run, or debootstrap (and the given extra commands) are
// missing and cannot be installed. As root, missing packages are installed.
func needDemo(t *testing.T, extra ...string) {
	t.Helper()
	need(t)
	tools := map[string]string{"debootstrap": "debootstrap", "unshare": "util-linux", "nsenter": "util-linux"}
	for _, e := range extra {
		cmd, pkg, _ := strings.Cut(e, ":")
		tools[cmd] = pkg
	}
	var missing []string
	for cmd, pkg := range tools {
		if _, err := lookPath(cmd, envValue(h.env, "PATH")); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) > 0 && os.Geteuid() == 0 {
		if err := aptInstall(missing...); err != nil {
			t.Logf("installing %v: %v", missing, err)
		} else {
			missing = nil
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("the demos need the packages %v (apt-get install -y %s)", missing, strings.Join(missing, " "))
		if ciMode() {
			t.Fatalf("%s (CI=true, so not skipping)", msg)
		}
		t.Skip(msg)
	}
	demoToolsOnce.Do(buildDemoTools)
	if demoToolsErr != nil {
		t.Fatal(demoToolsErr)
	}
}

var aptMu sync.Mutex

// aptInstall installs Debian packages (as root), updating the lists once if
// the first try fails.
func aptInstall(pkgs ...string) error {
	aptMu.Lock()
	defer aptMu.Unlock()
	run := func(args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)
	if err := run(args...); err == nil {
		return nil
	}
	if err := run("update", "-q"); err != nil {
		return err
	}
	return run(args...)
}

// buildDemoTools builds demos/cmd/democonfig and demos/cmd/idshift next to
// the binary under test, so that the test user needs no Go toolchain.
func buildDemoTools() {
	dir := filepath.Join(h.base, "bin")
	for _, tool := range []string{"democonfig", "idshift"} {
		out := filepath.Join(dir, tool)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		build := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", out, "./demos/cmd/"+tool)
		build.Dir = h.repo
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		msg, err := build.CombinedOutput()
		cancel()
		if err != nil {
			demoToolsErr = fmt.Errorf("go build ./demos/cmd/%s: %v\n%s", tool, err, msg)
			return
		}
		if err := os.Chmod(out, 0o755); err != nil {
			demoToolsErr = err
			return
		}
	}
	demoTools.democonfig = filepath.Join(dir, "democonfig")
	demoTools.idshift = filepath.Join(dir, "idshift")
}

// demoEnv is the test user's environment for a demo script.
func demoEnv(id string, extra ...string) []string {
	env := append([]string{}, h.env...)
	return append(env, append([]string{
		"BWRAP_OCI=" + h.bin,
		"DEMOCONFIG=" + demoTools.democonfig,
		"IDSHIFT=" + demoTools.idshift,
		"DEMO_ID=" + id,
	}, extra...)...)
}

// demoScript copies a demo directory (with demos/lib.sh) where the test user
// can read it, since the repository may be private to root, and returns the
// path of its run_demo.sh.
func demoScript(t *testing.T, name string) string {
	t.Helper()
	root := filepath.Join(h.base, "demos")
	for _, rel := range []string{"lib.sh", name + "/run_demo.sh"} {
		data, err := os.ReadFile(filepath.Join(h.repo, "demos", rel))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, rel)
		if err := h.mkdirUser(filepath.Dir(dst)); err != nil {
			t.Fatal(err)
		}
		if err := h.mkdirUser(root); err != nil {
			t.Fatal(err)
		}
		if err := h.writeFileUser(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, name, "run_demo.sh")
}

// runDemo runs a demo script as the test user and returns its result.
func runDemo(t *testing.T, env []string, script string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
	defer cancel()
	saved := h.env
	h.env = env
	defer func() { h.env = saved }()
	start := time.Now()
	r := h.exec(ctx, execOpts{}, script, args...)
	t.Logf("%s %s: exit %d in %v", filepath.Base(filepath.Dir(script)), strings.Join(args, " "), r.code, time.Since(start).Round(time.Second))
	return r
}

// bundleDir is where the demo scripts put the bundle of container id.
func bundleDir(id string) string {
	cache := envValue(h.env, "XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(h.home, ".cache")
	}
	return filepath.Join(cache, "bwrap-oci", "demos", id)
}

// bg is a command of the test user running in the background.
type bg struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	code int
}

// startBG starts `bwrap-oci ARGS` as the test user in the background, in
// the cgroup v2 directory cgroupDir when it is not empty, with its output
// in a log file.
func startBG(t *testing.T, cgroupDir string, args ...string) *bg {
	return startBGEnv(t, cgroupDir, nil, args...)
}

// startBGEnv is startBG with more environment variables.
func startBGEnv(t *testing.T, cgroupDir string, env []string, args ...string) *bg {
	t.Helper()
	logf, err := os.CreateTemp(h.base, "bg-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(h.bin, args...)
	cmd.Env = append(append([]string(nil), h.env...), env...)
	cmd.Dir = h.base
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if h.switchUser {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: h.uid, Gid: h.gid, Groups: []uint32{}}
	}
	if cgroupDir != "" {
		fd, err := syscall.Open(cgroupDir, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = fd
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %v: %v", args, err)
	}
	b := &bg{cmd: cmd, log: logf.Name(), done: make(chan struct{}), code: -1}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			b.code = 0
		case errors.As(err, &ee):
			b.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				b.code = 128 + int(ws.Signal())
			}
		}
		close(b.done)
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
	})
	return b
}

// wait waits for the background command to end and returns its status.
func (b *bg) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-b.done:
		return b.code
	case <-time.After(timeout):
		t.Fatalf("still running after %v; output:\n%s", timeout, readFile(b.log))
		return -1
	}
}

func (b *bg) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// waitPid waits for the container to be running and returns its pid.
func waitPid(t *testing.T, id string, b *bg) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b.exited() {
			t.Fatalf("bwrap-oci run exited %d before the container ran:\n%s", b.code, readFile(b.log))
		}
		for _, e := range listJSON(t) {
			if e.ID == id && e.Status == "running" && e.Pid > 0 {
				return e.Pid
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container %s not running after 30s:\n%s", id, readFile(b.log))
	return 0
}

// inContainer runs a command in the container's namespaces (those it does
// not share with the test) as the test user, who owns its user namespace.
func inContainer(t *testing.T, pid int, timeout time.Duration, args ...string) result {
	t.Helper()
	nsArgs := []string{"--target", strconv.Itoa(pid), "--user", "--mount"}
	for _, ns := range []string{"pid", "ipc", "uts", "net", "cgroup"} {
		a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		b, _ := os.Readlink("/proc/self/ns/" + ns)
		if a != b {
			nsArgs = append(nsArgs, "--"+ns)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.exec(ctx, execOpts{}, "nsenter", append(nsArgs, args...)...)
}

// cgroupV2 returns the mount point of the cgroup v2 hierarchy.
func cgroupV2() (string, error) {
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st syscall.Statfs_t
		if syscall.Statfs(dir, &st) == nil && st.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
			return dir, nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified")
}

// delegatedCgroup makes a cgroup v2 directory owned by the test user, as an
// administrator (or systemd's Delegate=yes) would, and removes it at the
// end. It needs root; as another user the test's own cgroup must already be
// delegated.
func delegatedCgroup(t *testing.T, name string) string {
	t.Helper()
	v2, err := cgroupV2()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		data, _ := os.ReadFile("/proc/self/cgroup")
		own := ""
		for _, line := range strings.Split(string(data), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				own = p
			}
		}
		dir := filepath.Join(v2, own, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			msg := fmt.Sprintf("systemd needs a delegated cgroup: cannot create %s: %v (run the tests as root, or in `systemd-run --user --scope -p Delegate=yes`)", dir, err)
			if ciMode() {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		t.Cleanup(func() { removeCgroup(dir) })
		return dir
	}
	dir := filepath.Join(v2, fmt.Sprintf("bwrap-oci-e2e-%s-%d", name, os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeCgroup(dir) })
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(h.uid), int(h.gid))
	}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// removeCgroup removes a cgroup directory and its children, killing what
// is left in it first.
func removeCgroup(dir string) {
	if _, err := os.Stat(dir); err != nil {
		return
	}
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	for i := 0; i < 50; i++ {
		var dirs []string
		_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for j := len(dirs) - 1; j >= 0; j-- {
			_ = syscall.Rmdir(dirs[j])
		}
		if _, err := os.Stat(dir); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDemoSystemd boots the systemd demo: systemd --system as the
// container's init, in a multi-id user namespace, with a delegated cgroup.
func TestDemoSystemd(t *testing.T) {
	needDemo(t)
	id := fmt.Sprintf("e2e-systemd-demo-%d", os.Getpid())
	t.Cleanup(func() { forceDelete(id) })
	script := demoScript(t, "run-systemd")
	env := demoEnv(id)
	r := runDemo(t, env, script, "--prepare")
	if r.code != 0 || r.err != nil {
		t.Fatalf("run_demo.sh --prepare: %s", r.describe())
	}
	bdir := bundleDir(id)
	t.Cleanup(func() { removeBundle(bdir) })

	// The container's cgroup: a child of a delegated subtree, owned by the
	// test user, bound at /sys/fs/cgroup.
	parent := delegatedCgroup(t, "systemd")
	cg := filepath.Join(parent, id)
	if r := asUser(t, execOpts{}, "mkdir", cg); r.code != 0 {
		t.Fatalf("mkdir %s as the test user: %s", cg, r.describe())
	}
	if r := asUser(t, execOpts{}, demoTools.democonfig, "systemd", "-cgroup", cg, "-hostname", "systemd-demo", filepath.Join(bdir, "config.json")); r.code != 0 {
		t.Fatalf("democonfig: %s", r.describe())
	}

	// The runtime runs inside the container's cgroup: it must not start a
	// userns keeper there, which would stay after the container (see
	// keptUserNS). With no keeper running, it would start one.
	for kpid := range keeperProcs(h.stateRoot) {
		_ = syscall.Kill(kpid, syscall.SIGKILL)
	}
	start := time.Now()
	run := startBG(t, cg, "run", "--bundle", bdir, id)
	pid := waitPid(t, id, run)

	// Boots to its default target with no failed unit.
	var state string
	for time.Since(start) < 2*time.Minute {
		r := inContainer(t, pid, 100*time.Second, "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(r.stdout)
		if state != "" && state != "initializing" && state != "starting" {
			break
		}
		if run.exited() {
			t.Fatalf("bwrap-oci run exited %d during boot:\n%s", run.code, readFile(run.log))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("systemctl is-system-running: %s after %v", state, time.Since(start).Round(100*time.Millisecond))
	failed := inContainer(t, pid, 30*time.Second, "systemctl", "--failed", "--plain", "--no-legend", "--no-pager")
	if state != "running" {
		journal := inContainer(t, pid, 30*time.Second, "journalctl", "-b", "-p", "warning", "--no-pager")
		t.Errorf("systemctl is-system-running = %q, want running\nfailed units:\n%s\nwarnings:\n%s", state, failed.stdout, journal.stdout)
	}
	if s := strings.TrimSpace(failed.stdout); s != "" {
		t.Errorf("failed units:\n%s", s)
	}

	// The facts systemd depends on.
	if r := inContainer(t, pid, 10*time.Second, "cat", "/proc/1/cgroup"); !strings.Contains(r.stdout, "0::/init.scope") {
		t.Errorf("/proc/1/cgroup in the container = %q, want systemd in 0::/init.scope of its own cgroup namespace", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(cg, "system.slice")); err != nil {
		t.Errorf("systemd did not create its slices in the delegated cgroup %s: %v", cg, err)
	}
	if maps, err := ParseIDMap(readFile(fmt.Sprintf("/proc/%d/uid_map", pid))); err != nil || len(maps) < 2 {
		t.Errorf("uid_map of systemd: %v (%v), want the multi-id mapping", maps, err)
	}
	// dbus-daemon runs as messagebus, a uid of the subordinate range.
	r = inContainer(t, pid, 10*time.Second, "sh", "-c", "id -u messagebus; cat /proc/$(pidof dbus-daemon)/status | sed -n 's/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p'")
	if f := strings.Fields(r.stdout); len(f) != 2 || f[0] != f[1] || f[0] == "0" {
		t.Errorf("dbus-daemon should run as messagebus: %s", r.describe())
	}
	if r := inContainer(t, pid, 10*time.Second, "cat", "/proc/1/environ"); !strings.Contains(r.stdout, "container=bwrap-oci") {
		t.Errorf("container= is not in systemd's environment: %q", r.stdout)
	}

	// list shows it.
	e, ok := findEntry(listJSON(t), id)
	if !ok || e.Status != "running" || e.Pid != pid {
		t.Errorf("list: %+v (found %v), want %s running with pid %d", e, ok, id, pid)
	}
	if r := mustOCI(t, "list"); !strings.Contains(r.stdout, id) {
		t.Errorf("list does not show %s:\n%s", id, r.stdout)
	}

	// SIGRTMIN+3 halts it cleanly: `run` exits and reports the status.
	halt := time.Now()
	mustOCI(t, "kill", id, "SIGRTMIN+3")
	code := run.wait(t, 60*time.Second)
	t.Logf("halted in %v, bwrap-oci run exited %d", time.Since(halt).Round(100*time.Millisecond), code)
	// bwrap reports the kernel's SIGINT to a PID namespace's init on
	// power-off as 128+SIGINT; the runtime reports that as a clean 0.
	if code != 0 {
		t.Errorf("bwrap-oci run exited %d after SIGRTMIN+3, want 0 (a clean power-off):\n%s", code, readFile(run.log))
	}
	if _, ok := findEntry(listJSON(t), id); ok {
		t.Errorf("%s still listed after it powered off", id)
	}
	if procAlive(pid) {
		t.Errorf("systemd (pid %d) still alive after power-off", pid)
	}
	if data, _ := os.ReadFile(filepath.Join(cg, "cgroup.procs")); strings.TrimSpace(string(data)) != "" {
		t.Errorf("processes left in the container's cgroup: %s", data)
	}
}

// removeBundle removes a demo bundle whose files belong to the test user's
// subordinate ids (root can; the user would need a user namespace).
func removeBundle(dir string) {
	if os.Getenv("BWRAP_OCI_E2E_KEEP") != "" || os.Geteuid() != 0 {
		return
	}
	_ = os.RemoveAll(dir)
}

// TestDemoUserUnits checks the hand-written systemctl --user units of
// demos/systemd-user (what `bwrap-oci generate systemd` is to write) with
// systemd-analyze verify: no warning at all.
func TestDemoUserUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Geteuid() == 0 {
			if err := aptInstall("systemd"); err != nil {
				t.Logf("installing systemd: %v", err)
			}
		}
		if _, err := exec.LookPath("systemd-analyze"); err != nil {
			if ciMode() {
				t.Fatal("systemd-analyze not found (package systemd); CI=true, so not skipping")
			}
			t.Skip("systemd-analyze not found (apt-get install systemd)")
		}
	}
	// %h is $HOME: give the units the paths they expect.
	home := t.TempDir()
	for _, d := range []string{".cache/bwrap-oci/bin", ".cache/bwrap-oci/demos/etcd-demo", ".cache/bwrap-oci/demos/systemd-demo"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := h.bin
	if bin == "" {
		bin = "/bin/true"
	}
	if err := os.Symlink(bin, filepath.Join(home, ".cache/bwrap-oci/bin/bwrap-oci")); err != nil {
		t.Fatal(err)
	}
	runtimeDir := t.TempDir()
	units, _ := filepath.Glob(filepath.Join(h.repo, "demos", "systemd-user", "*.service"))
	if len(units) == 0 {
		t.Fatal("no units in demos/systemd-user")
	}
	for _, u := range units {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		cmd := exec.CommandContext(ctx, "systemd-analyze", "--user", "verify", u)
		cmd.Env = append(os.Environ(), "HOME="+home, "XDG_RUNTIME_DIR="+runtimeDir, "SYSTEMD_LOG_LEVEL=notice")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("systemd-analyze --user verify %s: %v\n%s", filepath.Base(u), err, out)
		}
	}
}
