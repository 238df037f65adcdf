package e2e

// The runc-compatible command line that engines (Podman through conmon,
// containerd through go-runc, CRI-O) drive: create/start, exec and its
// flags, --console-socket, --preserve-fds, ps, kill --all, features,
// --version, the global flags and the error texts engines match on.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// oneLineErr checks a failed command: non-zero exit and one line on stderr
// containing every want (any of the alternatives separated by "|").
func oneLineErr(t *testing.T, r result, wants ...string) {
	t.Helper()
	if r.code == 0 || r.code == -1 {
		t.Errorf("want a failure, got %s", r.describe())
		return
	}
	msg := strings.TrimSuffix(r.stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("want exactly one line on stderr, got %q", r.stderr)
	}
	for _, w := range wants {
		ok := false
		for _, alt := range strings.Split(w, "|") {
			ok = ok || strings.Contains(msg, alt)
		}
		if !ok {
			t.Errorf("stderr %q does not contain %q", msg, w)
		}
	}
}

// TestEngineCreateStart: create holds the process before it runs; start
// releases it once; a stopped container keeps its state until delete.
func TestEngineCreateStart(t *testing.T) {
	b := sleeper(t)
	id := newID(t)
	pidFile := filepath.Join(b.dir, "create.pid")
	ready := filepath.Join(b.host, "ready")

	mustOCI(t, "create", "--bundle", b.dir, "--pid-file", pidFile, "--no-pivot", "--no-new-keyring", id)
	st := state(t, id)
	if st.Status != specs.StateCreated || st.Pid <= 0 || st.ID != id || st.Bundle != b.dir {
		t.Fatalf("state after create = %+v, want status created, a pid, id %s, bundle %s", st, id, b.dir)
	}
	if !procAlive(st.Pid) {
		t.Errorf("state's pid %d is not a live process", st.Pid)
	}
	if got := pidFromFile(t, pidFile); got != st.Pid {
		t.Errorf("--pid-file holds %d, state's pid is %d", got, st.Pid)
	}
	if e, ok := findEntry(listJSON(t), id); !ok || e.Status != "created" || e.Pid != st.Pid {
		t.Errorf("list after create: %+v (found %v), want created with pid %d", e, ok, st.Pid)
	}
	time.Sleep(300 * time.Millisecond)
	if exists(ready) {
		t.Fatalf("the process ran before start (%s exists)", ready)
	}
	if st := state(t, id); st.Status != specs.StateCreated {
		t.Errorf("state 300ms after create = %s, want still created", st.Status)
	}

	mustOCI(t, "start", id)
	waitFor(t, 10*time.Second, "the process to run after start", func() bool { return exists(ready) })
	if st2 := state(t, id); st2.Status != specs.StateRunning || st2.Pid != st.Pid {
		t.Errorf("state after start = %+v, want running with pid %d", st2, st.Pid)
	}
	oneLineErr(t, oci(t, "start", id), id)
	if st2 := state(t, id); st2.Status != specs.StateRunning || !procAlive(st.Pid) {
		t.Errorf("a second start disturbed the container: %+v", st2)
	}

	mustOCI(t, "kill", id, "KILL")
	stopped := waitState(t, id, specs.StateStopped)
	if stopped.Pid != 0 {
		t.Errorf("state of a stopped container has pid %d, want 0", stopped.Pid)
	}
	if stopped.ID != id || stopped.Bundle != b.dir {
		t.Errorf("state of a stopped container = %+v, want id and bundle kept", stopped)
	}
	oneLineErr(t, oci(t, "exec", id, "true"), "not running")
	oneLineErr(t, oci(t, "start", id), id)
	oneLineErr(t, oci(t, "kill", id, "TERM"), "container not running|no such process")
	oneLineErr(t, oci(t, "kill", "--all", id, "KILL"), "container not running|no such process")
	if pids := psPids(t, nil, id); len(pids) != 0 {
		t.Errorf("ps --format json of a stopped container = %v, want []", pids)
	}
	mustOCI(t, "delete", id)
	oneLineErr(t, oci(t, "state", id), "does not exist")
}

// TestEngineDeleteCreated: a created container can be deleted, as with
// runc (containerd deletes a task that never started without --force),
// and its held process goes away.
func TestEngineDeleteCreated(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			b := sleeper(t)
			id := newID(t)
			mustOCI(t, "create", "--bundle", b.dir, id)
			pid := state(t, id).Pid
			args := []string{"delete", id}
			if force {
				args = []string{"delete", "--force", id}
			}
			if r := oci(t, args...); r.code != 0 {
				t.Fatalf("%v of a created container: %s", args, r.describe())
			}
			waitFor(t, 5*time.Second, "the created container's process to go away", func() bool { return !procAlive(pid) })
			if exists(statePath(id)) {
				t.Errorf("state dir %s left after delete", statePath(id))
			}
			if exists(filepath.Join(b.host, "ready")) {
				t.Errorf("the process of a created container ran on delete")
			}
		})
	}
}

// TestEngineExec: exec's flags and their effects in a running container.
func TestEngineExec(t *testing.T) {
	b := sleeper(t)
	b.edit(func(s *specs.Spec) { s.Process.NoNewPrivileges = false })
	cfg := b.spec()
	id := newID(t)
	startDetached(t, b, id)
	initPid := state(t, id).Pid

	t.Run("output and exit status", func(t *testing.T) {
		r := oci(t, "exec", id, "sh", "-c", "echo out; echo err >&2; exit 7")
		if r.code != 7 || r.stdout != "out\n" || r.stderr != "err\n" {
			t.Errorf("want exit 7, stdout \"out\\n\", stderr \"err\\n\"; got %s", r.describe())
		}
		if r := oci(t, "exec", id, "true"); r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("exec true: %s", r.describe())
		}
	})
	t.Run("env", func(t *testing.T) {
		r := mustOCI(t, "exec", "-e", "TERM=dumb", "--env", "E2E_NEW=1", "--env=E2E_EQ=a=b", id, "env")
		env := strings.Split(strings.TrimSpace(r.stdout), "\n")
		var terms []string
		for _, e := range env {
			if strings.HasPrefix(e, "TERM=") {
				terms = append(terms, e)
			}
		}
		if !slices.Equal(terms, []string{"TERM=dumb"}) {
			t.Errorf("TERM in the environment: %v, want only TERM=dumb (-e overrides the config's)", terms)
		}
		for _, want := range []string{"E2E_NEW=1", "E2E_EQ=a=b", cfg.Process.Env[0]} {
			if !slices.Contains(env, want) {
				t.Errorf("environment %q lacks %q", env, want)
			}
		}
	})
	t.Run("cwd", func(t *testing.T) {
		for _, c := range [][]string{{"--cwd", "/tmp"}, {"--cwd=/etc"}} {
			want := strings.TrimPrefix(c[len(c)-1], "--cwd=")
			r := mustOCI(t, append(append([]string{"exec"}, c...), id, "pwd")...)
			if got := strings.TrimSpace(r.stdout); got != want {
				t.Errorf("exec %v pwd = %q, want %q", c, got, want)
			}
		}
		if got := strings.TrimSpace(mustOCI(t, "exec", id, "pwd").stdout); got != cfg.Process.Cwd {
			t.Errorf("exec pwd without --cwd = %q, want the config's %q", got, cfg.Process.Cwd)
		}
	})
	t.Run("user", func(t *testing.T) {
		for _, c := range []struct {
			flags []string
			want  string
		}{
			{[]string{"-u", "1000:1000"}, "1000 1000"},
			{[]string{"--user=1000:1001"}, "1000 1001"},
			{[]string{"--user", "1000"}, fmt.Sprintf("1000 %d", cfg.Process.User.GID)},
			{nil, fmt.Sprintf("%d %d", cfg.Process.User.UID, cfg.Process.User.GID)},
		} {
			r := mustOCI(t, append(append([]string{"exec"}, c.flags...), id, "sh", "-c", `echo "$(id -u) $(id -g)"`)...)
			if got := strings.TrimSpace(r.stdout); got != c.want {
				t.Errorf("exec %v: uid gid = %q, want %q", c.flags, got, c.want)
			}
		}
		oneLineErr(t, oci(t, "exec", "-u", "nobody", id, "true"), "--user")
	})
	t.Run("additional gids", func(t *testing.T) {
		r := mustOCI(t, "exec", "-u", "1000:1000", "-g", "5", "--additional-gids", "6", id, "id", "-G")
		if got := strings.Fields(r.stdout); !slices.Equal(got, []string{"1000", "5", "6"}) {
			t.Errorf("id -G = %v, want [1000 5 6]", got)
		}
	})
	t.Run("cap", func(t *testing.T) {
		base, err := CapMask(cfg.Process.Capabilities.Effective)
		if err != nil {
			t.Fatal(err)
		}
		withAdmin, err := CapMask(append(slices.Clone(cfg.Process.Capabilities.Effective), "CAP_SYS_ADMIN"))
		if err != nil {
			t.Fatal(err)
		}
		r := mustOCI(t, "exec", id, "grep", "Cap", "/proc/self/status")
		if got := procStatusField(r.stdout, "CapEff"); got != base {
			t.Errorf("CapEff without --cap = %s, want the config's %s", got, base)
		}
		for _, flags := range [][]string{{"--cap", "CAP_SYS_ADMIN"}, {"--cap=CAP_SYS_ADMIN"}} {
			r = mustOCI(t, append(append([]string{"exec"}, flags...), id, "grep", "Cap", "/proc/self/status")...)
			for _, f := range []string{"CapEff", "CapPrm", "CapBnd"} {
				if got := procStatusField(r.stdout, f); got != withAdmin {
					t.Errorf("exec %v: %s = %s, want %s (the config's set and CAP_SYS_ADMIN)", flags, f, got, withAdmin)
				}
			}
		}
		// It really is usable: root in the container may mount a tmpfs.
		if r := oci(t, "exec", "--cap", "CAP_SYS_ADMIN", id, "sh", "-c", "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted"); r.code != 0 || strings.TrimSpace(r.stdout) != "mounted" {
			t.Errorf("mount with --cap CAP_SYS_ADMIN: %s", r.describe())
		}
		if r := oci(t, "exec", id, "sh", "-c", "mkdir -p /tmp/n && mount -t tmpfs none /tmp/n"); r.code == 0 {
			t.Errorf("mount without CAP_SYS_ADMIN succeeded")
		}
	})
	t.Run("no-new-privs", func(t *testing.T) {
		r := mustOCI(t, "exec", id, "grep", "NoNewPrivs", "/proc/self/status")
		if got := procStatusField(r.stdout, "NoNewPrivs"); got != "0" {
			t.Errorf("NoNewPrivs without --no-new-privs (config noNewPrivileges false) = %q, want 0", got)
		}
		r = mustOCI(t, "exec", "--no-new-privs", id, "grep", "NoNewPrivs", "/proc/self/status")
		if got := procStatusField(r.stdout, "NoNewPrivs"); got != "1" {
			t.Errorf("NoNewPrivs with --no-new-privs = %q, want 1", got)
		}
	})
	t.Run("process file", func(t *testing.T) {
		p := specs.Process{
			Args: []string{"sh", "-c", `echo "$E2E_FROM $(pwd) $(id -u) $(id -g)"`},
			Env:  []string{"PATH=/bin:/usr/bin", "E2E_FROM=file"},
			Cwd:  "/tmp",
			User: specs.User{UID: 1000, GID: 1000},
		}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(b.dir, "process.json")
		if err := h.writeFileUser(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(mustOCI(t, "exec", "--process", file, id).stdout); got != "file /tmp 1000 1000" {
			t.Errorf("exec --process: %q, want \"file /tmp 1000 1000\"", got)
		}
		// Flags apply on top of the file.
		got := strings.TrimSpace(mustOCI(t, "exec", "--process="+file, "--cwd", "/etc", "-e", "E2E_FROM=flag", id).stdout)
		if got != "flag /etc 1000 1000" {
			t.Errorf("exec --process with --cwd and -e: %q, want \"flag /etc 1000 1000\"", got)
		}
		bad := filepath.Join(b.dir, "bad-process.json")
		if err := h.writeFileUser(bad, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
		oneLineErr(t, oci(t, "exec", "--process", bad, id), "--process", bad)
		oneLineErr(t, oci(t, "exec", "--process", filepath.Join(b.dir, "missing.json"), id), "--process")
	})
	t.Run("missing command", func(t *testing.T) {
		r := oci(t, "exec", id, "e2e-no-such-command")
		if r.code != 127 || !strings.Contains(r.stderr, "executable file not found in $PATH") {
			t.Errorf("want exit 127 and \"executable file not found in $PATH\", got %s", r.describe())
		}
		r = oci(t, "exec", id, "/no/such/file")
		if r.code != 127 || !strings.Contains(r.stderr, "no such file or directory") {
			t.Errorf("want exit 127 and \"no such file or directory\", got %s", r.describe())
		}
		r = oci(t, "exec", id, "/etc/passwd")
		if r.code != 126 || !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("want exit 126 and \"permission denied\", got %s", r.describe())
		}
		oneLineErr(t, oci(t, "exec", id), "give a command or --process")
	})
	t.Run("fds", func(t *testing.T) {
		fds := strings.Fields(mustOCI(t, "exec", id, "ls", "/proc/self/fd").stdout)
		var extra []string
		for _, fd := range fds {
			if fd != "0" && fd != "1" && fd != "2" {
				extra = append(extra, fd)
			}
		}
		if len(fds) < 3 || fds[0] != "0" || len(extra) > 1 {
			t.Errorf("open fds in the exec'd process = %v, want 0 1 2 and at most one more (ls's own)", fds)
		}
	})
	t.Run("pid namespace", func(t *testing.T) {
		want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPid))
		if err != nil {
			t.Fatal(err)
		}
		r := mustOCI(t, "exec", id, "sh", "-c", "readlink /proc/1/ns/pid; readlink /proc/self/ns/pid; echo $$")
		got := strings.Fields(r.stdout)
		if len(got) != 3 {
			t.Fatalf("exec output %q, want three lines", r.stdout)
		}
		if got[0] != want || got[1] != want {
			t.Errorf("exec: /proc/1/ns/pid = %s, /proc/self/ns/pid = %s; want both %s (the init's on the host)", got[0], got[1], want)
		}
		if own, _ := os.Readlink("/proc/self/ns/pid"); got[1] == own {
			t.Errorf("the exec'd process is in the host's PID namespace %s", own)
		}
		if got[2] == "1" {
			t.Errorf("the exec'd process is pid 1 in the container")
		}
	})
	t.Run("detach and pid-file", func(t *testing.T) {
		pidFile := filepath.Join(b.dir, "exec.pid")
		start := time.Now()
		mustOCI(t, "exec", "-d", "--pid-file", pidFile, id, "sleep", "1234")
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("exec -d took %v", d)
		}
		pid := pidFromFile(t, pidFile)
		if !procAlive(pid) {
			t.Fatalf("exec --pid-file: pid %d is not alive", pid)
		}
		var sleeper int
		waitFor(t, 5*time.Second, "ps to list the exec'd sleep", func() bool {
			for _, p := range psPids(t, nil, id) {
				if procCmdline(p) == "sleep 1234" {
					sleeper = p
					return true
				}
			}
			return false
		})
		// The pid file's process waits for the exec'd one and ends with it.
		if err := syscallKill(sleeper); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the pid file's process to end with the exec'd one", func() bool { return !procAlive(pid) })
		if st := state(t, id); st.Status != specs.StateRunning {
			t.Errorf("killing an exec'd process stopped the container: %+v", st)
		}
	})
	t.Run("unknown ID", func(t *testing.T) {
		oneLineErr(t, oci(t, "exec", id+"-nope", "true"), "does not exist")
	})
}

// TestEngineExecConsole: exec -t --console-socket sends the master of a
// terminal that is the process's controlling terminal.
func TestEngineExecConsole(t *testing.T) {
	b := sleeper(t)
	id := newID(t)
	startDetached(t, b, id)
	script := `tty; echo "ctty=$(cut -d' ' -f7 /proc/self/stat)"; read line; echo "got-$line"; echo e2e-done`

	check := func(t *testing.T, out string) {
		t.Helper()
		if !regexp.MustCompile(`(?m)^/dev/pts/\d+\r?$`).MatchString(out) {
			t.Errorf("tty inside printed no /dev/pts/N: %q", out)
		}
		if m := regexp.MustCompile(`ctty=(\d+)`).FindStringSubmatch(out); m == nil || m[1] == "0" {
			t.Errorf("the terminal is not the process's controlling terminal (tty_nr): %q", out)
		}
		if !strings.Contains(out, "got-hello") || !strings.Contains(out, "e2e-done") {
			t.Errorf("input through the terminal did not reach the process: %q", out)
		}
	}

	t.Run("foreground", func(t *testing.T) {
		sock := newConsoleSocket(t, b.dir)
		done := make(chan result, 1)
		go func() { done <- oci(t, "exec", "-t", "--console-socket", sock.path, id, "sh", "-c", script) }()
		master, _, err := sock.receive(15 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer master.Close()
		if !isPtyMaster(master) {
			t.Errorf("the descriptor received is not a pty master")
		}
		if _, err := master.Write([]byte("hello\n")); err != nil {
			t.Fatal(err)
		}
		check(t, readPTY(master, "e2e-done", 15*time.Second))
		if r := <-done; r.code != 0 {
			t.Errorf("exec -t: %s", r.describe())
		}
	})
	t.Run("detached", func(t *testing.T) {
		sock := newConsoleSocket(t, b.dir)
		pidFile := filepath.Join(b.dir, "exec-tty.pid")
		mustOCI(t, "exec", "-d", "--tty", "--console-socket="+sock.path, "--pid-file", pidFile, id, "sh", "-c", script)
		// As with runc, the master has been sent when exec -d returns.
		conn, err := sock.accept(0)
		if err != nil {
			t.Fatalf("exec -d returned before connecting to the console socket: %v", err)
		}
		defer syscallClose(conn)
		master, _, err := recvMaster(conn, 0)
		if err != nil {
			t.Errorf("exec -d returned before sending the terminal's master: %v", err)
			if master, _, err = recvMaster(conn, 15*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		defer master.Close()
		if _, err := master.Write([]byte("hello\n")); err != nil {
			t.Fatal(err)
		}
		check(t, readPTY(master, "e2e-done", 15*time.Second))
	})
	t.Run("detached without socket", func(t *testing.T) {
		oneLineErr(t, oci(t, "exec", "-d", "-t", id, "true"), "--console-socket")
	})
}

// TestEngineCreateConsole: create with process.terminal and
// --console-socket sends the master before it returns.
func TestEngineCreateConsole(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		s.Process.Terminal = true
		shell(s, `tty; echo "ctty=$(cut -d' ' -f7 /proc/self/stat)"; read line; echo "got-$line"; echo e2e-done; sleep 100`)
	})
	id := newID(t)
	oneLineErr(t, oci(t, "create", "--bundle", b.dir, id), "--console-socket")
	if exists(statePath(id)) {
		t.Errorf("a failed create left %s", statePath(id))
	}

	sock := newConsoleSocket(t, b.dir)
	mustOCI(t, "create", "--bundle", b.dir, "--console-socket", sock.path, id)
	conn, err := sock.accept(0)
	if err != nil {
		t.Fatalf("create returned without connecting to the console socket: %v", err)
	}
	defer syscallClose(conn)
	master, _, err := recvMaster(conn, 0)
	if err != nil {
		t.Fatalf("create returned before sending the terminal's master: %v", err)
	}
	defer master.Close()
	if !isPtyMaster(master) {
		t.Errorf("the descriptor received is not a pty master")
	}
	if st := state(t, id); st.Status != specs.StateCreated {
		t.Errorf("state after create = %s, want created", st.Status)
	}
	mustOCI(t, "start", id)
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	out := readPTY(master, "e2e-done", 15*time.Second)
	// The terminal is allocated before bwrap starts, from the host's
	// devpts; bwrap's --dev binds it at /dev/console, which is the name
	// the process sees (docs/engines.md).
	if !regexp.MustCompile(`(?m)^/dev/(console|pts/\d+)\r?$`).MatchString(out) {
		t.Errorf("tty inside printed no terminal name: %q", out)
	}
	if m := regexp.MustCompile(`ctty=(\d+)`).FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Errorf("the terminal is not the process's controlling terminal (tty_nr): %q", out)
	}
	if !strings.Contains(out, "got-hello") {
		t.Errorf("input through the terminal did not reach the process: %q", out)
	}
}

// TestEnginePreserveFDs: --preserve-fds N passes fds 3..3+N-1 to the
// process (run, create, exec); without it nothing beyond stdio passes.
func TestEnginePreserveFDs(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) { shell(s, "cat /proc/self/fd/3") })
	secret := userFile(t, b.dir, "fd3.txt", "e2e-fd3-content\n")

	t.Run("run", func(t *testing.T) {
		for _, flags := range [][]string{{"--preserve-fds", "1"}, {"--preserve-fds=1"}} {
			if _, err := secret.Seek(0, 0); err != nil {
				t.Fatal(err)
			}
			args := append(append([]string{"run", "--bundle", b.dir}, flags...), newID(t))
			r := ociExtra(t, []*os.File{secret}, args...)
			if r.code != 0 || r.stdout != "e2e-fd3-content\n" {
				t.Errorf("run %v: want the file's content through /proc/self/fd/3, got %s", flags, r.describe())
			}
		}
		r := ociExtra(t, []*os.File{secret}, "run", "--bundle", b.dir, newID(t))
		if r.code == 0 || strings.Contains(r.stdout, "e2e-fd3-content") {
			t.Errorf("run without --preserve-fds: fd 3 reached the container: %s", r.describe())
		}
	})
	t.Run("create", func(t *testing.T) {
		cb := newBundle(t)
		cb.edit(func(s *specs.Spec) {
			cb.hostMount(s)
			shell(s, "cat /proc/self/fd/3 > /host/fd3; touch /host/ready")
		})
		id := newID(t)
		r := ociExtra(t, []*os.File{secret}, "create", "--bundle", cb.dir, "--preserve-fds", "1", id)
		if r.code != 0 {
			t.Fatalf("create --preserve-fds 1: %s", r.describe())
		}
		mustOCI(t, "start", id)
		waitFor(t, 10*time.Second, "the process to run", func() bool { return exists(filepath.Join(cb.host, "ready")) })
		if got := readFile(filepath.Join(cb.host, "fd3")); got != "e2e-fd3-content\n" {
			t.Errorf("create --preserve-fds 1: the process read %q through /proc/self/fd/3", got)
		}
	})
	t.Run("exec", func(t *testing.T) {
		sb := sleeper(t)
		id := newID(t)
		startDetached(t, sb, id)
		r := ociExtra(t, []*os.File{secret}, "exec", "--preserve-fds", "1", id, "cat", "/proc/self/fd/3")
		if r.code != 0 || r.stdout != "e2e-fd3-content\n" {
			t.Errorf("exec --preserve-fds 1: %s", r.describe())
		}
		r = ociExtra(t, []*os.File{secret}, "exec", id, "cat", "/proc/self/fd/3")
		if r.code == 0 || strings.Contains(r.stdout, "e2e-fd3-content") {
			t.Errorf("exec without --preserve-fds: fd 3 reached the process: %s", r.describe())
		}
	})
}

// TestEnginePsKillAll: ps lists the container's processes (init and
// exec'd), never the runtime's binary; kill --all stops every one.
func TestEnginePsKillAll(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		b.hostMount(s)
		shell(s, "sleep 1000 & sleep 1000 & touch /host/ready; wait")
	})
	id := newID(t)
	pidFile := filepath.Join(b.dir, "run.pid")
	startDetached(t, b, id, "--pid-file", pidFile)
	initPid := state(t, id).Pid
	if got := pidFromFile(t, pidFile); got != initPid {
		t.Errorf("run -d --pid-file holds %d, state's pid is %d", got, initPid)
	}
	mustOCI(t, "exec", "-d", id, "sleep", "1001")

	var pids []int
	waitFor(t, 5*time.Second, "ps to list the init, two sleeps and the exec'd sleep", func() bool {
		pids = psPids(t, nil, id)
		n := 0
		for _, p := range pids {
			if procCmdline(p) == "sleep 1001" {
				n++
			}
		}
		return n == 1 && len(pids) >= 4
	})
	if !slices.Contains(pids, initPid) {
		t.Errorf("ps --format json = %v, want the init pid %d", pids, initPid)
	}
	initNS, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPid))
	binFi, _ := os.Stat(h.bin)
	for _, p := range pids {
		if !procAlive(p) {
			t.Errorf("ps: pid %d is not alive", p)
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p)); ns != initNS {
			t.Errorf("ps: pid %d (%s) is not in the container's PID namespace", p, procCmdline(p))
		}
		if fi, err := os.Stat(fmt.Sprintf("/proc/%d/exe", p)); err == nil && binFi != nil && os.SameFile(fi, binFi) {
			t.Errorf("pid %d in the container runs the runtime's binary %s", p, h.bin)
		}
	}
	if again := psPids(t, nil, id); !slices.Equal(again, pids) {
		t.Logf("ps --format json changed between calls: %v then %v", pids, again)
	}
	var viaEq []int
	if err := json.Unmarshal([]byte(mustOCI(t, "ps", "--format=json", id).stdout), &viaEq); err != nil || len(viaEq) == 0 {
		t.Errorf("ps --format=json: %v %v", viaEq, err)
	}

	for _, args := range [][]string{{"ps", id}, {"ps", "--format", "table", id}} {
		out := mustOCI(t, args...).stdout
		if !strings.Contains(out, "PID") || !strings.Contains(out, "sleep 1001") || !strings.Contains(out, "sleep 1000") {
			t.Errorf("%v: want a table with PID and the commands, got:\n%s", args, out)
		}
		if !strings.Contains(out, strconv.Itoa(initPid)) {
			t.Errorf("%v: the init pid %d is not listed:\n%s", args, initPid, out)
		}
	}
	oneLineErr(t, oci(t, "ps", "--format", "yaml", id), "--format")
	oneLineErr(t, oci(t, "ps", id+"-nope"), "does not exist")

	mustOCI(t, "kill", "-a", id, "SIGKILL")
	waitFor(t, 10*time.Second, fmt.Sprintf("every process of %v to go away", pids), func() bool {
		return !slices.ContainsFunc(pids, procAlive)
	})
	if st := waitState(t, id, specs.StateStopped); st.Pid != 0 {
		t.Errorf("state after kill --all: pid %d, want 0", st.Pid)
	}
	oneLineErr(t, oci(t, "kill", "--all", id, "KILL"), "container not running|no such process")
	mustOCI(t, "delete", id)
}

// TestEngineFeaturesVersion: features is the runtime spec's document;
// --version is runc's three lines.
func TestEngineFeaturesVersion(t *testing.T) {
	need(t)
	r := mustOCI(t, "--version")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 || !regexp.MustCompile(`^bwrap-oci version \S+$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^commit: \S+$`).MatchString(lines[1]) || !regexp.MustCompile(`^spec: 1\.\d+\.\d+`).MatchString(lines[2]) {
		t.Errorf("--version = %q, want \"bwrap-oci version X\", \"commit: ...\", \"spec: 1.x.y\"", lines)
	}

	r = mustOCI(t, "features")
	var f features.Features
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		t.Fatalf("features: not JSON: %v\n%s", err, r.stdout)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(r.stdout), &raw)
	if _, ok := raw["ociVersionMax"].(string); !ok {
		t.Errorf("features: no ociVersionMax string")
	}
	if len(lines) == 3 && f.OCIVersionMax != strings.TrimPrefix(lines[2], "spec: ") {
		t.Errorf("features: ociVersionMax %q, want %q (the --version spec line)", f.OCIVersionMax, strings.TrimPrefix(lines[2], "spec: "))
	}
	if f.OCIVersionMin == "" {
		t.Errorf("features: no ociVersionMin")
	}
	if f.Linux == nil {
		t.Fatalf("features: no linux object")
	}
	for _, ns := range []string{"user", "pid", "mount", "network", "ipc", "uts"} {
		if !slices.Contains(f.Linux.Namespaces, ns) {
			t.Errorf("features: linux.namespaces %v lacks %q", f.Linux.Namespaces, ns)
		}
	}
	oneLineErr(t, oci(t, "features", "extra"), "")
}

// TestEngineLog: --log and --log-format json, as engines read them.
func TestEngineLog(t *testing.T) {
	need(t)
	dir := filepath.Join(h.base, fmt.Sprintf("log-%d", seq.Add(1)))
	if err := h.mkdirUser(dir); err != nil {
		t.Fatal(err)
	}
	missing := fmt.Sprintf("e2e-never-created-%d", seq.Add(1))

	t.Run("json error", func(t *testing.T) {
		log := filepath.Join(dir, "error.json")
		r := oci(t, "--log", log, "--log-format", "json", "state", missing)
		oneLineErr(t, r, "does not exist")
		lines := jsonLogLines(t, log)
		if len(lines) == 0 {
			t.Fatalf("nothing in %s", log)
		}
		last := lines[len(lines)-1]
		if last["level"] != "error" {
			t.Errorf("last log line level %v, want error: %v", last["level"], last)
		}
		if msg, _ := last["msg"].(string); !strings.Contains(msg, "does not exist") || !strings.Contains(msg, missing) {
			t.Errorf("last log line msg %q, want the error", msg)
		}
		ts, _ := last["time"].(string)
		if tm, err := time.Parse(time.RFC3339Nano, ts); err != nil || time.Since(tm) > time.Minute || time.Since(tm) < -time.Minute {
			t.Errorf("log line time %q is not a current RFC 3339 time (%v)", ts, err)
		}
	})
	t.Run("json flag=value", func(t *testing.T) {
		log := filepath.Join(dir, "eq.json")
		oneLineErr(t, oci(t, "--log="+log, "--log-format=json", "kill", missing), "does not exist")
		if lines := jsonLogLines(t, log); len(lines) != 1 || lines[0]["level"] != "error" {
			t.Errorf("--log=FILE --log-format=json: log lines %v, want one error", lines)
		}
	})
	t.Run("text", func(t *testing.T) {
		log := filepath.Join(dir, "error.txt")
		oneLineErr(t, oci(t, "--log", log, "delete", missing), "does not exist")
		got := readFile(log)
		if !strings.Contains(got, "level=error") || !strings.Contains(got, "does not exist") {
			t.Errorf("--log text: %q, want a level=error line with the message", got)
		}
	})
	t.Run("warning to the file only", func(t *testing.T) {
		b := newBundle(t)
		limit := int64(256 << 20)
		b.edit(func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
			shell(s, "echo ran")
		})
		// Control: without --log the warning is on stderr.
		r := b.run(t)
		if r.code != 0 || !strings.Contains(r.stderr, "linux.resources") {
			t.Fatalf("the config should run with a linux.resources warning on stderr: %s", r.describe())
		}
		log := filepath.Join(dir, "warning.json")
		// --log is global: before the command, as engines give it, and
		// after it.
		for _, args := range [][]string{
			{"--log", log, "--log-format", "json", "run", "--bundle", b.dir, newID(t)},
			{"run", "--log=" + log, "--log-format=json", "--bundle", b.dir, newID(t)},
		} {
			r := oci(t, args...)
			if r.code != 0 || r.stdout != "ran\n" {
				t.Errorf("%v: %s", args, r.describe())
			}
			if r.stderr != "" {
				t.Errorf("%v: with --log, warnings must go only to the file; stderr: %q", args, r.stderr)
			}
		}
		warned := 0
		for _, l := range jsonLogLines(t, log) {
			msg, _ := l["msg"].(string)
			if l["level"] == "warning" && strings.Contains(msg, "linux.resources") {
				warned++
			}
			if l["level"] == "error" {
				t.Errorf("unexpected error line in %s: %v", log, l)
			}
		}
		if warned != 2 {
			t.Errorf("%d warnings about linux.resources in %s, want one per run:\n%s", warned, log, readFile(log))
		}
	})
	t.Run("bad format", func(t *testing.T) {
		oneLineErr(t, oci(t, "--log-format", "yaml", "state", missing), "--log-format", "yaml")
		oneLineErr(t, oci(t, "--log-format=xml", "list"), "--log-format", "xml")
	})
}

// TestEngineGlobalFlags: the global flags engines pass are accepted, in
// both --flag value and --flag=value forms.
func TestEngineGlobalFlags(t *testing.T) {
	b := sleeper(t)
	root := filepath.Join(b.dir, "state-root")
	id := newID(t)
	t.Cleanup(func() { oci(t, "--root", root, "delete", "--force", id) })
	pidFile := filepath.Join(b.dir, "run.pid")

	r := oci(t, "--root="+root, "--debug", "--systemd-cgroup", "--cgroup-manager=systemd", "--rootless=true",
		"run", "-d", "--bundle="+b.dir, "--pid-file="+pidFile, "--no-pivot", "--no-new-keyring", id)
	if r.code != 0 {
		t.Fatalf("run -d with the global flags engines pass: %s", r.describe())
	}
	if !strings.Contains(r.stderr, "cgroup") {
		t.Errorf("--debug --systemd-cgroup: want a report that cgroups are not managed on stderr, got %q", r.stderr)
	}
	waitFor(t, 10*time.Second, "the container to start", func() bool { return exists(filepath.Join(b.host, "ready")) })

	for _, g := range [][]string{{"--root", root}, {"--root=" + root}} {
		r := mustOCI(t, append(g, "state", id)...)
		var s specs.State
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatal(err)
		}
		if s.Status != specs.StateRunning || s.Pid != pidFromFile(t, pidFile) {
			t.Errorf("%v state: %+v, want running with the pid file's pid %d", g, s, pidFromFile(t, pidFile))
		}
	}
	oneLineErr(t, oci(t, "state", id), "does not exist")
	if exists(statePath(id)) {
		t.Errorf("%s exists though --root= was given", statePath(id))
	}
	for _, flags := range [][]string{
		{"--rootless", "false", "--cgroup-manager", "cgroupfs"},
		{"--rootless=auto", "--cgroup-manager=disabled"},
		{"--systemd-cgroup"},
	} {
		if r := oci(t, append(append([]string{"--root", root}, flags...), "list", "-q")...); r.code != 0 || strings.TrimSpace(r.stdout) != id {
			t.Errorf("list with %v: %s", flags, r.describe())
		}
	}
	oneLineErr(t, oci(t, "--rootless=maybe", "--root", root, "list"), "--rootless")
	mustOCI(t, "--root", root, "kill", id, "KILL")
	waitFor(t, 10*time.Second, "the container to stop", func() bool {
		return strings.Contains(mustOCI(t, "--root", root, "state", id).stdout, `"stopped"`)
	})
	mustOCI(t, "--root="+root, "delete", id)
}
