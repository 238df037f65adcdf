package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/keeper"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// keeperProcs returns the live userns keepers whose socket is under root,
// by pid, with their socket path.
func keeperProcs(root string) map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !procAlive(pid) {
			continue
		}
		args := strings.Split(strings.TrimRight(readFile(fmt.Sprintf("/proc/%d/cmdline", pid)), "\x00"), "\x00")
		if len(args) == 5 && args[1] == keeper.Arg && strings.HasPrefix(args[2], filepath.Join(root, keeper.Dir)+"/") {
			out[pid] = args[2]
		}
	}
	return out
}

// nsIno is the inode of a namespace file.
func nsIno(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

// parentNSIno is the inode of the parent of the user namespace at path.
func parentNSIno(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pfd, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_PARENT)
	if err != nil {
		t.Fatalf("NS_GET_PARENT %s: %v", path, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// foreground runs b in the foreground, in the background of the test (a
// kept user namespace is for foreground containers), waits until the
// container touches /host/ready, and returns its pid on the host. The
// container is killed when the test ends.
func foreground(t *testing.T, b *bundle, global ...string) int {
	t.Helper()
	pid, _ := foregroundID(t, b, global...)
	return pid
}

// foregroundID is foreground that also returns the container's ID.
func foregroundID(t *testing.T, b *bundle, global ...string) (int, string) {
	t.Helper()
	id := newID(t)
	done := make(chan result, 1)
	go func() {
		done <- h.exec(context.Background(), execOpts{}, h.bin, append(global, "run", "--bundle", b.dir, id)...)
	}()
	t.Cleanup(func() {
		oci(t, append(global, "kill", id, "KILL")...)
		if r := <-done; r.code != 128+int(syscall.SIGKILL) {
			t.Errorf("run: %s, want killed by SIGKILL", r.describe())
		}
	})
	waitFor(t, 10*time.Second, "the container to run", func() bool { return exists(filepath.Join(b.host, "ready")) })
	var st specs.State
	if r := mustOCI(t, append(global, "state", id)...); json.Unmarshal([]byte(r.stdout), &st) != nil {
		t.Fatalf("state: %s", r.describe())
	}
	return st.Pid, id
}

func multiSleeper(t *testing.T) *bundle {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		noMappings(s, 0)
		b.hostMount(s)
		shell(s, "touch /host/ready; while :; do sleep 0.2; done")
	})
	return b
}

// TestKeeperNestsEachContainer: two multi-id containers run in the
// foreground get user
// namespaces of their own, both nested in the namespace of one keeper,
// which maps the rule's ids and holds CAP_SETUID, CAP_SETGID and
// CAP_SETFCAP there and nothing else; `list` does not show the keepers'
// directory.
func TestKeeperNestsEachContainer(t *testing.T) {
	need(t)
	root := hdRoot(t)
	var pids []int
	for i := 0; i < 2; i++ {
		pid, id := foregroundID(t, multiSleeper(t), "--root", root)
		pids = append(pids, pid)
		// exec joins the container's (kept) user namespace.
		r := mustOCI(t, "--root", root, "exec", id, "sh", "-c", "id -u; cat /proc/self/uid_map")
		if want := nested(ExpectedIDMap(0, h.uid, h.subuid)); !sameMapText(r.stdout, want) {
			t.Errorf("exec in %s: %q, want uid 0 and the kept maps %v", id, r.stdout, want)
		}
	}
	ks := keeperProcs(root)
	if len(ks) != 1 {
		t.Fatalf("keepers under %s: %v, want one", root, ks)
	}
	var kpid int
	for pid, sock := range ks {
		kpid = pid
		if fi, err := os.Lstat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("keeper %d: socket %s: %v", pid, sock, err)
		}
	}
	if uid, err := procUID(kpid); err != nil || uid != h.uid {
		t.Errorf("keeper %d runs as uid %d (%v), want the test user's %d", kpid, uid, err, h.uid)
	}
	status := readFile(fmt.Sprintf("/proc/%d/status", kpid))
	want := fmt.Sprintf("%016x", 1<<unix.CAP_SETUID|1<<unix.CAP_SETGID|1<<unix.CAP_SETFCAP)
	for _, set := range []string{"CapEff", "CapPrm", "CapAmb"} {
		if !strings.Contains(status, set+":\t"+want) {
			t.Errorf("keeper %d: %s is not %s:\n%s", kpid, set, want, status)
		}
	}
	kns := nsIno(t, fmt.Sprintf("/proc/%d/ns/user", kpid))
	wantU := ExpectedIDMap(0, h.uid, h.subuid)
	if got, err := ParseIDMap(readFile(fmt.Sprintf("/proc/%d/uid_map", kpid))); err != nil || fmt.Sprint(got) != fmt.Sprint(wantU) {
		t.Errorf("keeper's uid_map = %v (%v), want %v", got, err, wantU)
	}
	ns := map[uint64]bool{}
	for _, pid := range pids {
		path := fmt.Sprintf("/proc/%d/ns/user", pid)
		ns[nsIno(t, path)] = true
		if p := parentNSIno(t, path); p != kns {
			t.Errorf("container %d: its user namespace's parent is %d, not the keeper's %d", pid, p, kns)
		}
	}
	if len(ns) != 2 || ns[kns] {
		t.Errorf("the containers' user namespaces %v are not two of their own", ns)
	}
	if out := mustOCI(t, "--root", root, "list", "-q").stdout; strings.Contains(out, keeper.Dir) {
		t.Errorf("list shows the keepers' directory:\n%s", out)
	}
}

// TestKeeperIdleAndStale: a keeper exits after its idle time and removes
// its socket; a keeper killed outright leaves a stale socket, which the
// next run replaces with a new keeper.
func TestKeeperIdleAndStale(t *testing.T) {
	need(t)
	root := hdRoot(t)
	b := newBundle(t)
	b.edit(func(s *specs.Spec) { noMappings(s, 0); shell(s, "echo ok") })
	run := func() {
		t.Helper()
		r := ociOpts(t, execOpts{env: []string{"BWRAP_OCI_KEEPER_IDLE=1s"}}, "--root", root, "run", "--bundle", b.dir, newID(t))
		if r.code != 0 || strings.TrimSpace(r.stdout) != "ok" {
			t.Fatalf("run: %s", r.describe())
		}
	}
	run()
	ks := keeperProcs(root)
	if len(ks) != 1 {
		t.Fatalf("keepers after a run: %v, want one", ks)
	}
	var sock string
	for _, s := range ks {
		sock = s
	}
	waitFor(t, 10*time.Second, "the idle keeper to exit", func() bool { return len(keeperProcs(root)) == 0 })
	if exists(sock) {
		t.Errorf("the idle keeper left its socket %s", sock)
	}

	run()
	for pid := range keeperProcs(root) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "the killed keeper to go", func() bool { return len(keeperProcs(root)) == 0 })
	if !exists(sock) {
		t.Fatalf("no stale socket %s after killing the keeper", sock)
	}
	run()
	if ks := keeperProcs(root); len(ks) != 1 {
		t.Errorf("keepers after the stale socket: %v, want one new", ks)
	}
}

// TestNoKeeper: with --no-userns-keeper no keeper starts, and bwrap's own
// user namespace is mapped by newuidmap and newgidmap (its map, seen from
// inside, holds the host ids).
func TestNoKeeper(t *testing.T) {
	need(t)
	root := hdRoot(t)
	b := mapBundle(t)
	r := mustOCI(t, "--root", root, "--no-userns-keeper", "run", "--bundle", b.dir, newID(t))
	if want := ExpectedIDMap(0, h.uid, h.subuid); !isMap(r.stdout, want) {
		t.Errorf("uid_map = %q, want %v", r.stdout, want)
	}
	if exists(filepath.Join(root, keeper.Dir)) || len(keeperProcs(root)) != 0 {
		t.Errorf("a keeper was started: %v", keeperProcs(root))
	}
}

// TestKeeperNotForCreated: a created container (create, run -d) is held on
// bwrap's --block-fd, the option that would otherwise close the kept
// namespace's descriptor, so it gets its namespace from bwrap, mapped by
// newuidmap and newgidmap, and starts no keeper.
func TestKeeperNotForCreated(t *testing.T) {
	need(t)
	root := hdRoot(t)
	b := multiSleeper(t)
	id := newID(t)
	mustOCI(t, "--root", root, "run", "-d", "--bundle", b.dir, id)
	t.Cleanup(func() { oci(t, "--root", root, "delete", "--force", id) })
	waitFor(t, 10*time.Second, "the container to run", func() bool { return exists(filepath.Join(b.host, "ready")) })
	if ks := keeperProcs(root); len(ks) != 0 {
		t.Errorf("run -d started a keeper: %v", ks)
	}
}

// TestJoinedUserNSNoFDLeak: a foreground container that joins another's
// user namespace by path does not inherit the descriptor bwrap joined it
// through.
func TestJoinedUserNSNoFDLeak(t *testing.T) {
	need(t)
	a := multiSleeper(t)
	pid := foreground(t, a)
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		noMappings(s, 0)
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.UserNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = append(ns, specs.LinuxNamespace{Type: specs.UserNamespace, Path: fmt.Sprintf("/proc/%d/ns/user", pid)})
		s.Process.Args = []string{"/bin/ls", "/proc/self/fd"}
	})
	fds := strings.Fields(b.mustRun(t))
	if len(fds) > 4 {
		t.Errorf("open fds inside = %v, want 0 1 2 and ls's own", fds)
	}
}

// TestKeeperNoInheritedFDs: a keeper started by a run with --preserve-fds
// keeps none of the descriptors the runtime was given: the write end of a
// pipe passed to the container is closed once the container and the run
// have ended, though the keeper still runs.
func TestKeeperNoInheritedFDs(t *testing.T) {
	need(t)
	root := hdRoot(t)
	b := newBundle(t)
	b.edit(func(s *specs.Spec) { noMappings(s, 0); shell(s, "echo ok >&5") })
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	// fds 3 and 4 become the keeper's socket and its start pipe: the
	// pipe is fd 5.
	res := ociOpts(t, execOpts{extra: []*os.File{null, null, w}}, "--root", root, "run", "--preserve-fds", "3", "--bundle", b.dir, newID(t))
	w.Close()
	if res.code != 0 {
		t.Fatalf("run: %s", res.describe())
	}
	if len(keeperProcs(root)) != 1 {
		t.Fatalf("the run started no keeper: %v", keeperProcs(root))
	}
	done := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(r)
		done <- string(data)
	}()
	select {
	case got := <-done:
		if got != "ok\n" {
			t.Errorf("read %q from the container's fd 5, want ok", got)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the pipe given with --preserve-fds is still open after the run: held by %v?", keeperProcs(root))
		for pid := range keeperProcs(root) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestKeeperConcurrentStart: runs started together on a state root with no
// keeper share the one keeper the first of them starts, even those that
// asked before it served: each container's maps, seen from inside, are
// the nested ones.
func TestKeeperConcurrentStart(t *testing.T) {
	need(t)
	root := hdRoot(t)
	b := mapBundle(t)
	want := nested(ExpectedIDMap(0, h.uid, h.subuid))
	// Started a few milliseconds apart, the later runs ask while the
	// first is still starting the keeper.
	const n = 12
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		id := newID(t)
		time.Sleep(2 * time.Millisecond)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			results <- h.exec(ctx, execOpts{}, h.bin, "--root", root, "run", "--bundle", b.dir, id)
		}()
	}
	for i := 0; i < n; i++ {
		if r := <-results; r.code != 0 || !isMap(r.stdout, want) {
			t.Errorf("run %d: uid_map %q, want the kept namespace's %v: %s", i, r.stdout, want, r.describe())
		}
	}
	if ks := keeperProcs(root); len(ks) != 1 {
		t.Errorf("keepers: %v, want one", ks)
	}
}

// TestKeeperRelativeRoot: with --root given relative to the working
// directory, the keeper (which runs in /) still serves.
func TestKeeperRelativeRoot(t *testing.T) {
	need(t)
	root := hdRoot(t) // in h.base, the commands' working directory
	b := mapBundle(t)
	for i := 0; i < 2; i++ {
		r := mustOCI(t, "--root", filepath.Base(root), "run", "--bundle", b.dir, newID(t))
		if want := nested(ExpectedIDMap(0, h.uid, h.subuid)); !isMap(r.stdout, want) {
			t.Errorf("run %d: uid_map %q, want the kept namespace's %v", i, r.stdout, want)
		}
	}
}

// sameMapText reports whether out is "0" (id -u) then the uid_map want.
func sameMapText(out string, want []IDMap) bool {
	first, rest, ok := strings.Cut(out, "\n")
	return ok && strings.TrimSpace(first) == "0" && isMap(rest, want)
}

// mapBundle makes a bundle run as uid 0 under the mapping rule (a
// multi-id map), whose process prints its uid_map.
func mapBundle(t *testing.T) *bundle {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) { noMappings(s, 0); shell(s, "cat /proc/self/uid_map") })
	return b
}

// isMap reports whether text is the uid_map want.
func isMap(text string, want []IDMap) bool {
	got, err := ParseIDMap(text)
	return err == nil && fmt.Sprint(got) == fmt.Sprint(want)
}

// TestKeeperIdleEnvInvalid: a BWRAP_OCI_KEEPER_IDLE that is not a duration
// fails a foreground run with one line naming the variable and a fix,
// before anything is made; commands that use no keeper ignore it.
func TestKeeperIdleEnvInvalid(t *testing.T) {
	need(t)
	root := hdRoot(t)
	b := mapBundle(t)
	bad := execOpts{env: []string{"BWRAP_OCI_KEEPER_IDLE=soon"}}
	oneLineErr(t, ociOpts(t, bad, "--root", root, "run", "--bundle", b.dir, newID(t)), "BWRAP_OCI_KEEPER_IDLE", "like 10m or 30s")
	if left := hdEntries(root); len(left) != 0 || len(keeperProcs(root)) != 0 {
		t.Errorf("the failed run left %v and keepers %v", left, keeperProcs(root))
	}
	if r := ociOpts(t, bad, "--root", root, "list"); r.code != 0 {
		t.Errorf("list with the bad variable: %s", r.describe())
	}
}
