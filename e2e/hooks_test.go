package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookScript is what every hook of these tests runs, as busybox's sh (so
// that args[0] matters: busybox picks its applet by argv[0]). Arguments:
// DIR NAME [fail|sleep]. It records, in DIR/NAME.*, its stdin (the state),
// its exact argv and env (from /proc, as the kernel gave them), its
// hostname, its namespaces and its pid, and appends NAME to DIR/order.
const hookScript = `d=$1; n=$2
cat > "$d/$n.stdin"
cat /proc/$$/cmdline > "$d/$n.cmdline"
cat /proc/$$/environ > "$d/$n.environ"
cat /proc/sys/kernel/hostname > "$d/$n.hostname"
for k in mnt uts pid user net ipc; do readlink /proc/self/ns/$k; done > "$d/$n.ns"
echo $$ > "$d/$n.pid"
echo "$n" >> "$d/order"
case "$3" in
fail) echo "some detail" >&2; echo "hook $n failed on purpose" >&2; exit 3 ;;
sleep) sleep 1000 & echo $! > "$d/$n.child"; wait ;;
esac
exit 0`

// ctrScript records the container process's own namespaces and pid (as it
// sees it) in /host.
const ctrScript = `for k in mnt uts pid user net ipc; do readlink /proc/self/ns/$k; done > /host/ctr.ns
echo $$ > /host/ctr.pid
touch /host/ctr.ran
`

const (
	hooksHostname   = "hooks-ctr"
	hooksAnnotation = "org.example.hooks"
)

// hookKit makes hooks for a bundle. Hooks in the runtime's namespaces run
// the host's /bin/busybox and record into the bundle's host dir; those in
// the container's record into /host (the same dir, mounted). The
// createContainer hooks run a copy of busybox that exists only on the host
// (their path resolves in the runtime's namespace), the startContainer
// hooks one that exists only in the rootfs (theirs resolves in the
// container's).
type hookKit struct {
	b        *bundle
	busybox  string // the host's static busybox
	hostOnly string // on the host, not in the rootfs
	ctrOnly  string // in the rootfs, not on the host
}

func newHookKit(t *testing.T, b *bundle) *hookKit {
	t.Helper()
	busybox := os.Getenv("BUSYBOX")
	if busybox == "" {
		busybox = "/bin/busybox"
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	k := &hookKit{b: b, busybox: busybox, hostOnly: filepath.Join(b.dir, "hookbin", "busybox"), ctrOnly: "/hookbin/busybox"}
	for _, dir := range []string{filepath.Join(b.dir, "hookbin"), filepath.Join(b.dir, "rootfs", "hookbin")} {
		if err := h.mkdirUser(dir); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{k.hostOnly, filepath.Join(b.dir, "rootfs", k.ctrOnly)} {
		if err := h.writeFileUser(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if exists(k.ctrOnly) {
		t.Fatalf("%s exists on the host: the test cannot tell where a path resolves", k.ctrOnly)
	}
	return k
}

// hookEnv is the exact environment each hook must get.
func hookEnv(name string) []string {
	return []string{"PATH=/bin:/usr/bin", "HOOK_NAME=" + name, "SPACED=a b  c", "EMPTY="}
}

// hook returns a hook of the given kind named name; extra is "fail" or
// "sleep".
func (k *hookKit) hook(kind, name string, extra ...string) specs.Hook {
	path, dir := k.busybox, k.b.host
	switch kind {
	case "createContainer":
		path, dir = k.hostOnly, "/host"
	case "startContainer":
		path, dir = k.ctrOnly, "/host"
	}
	args := append([]string{"sh", "-c", hookScript, "hook-" + name, dir, name}, extra...)
	return specs.Hook{Path: path, Args: args, Env: hookEnv(name)}
}

// allHooks configures one hook of each kind (two createRuntime hooks) and
// returns their names in the order they must run.
func (k *hookKit) allHooks(s *specs.Spec) []string {
	s.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{k.hook("prestart", "prestart0")},
		CreateRuntime:   []specs.Hook{k.hook("createRuntime", "createRuntime0"), k.hook("createRuntime", "createRuntime1")},
		CreateContainer: []specs.Hook{k.hook("createContainer", "createContainer0")},
		StartContainer:  []specs.Hook{k.hook("startContainer", "startContainer0")},
		Poststart:       []specs.Hook{k.hook("poststart", "poststart0")},
		Poststop:        []specs.Hook{k.hook("poststop", "poststop0")},
	}
	return []string{"prestart0", "createRuntime0", "createRuntime1", "createContainer0", "startContainer0", "poststart0", "poststop0"}
}

// base configures what every hooks test needs: /host, a hostname of the
// container's own, an annotation.
func (k *hookKit) base(s *specs.Spec) {
	k.b.hostMount(s)
	s.Hostname = hooksHostname
	s.Annotations = map[string]string{hooksAnnotation: "yes"}
}

func (k *hookKit) read(name, what string) string {
	return readFile(filepath.Join(k.b.host, name+"."+what))
}

func (k *hookKit) order() []string { return strings.Fields(readFile(filepath.Join(k.b.host, "order"))) }

func (k *hookKit) pid(name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(k.read(name, "pid")))
	return n
}

func selfNS(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, ns := range []string{"mnt", "uts", "pid", "user", "net", "ipc"} {
		l, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// hookWant is what one hook must have seen.
type hookWant struct {
	name        string
	status      specs.ContainerState
	inContainer bool
	pid         int // 0: any pid > 0 (unchecked for stopped)
	id          string
	ctrNS       string // the container process's namespaces
}

// check verifies that hook w.name ran once with the state, args, env,
// namespaces and hostname it must have.
func (k *hookKit) check(t *testing.T, spec *specs.Hooks, w hookWant) {
	t.Helper()
	n := 0
	for _, o := range k.order() {
		if o == w.name {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s ran %d times, want once (order %v)", w.name, n, k.order())
		return
	}
	var hk specs.Hook
	for _, list := range [][]specs.Hook{spec.Prestart, spec.CreateRuntime, spec.CreateContainer, spec.StartContainer, spec.Poststart, spec.Poststop} {
		for _, x := range list {
			if x.Args[5] == w.name {
				hk = x
			}
		}
	}

	// The state on stdin.
	raw := k.read(w.name, "stdin")
	var st specs.State
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Errorf("%s: stdin is not the state JSON: %v: %q", w.name, err, raw)
	} else {
		if st.Version == "" || st.ID != w.id || st.Bundle != k.b.dir || st.Status != w.status || st.Annotations[hooksAnnotation] != "yes" {
			t.Errorf("%s: state %s, want ociVersion set, id %s, status %s, bundle %s, annotation %s=yes",
				w.name, raw, w.id, w.status, k.b.dir, hooksAnnotation)
		}
		switch {
		case w.status == specs.StateStopped:
		case w.pid != 0 && st.Pid != w.pid:
			t.Errorf("%s: state pid %d, want %d", w.name, st.Pid, w.pid)
		case st.Pid <= 0:
			t.Errorf("%s: state pid %d, want the container's process", w.name, st.Pid)
		}
	}
	// args (args[0] included) and env, exactly.
	if got, want := k.read(w.name, "cmdline"), strings.Join(hk.Args, "\x00")+"\x00"; got != want {
		t.Errorf("%s: argv %q, want %q", w.name, strings.Split(got, "\x00"), hk.Args)
	}
	if got, want := k.read(w.name, "environ"), strings.Join(hk.Env, "\x00")+"\x00"; got != want {
		t.Errorf("%s: env %q, want exactly %q", w.name, strings.Split(got, "\x00"), hk.Env)
	}
	// Namespaces and hostname.
	host, _ := os.Hostname()
	wantNS, wantHost, where := selfNS(t), host, "the runtime's"
	if w.inContainer {
		wantNS, wantHost, where = w.ctrNS, hooksHostname, "the container's"
	}
	if got := k.read(w.name, "ns"); got != wantNS {
		t.Errorf("%s: namespaces\n%swant %s\n%s", w.name, got, where, wantNS)
	}
	if got := strings.TrimSpace(k.read(w.name, "hostname")); got != wantHost {
		t.Errorf("%s: hostname %q, want %s %q", w.name, got, where, wantHost)
	}
}

// checkAll checks every hook of allHooks.
func (k *hookKit) checkAll(t *testing.T, spec *specs.Hooks, id string, hostPid int) {
	t.Helper()
	ctrNS := readFile(filepath.Join(k.b.host, "ctr.ns"))
	ctrPid, _ := strconv.Atoi(strings.TrimSpace(readFile(filepath.Join(k.b.host, "ctr.pid"))))
	if ctrNS == "" || ctrPid <= 0 {
		t.Fatalf("the container's process did not record itself (ns %q, pid %d)", ctrNS, ctrPid)
	}
	for _, w := range []hookWant{
		{name: "prestart0", status: specs.StateCreating, pid: hostPid},
		{name: "createRuntime0", status: specs.StateCreating, pid: hostPid},
		{name: "createRuntime1", status: specs.StateCreating, pid: hostPid},
		// In the container's namespaces: the pid as the container sees it.
		{name: "createContainer0", status: specs.StateCreating, inContainer: true, pid: ctrPid},
		{name: "startContainer0", status: specs.StateCreated, inContainer: true, pid: ctrPid},
		{name: "poststart0", status: specs.StateRunning, pid: hostPid},
		{name: "poststop0", status: specs.StateStopped},
	} {
		w.id, w.ctrNS = id, ctrNS
		k.check(t, spec, w)
	}
	// The runtime-namespace hooks all saw the same host pid of the
	// container's process, not the container's view of it (1).
	if p := k.stdinPid(t, "prestart0"); p == ctrPid {
		t.Errorf("prestart0: state pid %d is the container's view, want the host's", p)
	}
	for _, n := range []string{"createRuntime0", "createRuntime1", "poststart0"} {
		if a, b := k.stdinPid(t, "prestart0"), k.stdinPid(t, n); a != b {
			t.Errorf("%s saw pid %d, prestart0 %d: want the same container process", n, b, a)
		}
	}
}

func (k *hookKit) stdinPid(t *testing.T, name string) int {
	t.Helper()
	var st specs.State
	_ = json.Unmarshal([]byte(k.read(name, "stdin")), &st)
	return st.Pid
}

// TestHooksRun: run in the foreground runs every kind of hook once, in the
// lifecycle's order, each with the state (status creating, creating,
// creating, created, running, stopped), its exact args and env, in the
// runtime's namespaces or the container's as the spec says.
func TestHooksRun(t *testing.T) {
	b := newBundle(t)
	k := newHookKit(t, b)
	var want []string
	b.edit(func(s *specs.Spec) {
		k.base(s)
		want = k.allHooks(s)
		shell(s, ctrScript)
	})
	id := newID(t)
	r := oci(t, "run", "--bundle", b.dir, id)
	if r.code != 0 {
		t.Fatalf("run failed: %s", r.describe())
	}
	if got := k.order(); !reflect.DeepEqual(got, want) {
		t.Fatalf("hooks ran in the order %v, want %v\n%s", got, want, r.describe())
	}
	if !exists(filepath.Join(b.host, "ctr.ran")) {
		t.Fatal("the container's process did not run")
	}
	k.checkAll(t, b.spec().Hooks, id, 0)
	if exists(statePath(id)) {
		t.Errorf("state dir %s left after run", statePath(id))
	}
}

// TestHooksCreateStartDelete: create runs prestart, createRuntime and
// createContainer; start runs startContainer and, once the process runs,
// poststart; delete runs poststop after the container is gone.
func TestHooksCreateStartDelete(t *testing.T) {
	b := newBundle(t)
	k := newHookKit(t, b)
	var want []string
	b.edit(func(s *specs.Spec) {
		k.base(s)
		want = k.allHooks(s)
		shell(s, ctrScript+"while [ ! -e /host/go ]; do sleep 0.1; done")
	})
	spec := b.spec().Hooks
	id := newID(t)

	mustOCI(t, "create", "--bundle", b.dir, id)
	if got := k.order(); !reflect.DeepEqual(got, want[:4]) {
		t.Fatalf("after create, hooks ran %v, want %v", got, want[:4])
	}
	st := state(t, id)
	if st.Status != specs.StateCreated {
		t.Fatalf("after create: status %s, want created", st.Status)
	}
	if exists(filepath.Join(b.host, "ctr.ran")) {
		t.Fatal("the container's process ran before start")
	}

	mustOCI(t, "start", id)
	if got := k.order(); !reflect.DeepEqual(got, want[:6]) {
		t.Fatalf("after start, hooks ran %v, want %v", got, want[:6])
	}
	waitFor(t, 10*time.Second, "the container's process to run", func() bool { return exists(filepath.Join(b.host, "ctr.ran")) })

	if err := os.WriteFile(filepath.Join(b.host, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the container to stop", func() bool { return state(t, id).Status == specs.StateStopped })
	if got := k.order(); !reflect.DeepEqual(got, want[:6]) {
		t.Fatalf("before delete, hooks ran %v, want %v (poststop runs on delete)", got, want[:6])
	}
	mustOCI(t, "delete", id)
	if got := k.order(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after delete, hooks ran %v, want %v", got, want)
	}
	if exists(statePath(id)) {
		t.Errorf("state dir %s left after delete", statePath(id))
	}
	k.checkAll(t, spec, id, st.Pid)
}

// failedCleanly checks a failed command: a non-zero exit, one error line
// (warnings aside) matching want, no state dir, no process left.
func failedCleanly(t *testing.T, r result, id, want string, before map[int]bool, pids ...int) {
	t.Helper()
	if r.code == 0 || r.code == -1 {
		t.Errorf("want a non-zero exit, got %s", r.describe())
	}
	var errs []string
	for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, "bwrap-oci: warning: ") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], want) {
		t.Errorf("want one error line containing %q, got %q", want, errs)
	}
	if exists(statePath(id)) {
		t.Errorf("state dir %s left behind", statePath(id))
	}
	if r := oci(t, "state", id); r.code == 0 {
		t.Errorf("state %s succeeds after the failure: %s", id, r.stdout)
	}
	if left := newBwrapProcs(before); len(left) > 0 {
		t.Errorf("bwrap processes left behind: %v", left)
	}
	for _, p := range pids {
		if p > 0 {
			waitFor(t, 5*time.Second, fmt.Sprintf("process %d to go away", p), func() bool { return !procAlive(p) })
		}
	}
}

// TestHookCreateRuntimeFails: a failing createRuntime hook fails create (and
// run) with the hook's one-line error; the hooks after it do not run, the
// container is destroyed, nothing is left behind, and the poststop hooks run
// (runtime.md, lifecycle steps 4, 12, 13).
func TestHookCreateRuntimeFails(t *testing.T) {
	for _, cmd := range []string{"create", "run"} {
		t.Run(cmd, func(t *testing.T) {
			b := newBundle(t)
			k := newHookKit(t, b)
			b.edit(func(s *specs.Spec) {
				k.base(s)
				s.Hooks = &specs.Hooks{
					CreateRuntime:   []specs.Hook{k.hook("createRuntime", "cr0"), k.hook("createRuntime", "cr1", "fail"), k.hook("createRuntime", "cr2")},
					CreateContainer: []specs.Hook{k.hook("createContainer", "cc0")},
					StartContainer:  []specs.Hook{k.hook("startContainer", "sc0")},
					Poststart:       []specs.Hook{k.hook("poststart", "ps0")},
					Poststop:        []specs.Hook{k.hook("poststop", "pt0")},
				}
				shell(s, ctrScript)
			})
			id := newID(t)
			before := bwrapProcs()
			r := oci(t, cmd, "--bundle", b.dir, id)
			ctrPid := k.stdinPid(t, "cr0") // the container's process, on the host
			failedCleanly(t, r, id, "hooks.createRuntime[1]: "+k.busybox+" exited 3: hook cr1 failed on purpose", before, ctrPid)
			if got, want := k.order(), []string{"cr0", "cr1", "pt0"}; !reflect.DeepEqual(got, want) {
				t.Errorf("hooks ran %v, want %v", got, want)
			}
			if exists(filepath.Join(b.host, "ctr.ran")) {
				t.Error("the container's process ran")
			}
			if exists(filepath.Join(b.host, "pt0.stdin")) {
				k.check(t, b.spec().Hooks, hookWant{name: "pt0", status: specs.StateStopped, id: id})
			}
		})
	}
}

// TestHookStartContainerFails: a failing startContainer hook fails start;
// the process never runs and the container is stopped; delete then runs the
// poststop hooks.
func TestHookStartContainerFails(t *testing.T) {
	b := newBundle(t)
	k := newHookKit(t, b)
	b.edit(func(s *specs.Spec) {
		k.base(s)
		s.Hooks = &specs.Hooks{
			StartContainer: []specs.Hook{k.hook("startContainer", "sc0", "fail"), k.hook("startContainer", "sc1")},
			Poststart:      []specs.Hook{k.hook("poststart", "ps0")},
			Poststop:       []specs.Hook{k.hook("poststop", "pt0")},
		}
		shell(s, ctrScript)
	})
	id := newID(t)
	mustOCI(t, "create", "--bundle", b.dir, id)
	pid := state(t, id).Pid
	r := oci(t, "start", id)
	if r.code == 0 {
		t.Fatalf("start succeeded: %s", r.describe())
	}
	if want := "hooks.startContainer[0]: /hookbin/busybox exited 3: hook sc0 failed on purpose"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	waitFor(t, 10*time.Second, "the container's process to go away", func() bool { return !procAlive(pid) })
	if exists(filepath.Join(b.host, "ctr.ran")) {
		t.Error("the container's process ran")
	}
	if got, want := k.order(), []string{"sc0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hooks ran %v, want %v", got, want)
	}
	mustOCI(t, "delete", id)
	if got, want := k.order(), []string{"sc0", "pt0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after delete, hooks ran %v, want %v", got, want)
	}
	if exists(statePath(id)) {
		t.Errorf("state dir %s left after delete", statePath(id))
	}
}

// TestHookPoststartPoststopFail: a failing poststart or poststop hook is a
// warning: the next hooks of its kind still run, and run, start and delete
// succeed.
func TestHookPoststartPoststopFail(t *testing.T) {
	setup := func(t *testing.T, script string) (*bundle, *hookKit) {
		b := newBundle(t)
		k := newHookKit(t, b)
		b.edit(func(s *specs.Spec) {
			k.base(s)
			s.Hooks = &specs.Hooks{
				Poststart: []specs.Hook{k.hook("poststart", "ps0", "fail"), k.hook("poststart", "ps1")},
				Poststop:  []specs.Hook{k.hook("poststop", "pt0", "fail"), k.hook("poststop", "pt1")},
			}
			shell(s, script)
		})
		return b, k
	}
	warned := func(t *testing.T, r result, want string) {
		t.Helper()
		for _, l := range strings.Split(r.stderr, "\n") {
			if strings.HasPrefix(l, "bwrap-oci: warning: ") && strings.Contains(l, want) {
				return
			}
		}
		t.Errorf("no warning containing %q: %s", want, r.describe())
	}
	ps0 := "hooks.poststart[0]: %s exited 3: hook ps0 failed on purpose"
	pt0 := "hooks.poststop[0]: %s exited 3: hook pt0 failed on purpose"

	t.Run("run", func(t *testing.T) {
		b, k := setup(t, ctrScript+"exit 7")
		r := b.run(t)
		if r.code != 7 {
			t.Errorf("run: want the container's exit status 7, got %s", r.describe())
		}
		warned(t, r, fmt.Sprintf(ps0, k.busybox))
		warned(t, r, fmt.Sprintf(pt0, k.busybox))
		if got, want := k.order(), []string{"ps0", "ps1", "pt0", "pt1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("hooks ran %v, want %v", got, want)
		}
	})
	t.Run("create-start-delete", func(t *testing.T) {
		b, k := setup(t, ctrScript+"while [ ! -e /host/go ]; do sleep 0.1; done")
		id := newID(t)
		mustOCI(t, "create", "--bundle", b.dir, id)
		r := oci(t, "start", id)
		if r.code != 0 {
			t.Fatalf("start failed: %s", r.describe())
		}
		warned(t, r, fmt.Sprintf(ps0, k.busybox))
		if got, want := k.order(), []string{"ps0", "ps1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("after start, hooks ran %v, want %v", got, want)
		}
		if st := state(t, id); st.Status != specs.StateRunning {
			t.Errorf("after a failed poststart hook: status %s, want running", st.Status)
		}
		if err := os.WriteFile(filepath.Join(b.host, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the container to stop", func() bool { return state(t, id).Status == specs.StateStopped })
		r = oci(t, "delete", id)
		if r.code != 0 {
			t.Fatalf("delete failed: %s", r.describe())
		}
		warned(t, r, fmt.Sprintf(pt0, k.busybox))
		if got, want := k.order(), []string{"ps0", "ps1", "pt0", "pt1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("after delete, hooks ran %v, want %v", got, want)
		}
		if exists(statePath(id)) {
			t.Errorf("state dir %s left after delete", statePath(id))
		}
	})
}

// TestHookTimeout: a hook that outlives its timeout is killed, with the
// processes it started, and fails create with an error naming the timeout.
func TestHookTimeout(t *testing.T) {
	b := newBundle(t)
	k := newHookKit(t, b)
	b.edit(func(s *specs.Spec) {
		k.base(s)
		slow := k.hook("prestart", "slow", "sleep")
		slow.Timeout = intPtr(1)
		s.Hooks = &specs.Hooks{
			Prestart:      []specs.Hook{slow},
			CreateRuntime: []specs.Hook{k.hook("createRuntime", "cr0")},
		}
		shell(s, ctrScript)
	})
	id := newID(t)
	before := bwrapProcs()
	start := time.Now()
	r := oci(t, "create", "--bundle", b.dir, id)
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("create took %v with a 1s hook timeout", took)
	}
	hookPid := k.pid("slow")
	child, _ := strconv.Atoi(strings.TrimSpace(k.read("slow", "child")))
	if hookPid <= 0 || child <= 0 {
		t.Fatalf("the hook did not record its pid (%d) and its child's (%d)", hookPid, child)
	}
	failedCleanly(t, r, id, "hooks.prestart[0]: "+k.busybox+" timed out after 1s", before, hookPid, child, k.stdinPid(t, "slow"))
	if got, want := k.order(), []string{"slow"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hooks ran %v, want %v", got, want)
	}
}

func intPtr(n int) *int { return &n }

// TestHookInvalid: a hook with a relative path or a timeout of 0 is
// refused before anything starts, naming the field.
func TestHookInvalid(t *testing.T) {
	for _, c := range []struct {
		name  string
		hooks specs.Hooks
		want  string
	}{
		{"relative path", specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}, {Path: "bin/true"}}}, "hooks.createRuntime[1].path"},
		{"zero timeout", specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true", Timeout: intPtr(0)}}}, "hooks.poststart[0].timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t)
			b.edit(func(s *specs.Spec) { s.Hooks = &c.hooks })
			id := newID(t)
			before := bwrapProcs()
			r := oci(t, "run", "--bundle", b.dir, id)
			failedCleanly(t, r, id, c.want, before)
		})
	}
}
