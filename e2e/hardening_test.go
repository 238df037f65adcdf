package e2e

// Hardening: what a container must never get from the runtime, whatever
// its config or its caller's set-up.
//
//   - TestHardeningNoFDLeak: no descriptor of the runtime (or of whoever
//     started it) reaches the container, for run, create/start and exec; the
//     working directory cannot be a leaked descriptor (CVE-2024-21626).
//   - TestHardeningNoTIOCSTI: without process.terminal the container cannot
//     push input into the caller's terminal.
//   - TestHardeningMountSymlinks: mount destinations are resolved inside the
//     rootfs; a symlink out of it never makes a mount land outside.
//   - TestHardeningState*: state files are private and owned by the caller,
//     IDs cannot name paths outside the state root, and state written by
//     someone else is not trusted.
//   - TestHardeningSetuidBwrap: a setuid-root bwrap is detected and what it
//     cannot do safely is refused.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bwrap-oci/bwrap-oci/internal/keeper"
	istate "github.com/bwrap-oci/bwrap-oci/internal/state"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ---------------------------------------------------------------------------
// Descriptors.

// hdProbe is a shell script that prints the shell's own open descriptors
// (ls -l /proc/$$/fd: the shell's, not those of ls, which has its directory
// open), its working directory, the identity (dev:ino) of its root, and
// that of the directory eight ".." above its working directory: inside the
// container that is the root itself, outside it is not.
const hdProbe = `ls -l /proc/$$/fd; echo "CWD $(readlink /proc/self/cwd)"; echo "ROOT $(stat -c %d:%i /)"; echo "UP $(cd ../../../../../../../.. 2>/dev/null && stat -c %d:%i .)"; true`

var hdFDLine = regexp.MustCompile(`\s(\d+) -> (.*)$`)

type hdProbeResult struct {
	fds           map[int]string // descriptor -> target
	cwd, root, up string
}

func hdParse(out string) hdProbeResult {
	p := hdProbeResult{fds: map[int]string{}}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "CWD "):
			p.cwd = strings.TrimPrefix(line, "CWD ")
		case strings.HasPrefix(line, "ROOT "):
			p.root = strings.TrimPrefix(line, "ROOT ")
		case strings.HasPrefix(line, "UP "):
			p.up = strings.TrimPrefix(line, "UP ")
		default:
			if m := hdFDLine.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				p.fds[n] = m[2]
			}
		}
	}
	return p
}

// hdHostRoot is the dev:ino of the host's root directory.
func hdHostRoot() string {
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		return "?"
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// hdCheckProbe checks the probe's output: only 0, 1 and 2 open, and a
// working directory inside the container (wantCwd, when not empty).
func hdCheckProbe(t *testing.T, what, out, wantCwd string) {
	t.Helper()
	p := hdParse(out)
	if p.root == "" || len(p.fds) == 0 {
		t.Errorf("%s: the probe did not run: %q", what, out)
		return
	}
	var extra []string
	for fd, target := range p.fds {
		if fd > 2 {
			extra = append(extra, fmt.Sprintf("%d -> %s", fd, target))
		}
	}
	sort.Strings(extra)
	for _, fd := range []int{0, 1, 2} {
		if _, ok := p.fds[fd]; !ok {
			t.Errorf("%s: descriptor %d is not open in the container", what, fd)
		}
	}
	if len(extra) > 0 {
		t.Errorf("%s: descriptors beyond stdio reached the container: %s", what, strings.Join(extra, ", "))
	}
	hdCheckCwd(t, what, p, wantCwd)
}

func hdCheckCwd(t *testing.T, what string, p hdProbeResult, wantCwd string) {
	t.Helper()
	if p.up != p.root {
		host := ""
		if p.up == hdHostRoot() {
			host = " (the host's root directory)"
		}
		t.Errorf("%s: the working directory %q is outside the container: \"..\" from it leads to %s%s, not to the container's root %s",
			what, p.cwd, p.up, host, p.root)
	}
	if wantCwd != "" && p.cwd != wantCwd {
		t.Errorf("%s: working directory %q, want %q", what, p.cwd, wantCwd)
	}
}

// hdInherited opens descriptors that a careless caller leaves open in the
// runtime: host directories outside the rootfs (the kind of descriptor that
// let containers out in CVE-2024-21626), a file and a pipe. They become
// fds 3, 4, 5 and 6 of the runtime.
func hdInherited(t *testing.T, b *bundle) []*os.File {
	t.Helper()
	var files []*os.File
	for _, dir := range []string{h.base, "/"} {
		f, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	files = append(files, userFile(t, b.dir, "inherited.txt", "inherited\n"))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	files = append(files, w)
	t.Cleanup(func() {
		for _, f := range files {
			f.Close()
		}
	})
	return files
}

// TestHardeningNoFDLeak: the container's process has exactly stdin, stdout
// and stderr open, for run, create/start and exec, also when the runtime
// itself inherits more (without --preserve-fds); and its working directory
// is inside the container even when the config names a descriptor as its
// working directory.
func TestHardeningNoFDLeak(t *testing.T) {
	t.Run("run", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) { shell(s, hdProbe); s.Process.Cwd = "/tmp" })
		r := b.run(t)
		if r.code != 0 {
			t.Fatalf("run: %s", r.describe())
		}
		hdCheckProbe(t, "run", r.stdout, "/tmp")
	})
	t.Run("run with inherited fds", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) { shell(s, hdProbe) })
		r := ociExtra(t, hdInherited(t, b), "run", "--bundle", b.dir, newID(t))
		if r.code != 0 {
			t.Fatalf("run: %s", r.describe())
		}
		hdCheckProbe(t, "run with fds 3-6 open in the runtime", r.stdout, "/")
	})
	t.Run("run with the init helper and seccomp", func(t *testing.T) {
		// A process id bwrap cannot set (the sealed helper runs first from
		// a descriptor), a seccomp filter (a memfd) and rlimits.
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			shell(s, hdProbe)
			noMappings(s, 1000)
			s.Process.User.AdditionalGids = []uint32{1000, 1001}
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
		})
		r := ociExtra(t, hdInherited(t, b), "run", "--bundle", b.dir, newID(t))
		if r.code != 0 {
			t.Fatalf("run: %s", r.describe())
		}
		hdCheckProbe(t, "run as uid 1000 with seccomp", r.stdout, "/")
	})
	t.Run("create/start", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			b.hostMount(s)
			shell(s, "/bin/sh -c '"+hdProbe+"' > /host/probe 2>&1; touch /host/ready")
		})
		id := newID(t)
		files := hdInherited(t, b)
		if r := ociExtra(t, files, "create", "--bundle", b.dir, id); r.code != 0 {
			t.Fatalf("create: %s", r.describe())
		}
		if r := ociExtra(t, files, "start", id); r.code != 0 {
			t.Fatalf("start: %s", r.describe())
		}
		waitFor(t, 10*time.Second, "the process to run", func() bool { return exists(filepath.Join(b.host, "ready")) })
		out := readFile(filepath.Join(b.host, "probe"))
		p := hdParse(out)
		if !strings.HasSuffix(p.fds[1], "/host/probe") {
			t.Errorf("create/start: stdout of the probe is %q, want /host/probe", p.fds[1])
		}
		hdCheckProbe(t, "create/start", out, "/")
	})
	t.Run("exec", func(t *testing.T) {
		b := sleeper(t)
		id := newID(t)
		startDetached(t, b, id)
		r := ociExtra(t, hdInherited(t, b), "exec", "--cwd", "/tmp", id, "/bin/sh", "-c", hdProbe)
		if r.code != 0 {
			t.Fatalf("exec: %s", r.describe())
		}
		hdCheckProbe(t, "exec", r.stdout, "/tmp")
		r = ociExtra(t, hdInherited(t, b), "exec", "--user", "1000:1000", id, "/bin/sh", "-c", hdProbe)
		if r.code != 0 {
			t.Fatalf("exec --user 1000:1000: %s", r.describe())
		}
		hdCheckProbe(t, "exec --user 1000:1000", r.stdout, "/")
	})

	// CVE-2024-21626: a working directory of /proc/self/fd/N is whatever
	// descriptor N is when the runtime (here: bwrap) changes directory. It
	// must be refused, or be inside the container.
	t.Run("cwd through a descriptor: run", func(t *testing.T) {
		b := newBundle(t)
		files := hdInherited(t, b)
		for n := 3; n <= 9; n++ {
			cwd := fmt.Sprintf("/proc/self/fd/%d", n)
			b.edit(func(s *specs.Spec) { shell(s, hdProbe); s.Process.Cwd = cwd })
			r := ociExtra(t, files, "run", "--bundle", b.dir, newID(t))
			if r.code != 0 {
				if strings.TrimSpace(r.stderr) == "" {
					t.Errorf("process.cwd %s: refused without a message: %s", cwd, r.describe())
				}
				continue
			}
			t.Logf("process.cwd %s: ran in %s", cwd, hdParse(r.stdout).cwd)
			hdCheckCwd(t, "process.cwd "+cwd, hdParse(r.stdout), "")
		}
	})
	t.Run("cwd through a descriptor: create/start", func(t *testing.T) {
		b := newBundle(t)
		for n := 3; n <= 9; n++ {
			cwd := fmt.Sprintf("/proc/self/fd/%d", n)
			b.edit(func(s *specs.Spec) {
				b.hostMount(s)
				shell(s, "/bin/sh -c '"+hdProbe+"' > /host/probe 2>&1; touch /host/ready")
				s.Process.Cwd = cwd
			})
			os.Remove(filepath.Join(b.host, "ready"))
			os.Remove(filepath.Join(b.host, "probe"))
			id := newID(t)
			if r := oci(t, "create", "--bundle", b.dir, id); r.code != 0 {
				t.Logf("process.cwd %s: create refused: %s", cwd, strings.TrimSpace(r.stderr))
				continue
			}
			if r := oci(t, "start", id); r.code != 0 {
				t.Logf("process.cwd %s: start refused: %s", cwd, strings.TrimSpace(r.stderr))
				continue
			}
			// bwrap changes directory once started: when it cannot, the
			// container stops without running the process.
			waitFor(t, 10*time.Second, "the process to run or the container to stop", func() bool {
				return exists(filepath.Join(b.host, "ready")) || state(t, id).Status == specs.StateStopped
			})
			if !exists(filepath.Join(b.host, "ready")) {
				t.Logf("process.cwd %s: the container stopped without running its process", cwd)
				continue
			}
			p := hdParse(readFile(filepath.Join(b.host, "probe")))
			t.Logf("process.cwd %s: ran in %s", cwd, p.cwd)
			hdCheckCwd(t, "create/start with process.cwd "+cwd, p, "")
		}
	})
	t.Run("cwd through a descriptor: exec", func(t *testing.T) {
		b := sleeper(t)
		id := newID(t)
		startDetached(t, b, id)
		files := hdInherited(t, b)
		for n := 3; n <= 9; n++ {
			cwd := fmt.Sprintf("/proc/self/fd/%d", n)
			r := ociExtra(t, files, "exec", "--cwd", cwd, id, "/bin/sh", "-c", hdProbe)
			if r.code != 0 {
				continue // refused
			}
			hdCheckCwd(t, "exec --cwd "+cwd, hdParse(r.stdout), "")
		}
	})
}

// ---------------------------------------------------------------------------
// Terminal injection.

var (
	tiocstiOnce sync.Once
	tiocstiBin  string
	tiocstiErr  error
)

// tiocstiHelper builds e2e/testdata/tiocsti, static, once.
func tiocstiHelper(t *testing.T) string {
	t.Helper()
	tiocstiOnce.Do(func() {
		out := filepath.Join(h.base, "bin", "tiocsti")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", out, "./e2e/testdata/tiocsti")
		cmd.Dir = h.repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if data, err := cmd.CombinedOutput(); err != nil {
			tiocstiErr = fmt.Errorf("go build ./e2e/testdata/tiocsti: %v\n%s", err, data)
			return
		}
		tiocstiErr = os.Chmod(out, 0o755)
		tiocstiBin = out
	})
	if tiocstiErr != nil {
		t.Fatal(tiocstiErr)
	}
	return tiocstiBin
}

// hdPTY is a pseudo-terminal that stands for the caller's terminal: the
// commands run with it as their controlling terminal and stdio.
type hdPTY struct {
	master, slave *os.File
	mu            sync.Mutex
	out           []byte
	done          chan struct{}
}

func newHDPTY(t *testing.T) *hdPTY {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	s, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.switchUser {
		// As login does: the user's terminal is the user's.
		if err := os.Chown(name, int(h.uid), -1); err != nil {
			t.Fatal(err)
		}
	}
	p := &hdPTY{master: m, slave: s, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out = append(p.out, buf[:n]...)
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		s.Close()
		m.Close()
		<-p.done
	})
	return p
}

// run runs a command as the test user in a new session whose controlling
// terminal is the pty, with the pty as stdio.
func (p *hdPTY) run(t *testing.T, timeout time.Duration, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := result{args: append([]string{name}, args...), code: -1}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = h.env
	cmd.Dir = h.base
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if h.switchUser {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: h.uid, Gid: h.gid, Groups: []uint32{}}
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.err = fmt.Errorf("timed out: %w", ctx.Err())
	case err == nil:
		res.code = 0
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		res.err = err
	}
	time.Sleep(200 * time.Millisecond) // let the reader drain the output
	res.stdout = p.output()
	return res
}

func (p *hdPTY) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(string(p.out), "\r", "")
}

// pending is how many bytes of complete lines wait in the terminal's input
// queue: what an injection would have typed.
func (p *hdPTY) pending(t *testing.T) int {
	n, err := unix.IoctlGetInt(int(p.slave.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatalf("TIOCINQ: %v", err)
	}
	return n
}

var hdTIOCSTIFailed = regexp.MustCompile(`TIOCSTI fd 0: (EPERM|EIO|ENOTTY)\b`)

// hdCheckNoInjection checks the helper's report and the terminal.
func hdCheckNoInjection(t *testing.T, what string, p *hdPTY, out, marker string) {
	t.Helper()
	if strings.Contains(out, "TIOCSTI fd 0: ok") || !hdTIOCSTIFailed.MatchString(out) {
		t.Errorf("%s: TIOCSTI on stdin did not fail with EPERM, EIO or ENOTTY: output %q", what, out)
	}
	if n := p.pending(t); n != 0 {
		t.Errorf("%s: %d bytes were pushed into the caller's terminal", what, n)
	}
	if strings.Contains(out, strings.TrimSpace(marker)) {
		t.Errorf("%s: the injected text was echoed by the caller's terminal: %q", what, out)
	}
}

// TestHardeningNoTIOCSTI: a container without process.terminal, started
// from a terminal, cannot type into it (TIOCSTI): for run, create/start and
// exec. A control run of the same helper on the host shows that the
// injection works where nothing prevents it.
func TestHardeningNoTIOCSTI(t *testing.T) {
	need(t)
	helper := tiocstiHelper(t)
	data, err := os.ReadFile(helper)
	if err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("#INJECTED-%d-%d\n", os.Getpid(), seq.Add(1))
	bundleWithHelper := func(t *testing.T) *bundle {
		b := newBundle(t)
		if err := h.writeFileUser(filepath.Join(b.dir, "rootfs", "tiocsti"), data, 0o755); err != nil {
			t.Fatal(err)
		}
		b.edit(func(s *specs.Spec) {
			s.Process.Terminal = false
			s.Process.Args = []string{"/tiocsti", marker}
		})
		return b
	}

	t.Run("control: on the host", func(t *testing.T) {
		p := newHDPTY(t)
		r := p.run(t, cmdTimeout, helper, marker)
		t.Logf("helper on the host: exit %d, output %q, %d bytes pending", r.code, r.stdout, p.pending(t))
		if r.code != 1 || p.pending(t) == 0 || !strings.Contains(r.stdout, strings.TrimSpace(marker)) {
			legacy := strings.TrimSpace(readFile("/proc/sys/dev/tty/legacy_tiocsti"))
			if legacy == "1" {
				t.Errorf("TIOCSTI works on this host (dev.tty.legacy_tiocsti = 1), but the test did not see the injection: it cannot detect one")
			} else {
				t.Logf("TIOCSTI does not work on this host even without a sandbox (dev.tty.legacy_tiocsti = %q): the checks below prove less", legacy)
			}
		}
	})
	t.Run("run", func(t *testing.T) {
		b := bundleWithHelper(t)
		p := newHDPTY(t)
		r := p.run(t, cmdTimeout, h.bin, "run", "--bundle", b.dir, newID(t))
		if r.err != nil || r.code != 0 {
			t.Errorf("run: %s", r.describe())
		}
		t.Logf("run: %q", r.stdout)
		hdCheckNoInjection(t, "run", p, r.stdout, marker)
	})
	t.Run("create/start", func(t *testing.T) {
		b := bundleWithHelper(t)
		p := newHDPTY(t)
		id := newID(t)
		if r := p.run(t, cmdTimeout, h.bin, "create", "--bundle", b.dir, id); r.err != nil || r.code != 0 {
			t.Fatalf("create: %s", r.describe())
		}
		mustOCI(t, "start", id)
		waitState(t, id, specs.StateStopped)
		time.Sleep(200 * time.Millisecond)
		hdCheckNoInjection(t, "create/start", p, p.output(), marker)
	})
	t.Run("exec", func(t *testing.T) {
		b := bundleWithHelper(t)
		b.edit(func(s *specs.Spec) { shell(s, "while :; do sleep 0.2; done") })
		id := newID(t)
		mustOCI(t, "run", "-d", "--bundle", b.dir, id)
		p := newHDPTY(t)
		r := p.run(t, cmdTimeout, h.bin, "exec", id, "/tiocsti", marker)
		if r.err != nil || r.code != 0 {
			t.Errorf("exec: %s", r.describe())
		}
		hdCheckNoInjection(t, "exec", p, r.stdout, marker)
	})
}

// ---------------------------------------------------------------------------
// Mount destinations through symlinks.

// hdMounts returns the host's mount table (this process's: the tests run in
// the host's mount namespace) by mount ID.
func hdMounts(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out[f[0]] = f[4]
		}
	}
	return out
}

// TestHardeningMountSymlinks: a rootfs whose /proc, /dev or a mount target
// is a symlink out of it (relative, climbing with ../.., or absolute, naming
// a host path) never makes anything appear on the host, and the container
// either runs with the mount inside its root (where the symlink leads when
// resolved inside the rootfs) or is refused with a message naming the
// mount.
func TestHardeningMountSymlinks(t *testing.T) {
	need(t)
	tok := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	cases := []struct {
		name   string
		link   string // in the rootfs
		target string
		mount  *specs.Mount // added to the config (nil: the default mounts use link)
		inside string       // where the mount shows inside the root when resolved there
		check  string       // shell test that the mount is at inside
	}{
		{name: "proc relative", link: "/proc", target: "../../../../../../../tmp/ESCAPE-proc-" + tok,
			inside: "/tmp/ESCAPE-proc-" + tok, check: "[ -e /tmp/ESCAPE-proc-" + tok + "/self/status ]"},
		{name: "dev absolute", link: "/dev", target: "/tmp/ESCAPE-dev-" + tok,
			inside: "/tmp/ESCAPE-dev-" + tok, check: "[ -c /tmp/ESCAPE-dev-" + tok + "/null ]"},
		{name: "bind absolute", link: "/data", target: "/tmp/ESCAPE2-" + tok,
			mount:  &specs.Mount{Destination: "/data", Type: "bind", Options: []string{"rbind", "rw"}},
			inside: "/tmp/ESCAPE2-" + tok, check: "[ -f /tmp/ESCAPE2-" + tok + "/marker-" + tok + " ]"},
		{name: "bind up to the host", link: "/data", target: "../../..",
			mount:  &specs.Mount{Destination: "/data", Type: "bind", Options: []string{"rbind", "rw"}},
			inside: "/", check: "[ -f /marker-" + tok + " ]"},
		{name: "tmpfs below a symlinked directory", link: "/srv", target: "/tmp/ESCAPE3-" + tok,
			mount:  &specs.Mount{Destination: "/srv/sub", Type: "tmpfs", Options: []string{"size=1m"}},
			inside: "/tmp/ESCAPE3-" + tok + "/sub", check: "grep -q ' /tmp/ESCAPE3-" + tok + "/sub ' /proc/self/mountinfo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t)
			rootfs := filepath.Join(b.dir, "rootfs")
			if err := h.writeFileUser(filepath.Join(b.host, "marker-"+tok), []byte("marker\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			linkPath := filepath.Join(rootfs, c.link)
			if err := os.RemoveAll(linkPath); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(c.target, linkPath); err != nil {
				t.Fatal(err)
			}
			if err := h.chownUser(linkPath); err != nil {
				t.Fatal(err)
			}
			// Where the link leads on the host, lexically and absolutely.
			hostPaths := []string{filepath.Join(filepath.Dir(linkPath), c.target)}
			if filepath.IsAbs(c.target) {
				hostPaths = append(hostPaths, c.target)
			}
			for _, p := range hostPaths {
				if exists(p) && !strings.Contains(p, tok) {
					continue // an existing host directory (../../..): watched through the mount table
				}
				if exists(p) {
					t.Fatalf("%s exists before the test", p)
				}
				t.Cleanup(func() { os.RemoveAll(p) })
			}
			b.edit(func(s *specs.Spec) {
				if c.mount != nil {
					m := *c.mount
					if m.Type == "bind" {
						m.Source = b.host
					}
					s.Mounts = append(s.Mounts, m)
				}
				s.Process.Args = []string{"/bin/sh", "-c", "if " + c.check + "; then echo MOUNT-INSIDE; else echo MOUNT-MISSING; fi; exit 42"}
			})
			before := hdMounts(t)
			r := b.run(t)
			after := hdMounts(t)
			t.Logf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)

			switch {
			case r.err != nil:
				t.Errorf("run: %s", r.describe())
			case r.code == 42 && strings.Contains(r.stdout, "MOUNT-INSIDE"):
				// Resolved inside the rootfs: fine.
			case r.code == 42:
				t.Errorf("the container ran without its mount at %s (where %s -> %s leads inside the rootfs): the mount landed outside the container's root, silently",
					c.inside, c.link, c.target)
			default:
				msg := strings.TrimSpace(r.stderr)
				dest := c.link
				if c.mount != nil {
					dest = c.mount.Destination
				}
				if !strings.Contains(msg, dest) && !strings.Contains(msg, c.link) {
					t.Errorf("refused (exit %d) without naming the mount %s: %q", r.code, dest, msg)
				}
				if strings.Count(msg, "\n") > 0 {
					t.Errorf("refused with several lines on stderr: %q", msg)
				}
			}
			for _, p := range hostPaths {
				// Inside the bundle is where a symlink resolved in the
				// rootfs correctly leads.
				if strings.Contains(p, tok) && exists(p) && !strings.HasPrefix(p, b.dir+"/") {
					t.Errorf("%s was created on the host", p)
				}
			}
			if exists(filepath.Join(filepath.Dir(linkPath), c.target, "marker-"+tok)) && !strings.HasPrefix(filepath.Join(filepath.Dir(linkPath), c.target), b.dir) {
				t.Errorf("the bind source shows on the host at %s", filepath.Join(filepath.Dir(linkPath), c.target))
			}
			for id, mp := range after {
				if _, ok := before[id]; ok {
					continue
				}
				suspicious := strings.Contains(mp, tok) || strings.HasPrefix(mp, b.dir)
				for _, p := range hostPaths {
					suspicious = suspicious || mp == p
				}
				if suspicious {
					t.Errorf("a new mount appeared on the host at %s", mp)
				} else {
					t.Logf("new host mount (not ours?): %s", mp)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// State.

// hdCheckPrivate checks that path and everything below it is owned by the
// test user, directories 0700, files no more than 0600.
func hdCheckPrivate(t *testing.T, path string) {
	t.Helper()
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil // removed meanwhile
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != h.uid {
			t.Errorf("%s is owned by uid %d, want the caller %d", p, st.Uid, h.uid)
		}
		perm := fi.Mode().Perm()
		switch {
		case fi.IsDir() && perm != 0o700:
			t.Errorf("directory %s has mode %#o, want 0700", p, perm)
		case !fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0 && perm&0o177 != 0:
			t.Errorf("%s (%s) has mode %#o, want 0600 or less", p, fi.Mode().Type(), perm)
		case fi.Mode()&fs.ModeSymlink != 0:
			t.Errorf("%s is a symlink", p)
		}
		return nil
	})
	if err != nil {
		t.Errorf("walking %s: %v", path, err)
	}
}

// hdRoot makes a private state root for one test: the default one is
// shared with whatever else runs as the test user at the same time.
func hdRoot(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(h.base, fmt.Sprintf("root-%s-%d", slug(t), seq.Add(1)))
	if err := h.mkdirUser(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// hdEntries lists a state root, without bwrap's probe cache and the userns
// keepers' directory (the user's, not a container's).
func hdEntries(root string) []string {
	ents, _ := os.ReadDir(root)
	var names []string
	for _, e := range ents {
		if e.Name() != ".bwrap-features.json" && e.Name() != keeper.Dir && e.Name() != istate.FreeDir {
			names = append(names, e.Name())
		}
	}
	return names
}

// hdLeftovers lists the processes (other than this one) whose command line
// holds one of marks, or whose root or working directory is below one of
// them, waiting up to two seconds for them to go.
func hdLeftovers(marks ...string) []string {
	var left []string
	deadline := time.Now().Add(2 * time.Second)
	for {
		left = left[:0]
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() || !procAlive(pid) {
				continue
			}
			cmdline := procCmdline(pid)
			root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
			cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
			for _, m := range marks {
				if m != "" && (strings.Contains(cmdline, m) || strings.HasPrefix(root, m) || strings.HasPrefix(cwd, m)) {
					left = append(left, fmt.Sprintf("%d (%s)", pid, cmdline))
					break
				}
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hdExpectFailure runs the binary with --root root and checks the error
// contract: a non-zero exit, one line on stderr matching every pattern,
// the state root unchanged and no process left that marks name.
func hdExpectFailure(t *testing.T, root string, marks, patterns []string, args ...string) result {
	t.Helper()
	before := hdEntries(root)
	r := oci(t, append([]string{"--root", root}, args...)...)
	if r.code == 0 || r.code == -1 {
		t.Errorf("want a non-zero exit, got %s", r.describe())
	}
	msg := strings.TrimSuffix(r.stderr, "\n")
	t.Logf("stderr: %.300q", r.stderr)
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("want exactly one line on stderr, got %q", r.stderr)
	}
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(msg) {
			t.Errorf("stderr %.300q does not match %q", msg, p)
		}
	}
	if after := hdEntries(root); strings.Join(before, "/") != strings.Join(after, "/") {
		t.Errorf("state root changed: before %q, after %q", before, after)
	}
	if left := hdLeftovers(marks...); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
	return r
}

// TestHardeningStateFiles: the state root, each container's directory and
// every file in it are private to the caller, for a created and a running
// container; a state root with a looser mode is tightened, one owned by
// someone else refused.
func TestHardeningStateFiles(t *testing.T) {
	b := sleeper(t)
	running := newID(t)
	startDetached(t, b, running)
	cb := newBundle(t)
	created := newID(t)
	mustOCI(t, "create", "--bundle", cb.dir, created)
	if !exists(filepath.Join(statePath(created), "exec.fifo")) {
		t.Logf("no exec.fifo in %s", statePath(created))
	}
	fi, err := os.Stat(h.stateRoot)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != h.uid {
		t.Errorf("state root %s: mode %#o uid %d, want 0700 and the caller's %d", h.stateRoot, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, h.uid)
	}
	ents, _ := os.ReadDir(h.stateRoot)
	for _, e := range ents {
		if !e.IsDir() {
			hdCheckPrivate(t, filepath.Join(h.stateRoot, e.Name()))
		}
	}
	hdCheckPrivate(t, statePath(running))
	hdCheckPrivate(t, statePath(created))
	mustOCI(t, "delete", "--force", created)

	t.Run("loose root tightened", func(t *testing.T) {
		root := filepath.Join(h.base, fmt.Sprintf("loose-root-%d", seq.Add(1)))
		if err := h.mkdirUser(root); err != nil { // 0755
			t.Fatal(err)
		}
		rb := newBundle(t)
		rb.edit(func(s *specs.Spec) { shell(s, "true") })
		id := newID(t)
		mustOCI(t, "--root", root, "run", "--bundle", rb.dir, id)
		hdCheckPrivate(t, root)
	})
	t.Run("foreign root refused", func(t *testing.T) {
		if !h.switchUser {
			t.Skip("needs root to make a directory owned by someone else")
		}
		root, err := os.MkdirTemp("", "bwrap-oci-foreign-root-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(root) })
		if err := os.Chmod(root, 0o777); err != nil {
			t.Fatal(err)
		}
		rb := newBundle(t)
		rb.edit(func(s *specs.Spec) { rb.hostMount(s); shell(s, "touch /host/ran") })
		id := newID(t)
		hdExpectFailure(t, root, []string{id, rb.dir}, []string{`owned by uid 0`}, "run", "--bundle", rb.dir, id)
		if exists(filepath.Join(rb.host, "ran")) {
			t.Errorf("the container ran with a state root owned by root")
		}
		// Nothing may be read from or written to a state root that is not
		// the caller's (not even bwrap's probe cache, which it trusts).
		if ents, _ := os.ReadDir(root); len(ents) != 0 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("the runtime wrote into a state root owned by root: %v", names)
		}
	})
}

// TestHardeningStateIDs: no ID, whatever the command, names a path outside
// the state root or creates anything. (A NUL byte cannot reach the runtime
// through argv at all: internal/state tests ValidateID with one.)
func TestHardeningStateIDs(t *testing.T) {
	b := newBundle(t)
	root := hdRoot(t)
	b.edit(func(s *specs.Spec) { b.hostMount(s); shell(s, "touch /host/ran") })
	tok := fmt.Sprintf("%d-%d", os.Getpid(), seq.Add(1))
	ids := []string{
		"../escape-" + tok,
		"../../escape-" + tok,
		"a/b-" + tok,
		"/tmp/abs-" + tok,
		".",
		"..",
		"-" + tok,
		"x y-" + tok,
		"\u00e9t\u00e9-" + tok,
		"id\n" + tok,
		strings.Repeat("a", 256),
		strings.Repeat("b", 5000),
	}
	cmds := [][]string{
		{"run", "--bundle", b.dir},
		{"create", "--bundle", b.dir},
		{"start"},
		{"state"},
		{"kill"},
		{"delete", "--force"},
		{"exec"},
		{"ps"},
	}
	for _, id := range ids {
		for _, cmd := range cmds {
			name := fmt.Sprintf("%s %.24q", cmd[0], id)
			t.Run(name, func(t *testing.T) {
				args := append([]string{}, cmd...)
				if strings.HasPrefix(id, "-") {
					args = append(args, "--")
				}
				args = append(args, id)
				if cmd[0] == "exec" {
					args = append(args, "true")
				}
				hdExpectFailure(t, root, []string{b.dir}, []string{`invalid container ID`}, args...)
				for _, p := range []string{
					filepath.Join(root, id),
					filepath.Join(root, filepath.Dir(id)),
					filepath.Clean(id),
				} {
					if strings.Contains(p, tok) && exists(p) {
						t.Errorf("%s exists", p)
						os.RemoveAll(p)
					}
				}
				if exists(filepath.Join(b.host, "ran")) {
					os.Remove(filepath.Join(b.host, "ran"))
					t.Errorf("the container ran with ID %q", id)
				}
			})
		}
	}
}

// TestHardeningStateSymlink: a container directory in the state root that
// is a symlink to a directory elsewhere (holding a state.json that names a
// process of the user) is not followed: state, kill and delete refuse it,
// the process lives and the directory it points to is left alone.
func TestHardeningStateSymlink(t *testing.T) {
	b := sleeper(t)
	victim := newID(t)
	startDetached(t, b, victim) // makes sure the state root exists
	st := state(t, victim)

	forged := filepath.Join(b.dir, "forged")
	if err := h.mkdirUser(forged); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("e2e-forged-%d-%d", os.Getpid(), seq.Add(1))
	data, _ := json.Marshal(map[string]any{"ociVersion": "1.2.0", "id": id, "bundle": b.dir, "pid": st.Pid,
		"status": "running", "owner": h.uid, "created": time.Now().UTC()})
	if err := h.writeFileUser(filepath.Join(forged, "state.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(h.stateRoot, id)
	if err := os.Symlink(forged, link); err != nil {
		t.Fatal(err)
	}
	if err := h.chownUser(link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link) })
	for _, args := range [][]string{{"state", id}, {"kill", id, "KILL"}, {"delete", "--force", id}, {"exec", id, "true"}} {
		r := oci(t, args...)
		if r.code == 0 {
			t.Errorf("%v through a symlinked container directory: succeeded: %s", args, r.describe())
		}
	}
	if !procAlive(st.Pid) {
		t.Errorf("the process %d named by the forged state was killed", st.Pid)
	}
	if !exists(filepath.Join(forged, "state.json")) {
		t.Errorf("the directory the symlink points to was emptied")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Logf("the planted symlink was removed or replaced (%v)", err)
	}
}

// TestHardeningForeignState: a state.json (or container directory) owned by
// someone else is not trusted: state, kill, delete, exec, start and ps refuse
// the container, which keeps running; list still lists it, as unreadable,
// and succeeds.
func TestHardeningForeignState(t *testing.T) {
	chkNeedRoot(t)
	b := sleeper(t)
	id := newID(t)
	startDetached(t, b, id)
	pid := state(t, id).Pid
	stateFile := filepath.Join(statePath(id), "state.json")
	const other = 65534
	for _, target := range []string{stateFile, statePath(id)} {
		t.Run(filepath.Base(target), func(t *testing.T) {
			if err := os.Lchown(target, other, other); err != nil {
				t.Fatal(err)
			}
			restore := func() { _ = os.Lchown(target, int(h.uid), int(h.gid)) }
			t.Cleanup(restore)
			for _, args := range [][]string{
				{"state", id}, {"kill", id, "KILL"}, {"delete", id}, {"delete", "--force", id},
				{"exec", id, "true"}, {"start", id}, {"ps", id},
			} {
				r := oci(t, args...)
				msg := strings.TrimSpace(r.stderr)
				if r.code == 0 {
					t.Errorf("%v with %s owned by uid %d: succeeded: %s", args, target, other, r.describe())
				} else if !strings.Contains(msg, "owned by uid 65534") || strings.Contains(msg, "\n") {
					t.Errorf("%v: want one line saying it is owned by uid 65534, got %q", args, msg)
				}
			}
			if !procAlive(pid) {
				t.Fatalf("the container's process %d died", pid)
			}
			if !exists(stateFile) {
				t.Fatalf("the state file was removed")
			}
			r := mustOCI(t, "list")
			var line string
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(l, id+" ") {
					line = l
				}
			}
			// Unreadable: no status, no pid, the reason instead of the bundle.
			if f := strings.Fields(line); len(f) < 4 || f[1] != "0" || f[2] != "unknown" || !strings.HasPrefix(f[3], "(") {
				t.Errorf("list: want %s shown as unreadable (pid 0, status unknown, the reason in parentheses), got line %q in\n%s", id, line, r.stdout)
			}
			r = mustOCI(t, "list", "--format", "json")
			var items []map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
				t.Fatalf("list --format json: %v\n%s", err, r.stdout)
			}
			found := false
			for _, it := range items {
				if it["id"] == id {
					found = true
					if e, _ := it["error"].(string); e == "" || it["status"] != "unknown" {
						t.Errorf("list --format json: %s has status %v and error %q, want status unknown and the reason", id, it["status"], e)
					}
					if p, _ := it["pid"].(float64); p != 0 {
						t.Errorf("list --format json: the untrusted state's pid %v is shown", p)
					}
				}
			}
			if !found {
				t.Errorf("list --format json does not list %s", id)
			}
			restore()
		})
	}
	mustOCI(t, "delete", "--force", id)
}

// ---------------------------------------------------------------------------
// Setuid bwrap.

// setuidBwrap copies bwrap to a directory of its own, owned by root, mode
// 4755.
func setuidBwrap(t *testing.T) string {
	t.Helper()
	chkNeedRoot(t)
	orig, err := lookPath("bwrap", userPath)
	if err != nil {
		t.Skip(err)
	}
	dir := chkTempDir(t)
	fake := filepath.Join(dir, "bwrap")
	chkCopy(t, orig, fake, 0o755)
	if err := os.Chown(fake, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(fake, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	return fake
}

// TestHardeningSetuidBwrap: with a setuid-root bwrap (--bwrap), a config
// that maps more than the caller's own ids is refused before anything runs,
// with one line that says the bwrap is setuid.
//
// Single-id configs (only the caller's uid and gid mapped, as `bwrap-oci
// spec --rootless` writes for a user without /etc/subuid): bwrap-oci
// writes the maps itself through --userns-block-fd, and a setuid bwrap
// refuses --cap-add (unless run by root) and --size. What the test demands
// is the contract: within 20 seconds, either the container runs as the
// configured id, or the runtime refuses with one line that names the
// setuid bwrap and does not blame a mapping of more ids than the config
// has; no state and no process is left behind.
func TestHardeningSetuidBwrap(t *testing.T) {
	fake := setuidBwrap(t)
	t.Run("several ids", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) { b.hostMount(s); noMappings(s, 0); shell(s, "touch /host/ran") })
		id := newID(t)
		hdExpectFailure(t, hdRoot(t), []string{id, b.dir}, []string{`setuid`, regexp.QuoteMeta(fake) + `|bwrap`}, "--bwrap", fake, "run", "--bundle", b.dir, id)
		if exists(filepath.Join(b.host, "ran")) {
			t.Errorf("the container ran")
		}
	})
	single := func(s *specs.Spec) {
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.uid, Size: 1}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.gid, Size: 1}}
		s.Process.User.UID, s.Process.User.GID = 0, 0
		shell(s, "id -u; cat /proc/self/uid_map")
	}
	for _, c := range []struct {
		name string
		edit func(s *specs.Spec)
	}{
		{"single id, default config", func(s *specs.Spec) {}},
		{"single id, no capabilities, no tmpfs size", func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{}
			for i := range s.Mounts {
				var opts []string
				for _, o := range s.Mounts[i].Options {
					if !strings.HasPrefix(o, "size=") {
						opts = append(opts, o)
					}
				}
				s.Mounts[i].Options = opts
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t)
			b.edit(func(s *specs.Spec) { single(s); c.edit(s) })
			id := newID(t)
			root := hdRoot(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r := h.exec(ctx, execOpts{}, h.bin, "--root", root, "--bwrap", fake, "run", "--bundle", b.dir, id)
			t.Logf("setuid bwrap, %s: %s", c.name, r.describe())
			msg := strings.TrimSpace(r.stderr)
			switch {
			case r.err != nil:
				t.Errorf("run with a setuid bwrap did not finish: %s", r.describe())
			case r.code == 0:
				if lines := strings.Fields(r.stdout); len(lines) < 4 || lines[0] != "0" || lines[2] != strconv.Itoa(int(h.uid)) || lines[3] != "1" {
					t.Errorf("ran, but not as uid 0 mapped to the caller alone: %q", r.stdout)
				}
			default:
				if !strings.Contains(msg, "setuid") {
					t.Errorf("refused without saying the bwrap is setuid: %q", msg)
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("refused with several lines on stderr: %q", msg)
				}
				if strings.Contains(msg, "more ids must be mapped") || strings.Contains(msg, "more than one id") {
					t.Errorf("refused blaming more ids than the config maps (it maps one): %q", msg)
				}
			}
			if r.err != nil {
				// Timed out: what is left is what the hang left.
				if left := hdEntries(root); len(left) > 0 {
					t.Logf("state left by the hung run: %v", left)
				}
				h.exec(context.Background(), execOpts{}, h.bin, "--root", root, "delete", "--force", id)
			}
			if left := hdEntries(root); r.err == nil && len(left) > 0 {
				t.Errorf("state left behind: %v", left)
			}
			if left := hdLeftovers(id, b.dir); len(left) > 0 {
				t.Errorf("processes left behind: %v", left)
			}
		})
	}
}
