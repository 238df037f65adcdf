package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// probeName is argv[0] under which the test binary acts as a hook (see
// probe): so the probe also proves that args[0] reaches the hook.
const probeName = "bwoci-hook-probe"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == probeName {
		os.Exit(probe(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// probe records what a hook sees into DIR/NAME.*, appends NAME to
// DIR/order, then behaves as asked: args DIR NAME [exit:N | sleep].
func probe(args []string) int {
	if len(args) < 2 {
		return 99
	}
	dir, name := args[0], args[1]
	w := func(suffix string, data []byte) { _ = os.WriteFile(filepath.Join(dir, name+"."+suffix), data, 0o644) }
	stdin := new(bytes.Buffer)
	_, _ = stdin.ReadFrom(os.Stdin)
	w("stdin", stdin.Bytes())
	cmdline, _ := os.ReadFile("/proc/self/cmdline")
	w("cmdline", cmdline)
	environ, _ := os.ReadFile("/proc/self/environ")
	w("environ", environ)
	w("ns", []byte(nsSummary("self")))
	host, _ := os.Hostname()
	w("hostname", []byte(host))
	cwd, _ := os.Getwd()
	w("cwd", []byte(cwd))
	w("pid", []byte(strconv.Itoa(os.Getpid())))
	f, err := os.OpenFile(filepath.Join(dir, "order"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		fmt.Fprintln(f, name)
		f.Close()
	}
	for _, a := range args[2:] {
		switch {
		case strings.HasPrefix(a, "exit:"):
			n, _ := strconv.Atoi(strings.TrimPrefix(a, "exit:"))
			fmt.Fprint(os.Stderr, "first line\nlast words\n\n")
			return n
		case a == "stdout-only":
			fmt.Println("said on stdout")
			return 4
		case a == "sleep":
			// A child in the hook's process group, then wait forever.
			c := exec.Command("/bin/sleep", "1000")
			if err := c.Start(); err != nil {
				return 98
			}
			w("child", []byte(strconv.Itoa(c.Process.Pid)))
			time.Sleep(time.Hour)
		case a == "daemon":
			// A child that outlives the hook, holding its stdio.
			c := exec.Command("/bin/sleep", "1000")
			c.Stdout, c.Stderr = os.Stdout, os.Stderr
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := c.Start(); err != nil {
				return 98
			}
			w("child", []byte(strconv.Itoa(c.Process.Pid)))
			return 0
		}
	}
	return 0
}

func nsSummary(pid string) string {
	var b strings.Builder
	for _, k := range []string{"user", "mnt", "pid", "net", "uts", "ipc"} {
		l, _ := os.Readlink("/proc/" + pid + "/ns/" + k)
		fmt.Fprintf(&b, "%s\n", l)
	}
	return b.String()
}

// probeHook makes a hook that runs the probe as NAME with extra args.
func probeHook(t *testing.T, dir, name string, env []string, extra ...string) specs.Hook {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return specs.Hook{Path: self, Args: append([]string{probeName, dir, name}, extra...), Env: env}
}

func read(t *testing.T, dir, name, suffix string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name+"."+suffix))
	if err != nil {
		t.Fatalf("hook %s did not record its %s: %v", name, suffix, err)
	}
	return string(data)
}

func order(dir string) []string {
	data, _ := os.ReadFile(filepath.Join(dir, "order"))
	return strings.Fields(string(data))
}

func testState(bundle string, pid int) *specs.State {
	return &specs.State{Version: specs.Version, ID: "hooks-test", Status: specs.StateCreating, Pid: pid,
		Bundle: bundle, Annotations: map[string]string{"org.example": "yes"}}
}

func intp(n int) *int { return &n }

// TestRuntimeHooks: in order, each with the state on stdin, its exact
// argv (args[0] included) and env, in the runtime's namespaces, with the
// bundle as working directory.
func TestRuntimeHooks(t *testing.T) {
	dir, bundle := t.TempDir(), t.TempDir()
	env := []string{"A=1", "B=two words", "A=dup", "PATH=/nowhere"}
	list := []specs.Hook{
		probeHook(t, dir, "h0", env, "x", ""),
		probeHook(t, dir, "h1", nil),
		probeHook(t, dir, "h2", []string{"ONLY=this"}),
	}
	list[1].Timeout = intp(30)
	st := testState(bundle, os.Getpid())
	for _, k := range []Kind{Prestart, CreateRuntime, Poststart, Poststop} {
		t.Run(string(k), func(t *testing.T) {
			os.Remove(filepath.Join(dir, "order"))
			if err := Run(context.Background(), k, list, st); err != nil {
				t.Fatal(err)
			}
			if got := order(dir); !reflect.DeepEqual(got, []string{"h0", "h1", "h2"}) {
				t.Errorf("order %v, want h0 h1 h2", got)
			}
			var got specs.State
			if err := json.Unmarshal([]byte(read(t, dir, "h1", "stdin")), &got); err != nil {
				t.Fatalf("stdin is not JSON: %v", err)
			}
			if !reflect.DeepEqual(&got, st) {
				t.Errorf("stdin state %+v, want %+v", got, *st)
			}
			wantArgv := strings.Join(list[0].Args, "\x00") + "\x00"
			if got := read(t, dir, "h0", "cmdline"); got != wantArgv {
				t.Errorf("argv %q, want %q", got, wantArgv)
			}
			if got := read(t, dir, "h0", "environ"); got != strings.Join(env, "\x00")+"\x00" {
				t.Errorf("env %q, want exactly %q", got, env)
			}
			if got := read(t, dir, "h1", "environ"); got != "" {
				t.Errorf("a hook without env got %q, want nothing", got)
			}
			if got := read(t, dir, "h2", "environ"); got != "ONLY=this\x00" {
				t.Errorf("env %q, want ONLY=this", got)
			}
			if got := read(t, dir, "h0", "ns"); got != nsSummary("self") {
				t.Errorf("namespaces %q, want the runtime's %q", got, nsSummary("self"))
			}
			if got := read(t, dir, "h0", "cwd"); got != bundle {
				t.Errorf("cwd %q, want the bundle %q", got, bundle)
			}
		})
	}
}

// TestNoArgs: without args, argv is the path alone.
func TestNoArgs(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$0 $#\" > \"$(dirname \"$0\")/out\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), CreateRuntime, []specs.Hook{{Path: script}}, testState(dir, 1)); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(readFileT(t, filepath.Join(dir, "out"))); got != script+" 0" {
		t.Errorf("script saw %q, want %q", got, script+" 0")
	}
}

func readFileT(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestFailureStops: a failing hook of a kind that fails the operation stops
// the rest; the error names the kind, the index, the path, the status and
// the last line of stderr.
func TestFailureStops(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []Kind{Prestart, CreateRuntime} {
		os.Remove(filepath.Join(dir, "order"))
		list := []specs.Hook{probeHook(t, dir, "ok", nil), probeHook(t, dir, "bad", nil, "exit:3"), probeHook(t, dir, "never", nil)}
		err := Run(context.Background(), k, list, testState(dir, 1))
		want := fmt.Sprintf("hooks.%s[1]: %s exited 3: last words", k, list[1].Path)
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", k, err, want)
		}
		if got := order(dir); !reflect.DeepEqual(got, []string{"ok", "bad"}) {
			t.Errorf("%s: hooks run %v, want ok bad (and no more)", k, got)
		}
	}
	// Without stderr, the last line of stdout.
	list := []specs.Hook{probeHook(t, dir, "quiet", nil, "stdout-only")}
	err := Run(context.Background(), CreateRuntime, list, testState(dir, 1))
	if want := fmt.Sprintf("hooks.createRuntime[0]: %s exited 4: said on stdout", list[0].Path); err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

// TestFailureContinues: a failed poststart or poststop hook does not stop
// the others; every failure comes back, one line each.
func TestFailureContinues(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []Kind{Poststart, Poststop} {
		os.Remove(filepath.Join(dir, "order"))
		list := []specs.Hook{probeHook(t, dir, "a", nil, "exit:1"), probeHook(t, dir, "b", nil), {Path: "/nonexistent/hook"}}
		err := Run(context.Background(), k, list, testState(dir, 1))
		if got := order(dir); !reflect.DeepEqual(got, []string{"a", "b"}) {
			t.Errorf("%s: hooks run %v, want a b", k, got)
		}
		errs := Errors(err)
		want := []string{
			fmt.Sprintf("hooks.%s[0]: %s exited 1: last words", k, list[0].Path),
			fmt.Sprintf("hooks.%s[2]: /nonexistent/hook: no such file or directory", k),
		}
		if len(errs) != len(want) {
			t.Fatalf("%s: errors %q, want %q", k, err, want)
		}
		for i := range want {
			if errs[i].Error() != want[i] {
				t.Errorf("%s: error %d %q, want %q", k, i, errs[i], want[i])
			}
		}
	}
}

// TestNotExecutable: a path that cannot be executed is named with why.
func TestNotExecutable(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, want string
	}{
		{"/nonexistent/hook", "hooks.prestart[0]: /nonexistent/hook: no such file or directory"},
		{plain, "hooks.prestart[0]: " + plain + ": permission denied"},
		{"relative/hook", `hooks.prestart[0].path: "relative/hook" must be an absolute path`},
	} {
		err := Run(context.Background(), Prestart, []specs.Hook{{Path: c.path}}, testState(dir, 1))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: error %v, want %q", c.path, err, c.want)
		}
	}
}

// TestTimeout: a hook that outlives its timeout is killed with its whole
// process group, and the error says so.
func TestTimeout(t *testing.T) {
	dir := t.TempDir()
	list := []specs.Hook{probeHook(t, dir, "slow", nil, "sleep"), probeHook(t, dir, "after", nil)}
	list[0].Timeout = intp(1)
	start := time.Now()
	err := Run(context.Background(), CreateRuntime, list, testState(dir, 1))
	took := time.Since(start)
	want := fmt.Sprintf("hooks.createRuntime[0]: %s timed out after 1s: killed", list[0].Path)
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if took < time.Second || took > 10*time.Second {
		t.Errorf("Run took %v, want about 1s", took)
	}
	if got := order(dir); !reflect.DeepEqual(got, []string{"slow"}) {
		t.Errorf("hooks run %v, want only slow", got)
	}
	child, _ := strconv.Atoi(read(t, dir, "slow", "child"))
	waitDead(t, child)
	hook, _ := strconv.Atoi(read(t, dir, "slow", "pid"))
	waitDead(t, hook)
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(data, ')'); i > 0 && i+2 < len(data) && (data[i+2] == 'Z' || data[i+2] == 'X') {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestContextCancel: cancelling the context kills the running hook.
func TestContextCancel(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	list := []specs.Hook{probeHook(t, dir, "slow", nil, "sleep")}
	err := Run(ctx, Prestart, list, testState(dir, 1))
	if err == nil || !strings.HasPrefix(err.Error(), "hooks.prestart[0]: "+list[0].Path+" was killed: context deadline exceeded") {
		t.Errorf("error %v, want it killed by the context", err)
	}
	child, _ := strconv.Atoi(read(t, dir, "slow", "child"))
	waitDead(t, child)
}

// TestDaemon: a hook may leave a daemon holding its stdout and stderr;
// Run returns when the hook itself exits.
func TestDaemon(t *testing.T) {
	dir := t.TempDir()
	list := []specs.Hook{probeHook(t, dir, "d", nil, "daemon")}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), Poststart, list, testState(dir, 1)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run waits for the hook's daemon")
	}
	child, _ := strconv.Atoi(read(t, dir, "d", "child"))
	if err := syscall.Kill(child, 0); err != nil {
		t.Errorf("the daemon did not survive the hook: %v", err)
	}
	_ = syscall.Kill(child, syscall.SIGKILL)
}

// TestSignal: a hook killed by a signal is reported with its name.
func TestSignal(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho dying >&2\nkill -TERM $$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), CreateRuntime, []specs.Hook{{Path: script, Env: []string{"PATH=/bin:/usr/bin"}}}, testState(dir, 1))
	if want := "hooks.createRuntime[0]: " + script + " was killed by SIGTERM: dying"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name  string
		hooks *specs.Hooks
		want  string // "" = valid
	}{
		{"nil", nil, ""},
		{"empty", &specs.Hooks{}, ""},
		{"good", &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true", Args: []string{"true"}, Env: []string{"A=1"}, Timeout: intp(3)}}}, ""},
		{"relative", &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}, {Path: "bin/true"}}},
			`hooks.createRuntime[1].path: "bin/true" must be an absolute path`},
		{"missing path", &specs.Hooks{Prestart: []specs.Hook{{}}},
			"hooks.prestart[0].path: missing: give the hook's executable, an absolute path"},
		{"zero timeout", &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true", Timeout: intp(0)}}},
			"hooks.poststart[0].timeout: must be greater than zero (got 0)"},
		{"negative timeout", &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}, {Path: "/bin/true", Timeout: intp(-5)}}},
			"hooks.poststop[1].timeout: must be greater than zero (got -5)"},
		{"NUL in args", &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true", Args: []string{"a", "b\x00c"}}}},
			"hooks.startContainer[0].args[1]: contains a NUL byte"},
		{"NUL in env", &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true", Env: []string{"A=\x00"}}}},
			"hooks.createContainer[0].env[0]: contains a NUL byte"},
		{"NUL in path", &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/\x00true"}}},
			"hooks.poststop[0].path: contains a NUL byte"},
	} {
		err := Validate(c.hooks)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var fe *FieldError
		if err == nil || err.Error() != c.want || !errors.As(err, &fe) || !strings.HasPrefix(c.want, fe.Field+": ") {
			t.Errorf("%s: error %v, want *FieldError %q", c.name, err, c.want)
		}
	}
}

func TestOfAndKinds(t *testing.T) {
	h := &specs.Hooks{
		Prestart: []specs.Hook{{Path: "/p"}}, CreateRuntime: []specs.Hook{{Path: "/cr"}},
		CreateContainer: []specs.Hook{{Path: "/cc"}}, StartContainer: []specs.Hook{{Path: "/sc"}},
		Poststart: []specs.Hook{{Path: "/ps"}}, Poststop: []specs.Hook{{Path: "/pt"}},
	}
	want := []string{"/p", "/cr", "/cc", "/sc", "/ps", "/pt"}
	for i, k := range Kinds {
		if got := Of(h, k); len(got) != 1 || got[0].Path != want[i] {
			t.Errorf("Of(%s) = %v", k, got)
		}
		if Of(nil, k) != nil {
			t.Errorf("Of(nil, %s) != nil", k)
		}
	}
	for _, k := range Kinds {
		in := k == CreateContainer || k == StartContainer
		if k.InContainer() != in || k.ResolvesInContainer() != (k == StartContainer) || k.Continues() != (k == Poststart || k == Poststop) {
			t.Errorf("%s: InContainer %v ResolvesInContainer %v Continues %v", k, k.InContainer(), k.ResolvesInContainer(), k.Continues())
		}
	}
}

// container is a process in namespaces of its own (user, mount, pid, uts,
// net, ipc), made by unshare, standing in for a container's process. In its
// mount namespace a tmpfs covers bin, holding its own copy of the hook.
type container struct {
	pid int // on the host
	cmd *exec.Cmd
}

func newContainer(t *testing.T, bin, out string) *container {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) not found")
	}
	script := fmt.Sprintf(`set -e
hostname in-the-container
mount -t tmpfs none %[1]s
printf '#!/bin/sh\necho "container copy $*" >> %[2]s/container-copy\ncat > %[2]s/container-copy.stdin\n' > %[1]s/hook
chmod 755 %[1]s/hook
touch %[2]s/ready
exec sleep 1000`, bin, out)
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
		"--uts", "--net", "--ipc", "/bin/sh", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(out, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			if strings.Contains(stderr.String(), "unshare failed") {
				t.Skipf("no unprivileged user namespaces here: %s", stderr.String())
			}
			t.Fatalf("the stand-in container did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The container's process: unshare's child, once it runs sleep.
	for {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		if f := strings.Fields(string(data)); len(f) == 1 {
			pid, _ := strconv.Atoi(f[0])
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "sleep" {
				return &container{pid: pid, cmd: cmd}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("cannot find the stand-in container's process")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestContainerHooks: createContainer and startContainer hooks run in every
// namespace of the container's process, with the pid as the container sees
// it; createContainer's path resolves on the host (the host's copy runs),
// startContainer's in the container (the container's copy runs).
func TestContainerHooks(t *testing.T) {
	base := t.TempDir()
	bin, out := filepath.Join(base, "bin"), filepath.Join(base, "out")
	for _, d := range []string{bin, out} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	// out is written from inside the container's user namespace, where the
	// test's uid is root, or unmapped: let anyone write there.
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	hostHook := filepath.Join(bin, "hook")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostHook, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// A shell script on the host, run in the container through its
	// descriptor: its interpreter opens it again as /dev/fd/N.
	hostScript := filepath.Join(bin, "script")
	if err := os.WriteFile(hostScript, []byte("#!/bin/sh\necho \"host script $*\" >> "+out+"/host-script\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := newContainer(t, bin, out)
	st := testState(base, c.pid)
	env := []string{"X=1", "Y=2"}

	cc := []specs.Hook{
		{Path: hostHook, Args: []string{probeName, out, "cc0"}, Env: env, Timeout: intp(20)},
		{Path: hostScript, Args: []string{"script", "one", "two"}},
	}
	if err := Run(context.Background(), CreateContainer, cc, st); err != nil {
		t.Fatal(err)
	}
	if got := read(t, out, "cc0", "ns"); got != nsSummary(strconv.Itoa(c.pid)) {
		t.Errorf("createContainer hook namespaces:\n%s\nwant the container's:\n%s", got, nsSummary(strconv.Itoa(c.pid)))
	}
	if got := read(t, out, "cc0", "hostname"); got != "in-the-container" {
		t.Errorf("createContainer hook hostname %q, want in-the-container", got)
	}
	if got := read(t, out, "cc0", "cmdline"); got != strings.Join(cc[0].Args, "\x00")+"\x00" {
		t.Errorf("argv %q, want %q", got, cc[0].Args)
	}
	if got := read(t, out, "cc0", "environ"); got != "X=1\x00Y=2\x00" {
		t.Errorf("env %q, want exactly X=1 Y=2", got)
	}
	var got specs.State
	if err := json.Unmarshal([]byte(read(t, out, "cc0", "stdin")), &got); err != nil {
		t.Fatal(err)
	}
	want := *st
	want.Pid = 1 // the container's process, as the container sees it
	if !reflect.DeepEqual(got, want) {
		t.Errorf("state on stdin %+v, want %+v", got, want)
	}
	if got := strings.TrimSpace(readFileT(t, filepath.Join(out, "host-script"))); got != "host script one two" {
		t.Errorf("host script (createContainer) wrote %q", got)
	}
	if _, err := os.Stat(filepath.Join(out, "container-copy")); err == nil {
		t.Errorf("createContainer ran the container's copy of the hook, not the host's")
	}

	sc := []specs.Hook{{Path: hostHook, Args: []string{"hook", "a", "b"}}}
	if err := Run(context.Background(), StartContainer, sc, st); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(readFileT(t, filepath.Join(out, "container-copy"))); got != "container copy a b" {
		t.Errorf("startContainer: the container's copy wrote %q, want \"container copy a b\"", got)
	}
	if err := json.Unmarshal([]byte(readFileT(t, filepath.Join(out, "container-copy.stdin"))), &got); err != nil || got.Pid != 1 {
		t.Errorf("startContainer state on stdin %+v (%v), want pid 1", got, err)
	}

	// A path that exists on the host only: startContainer does not find it.
	sc = []specs.Hook{{Path: hostScript}}
	err = Run(context.Background(), StartContainer, sc, st)
	if w := "hooks.startContainer[0]: " + hostScript + ": no such file or directory (the path resolves in the container)"; err == nil || err.Error() != w {
		t.Errorf("error %v, want %q", err, w)
	}
	// A failing hook in the container, and one killed by its timeout.
	cc = []specs.Hook{{Path: hostHook, Args: []string{probeName, out, "bad", "exit:7"}, Env: env}}
	err = Run(context.Background(), CreateContainer, cc, st)
	if w := "hooks.createContainer[0]: " + hostHook + " exited 7: last words"; err == nil || err.Error() != w {
		t.Errorf("error %v, want %q", err, w)
	}
	cc = []specs.Hook{{Path: hostHook, Args: []string{probeName, out, "slow", "sleep"}, Timeout: intp(1)}}
	err = Run(context.Background(), CreateContainer, cc, st)
	if w := "hooks.createContainer[0]: " + hostHook + " timed out after 1s: killed"; err == nil || err.Error() != w {
		t.Errorf("error %v, want %q", err, w)
	}
	// The hook and its child, seen from the host: both gone.
	for _, name := range []string{"child", "pid"} {
		inner, _ := strconv.Atoi(read(t, out, "slow", name))
		if host := hostPid(c.pid, inner); host > 0 {
			waitDead(t, host)
		}
	}
}

// hostPid finds the host pid of the process that is inner in the PID
// namespace of container (0 if there is none).
func hostPid(container, inner int) int {
	want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", container))
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); ns != want {
			continue
		}
		if p, err := nsPid(pid); err == nil && p == inner {
			return pid
		}
	}
	return 0
}

// TestContainerHookNoProcess: a container kind needs the container's pid.
func TestContainerHookNoProcess(t *testing.T) {
	err := Run(context.Background(), StartContainer, []specs.Hook{{Path: "/bin/true"}}, testState("/", 0))
	if err == nil || err.Error() != "hooks.startContainer: no container process to run the hooks in" {
		t.Errorf("error %v", err)
	}
}
