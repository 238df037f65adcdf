package e2e

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sleeper makes a bundle whose process loops until killed, touching
// /host/ready once it runs.
func sleeper(t *testing.T) *bundle {
	t.Helper()
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		b.hostMount(s)
		shell(s, "touch /host/ready; while :; do sleep 0.2; done")
	})
	return b
}

// startDetached runs the bundle with -d and waits until it is ready.
func startDetached(t *testing.T, b *bundle, id string, extra ...string) {
	t.Helper()
	args := append([]string{"run", "-d", "--bundle", b.dir}, extra...)
	mustOCI(t, append(args, id)...)
	waitFor(t, 10*time.Second, "the container to touch /host/ready",
		func() bool { return exists(filepath.Join(b.host, "ready")) })
}

// TestDetachedLifecycle: run -d, list, state, kill with several signal
// spellings reaching a trap, stop, delete.
func TestDetachedLifecycle(t *testing.T) {
	b := newBundle(t)
	sigs := filepath.Join(b.host, "sigs")
	b.edit(func(s *specs.Spec) {
		b.hostMount(s)
		s.Annotations = map[string]string{"org.example.e2e": "lifecycle"}
		shell(s, `
for n in 10 12 37 63; do trap "echo $n >> /host/sigs" $n; done
trap 'echo 15 >> /host/sigs; exit 0' 15
touch /host/ready
while :; do sleep 0.1; done`)
	})
	id := newID(t)
	pidFile := filepath.Join(b.dir, "pidfile")
	startDetached(t, b, id, "--pid-file", pidFile)

	// list: running with a live pid that belongs to the test user.
	e, ok := findEntry(listJSON(t), id)
	if !ok {
		t.Fatalf("list --format json does not show %s", id)
	}
	if e.Status != "running" {
		t.Errorf("list: status %q, want running", e.Status)
	}
	if !procAlive(e.Pid) {
		t.Errorf("list: pid %d is not a live process on the host", e.Pid)
	} else if uid, err := procUID(e.Pid); err != nil || uid != h.uid {
		t.Errorf("list: pid %d has uid %d (%v), want the test user's %d", e.Pid, uid, err, h.uid)
	}
	if e.Bundle != b.dir {
		t.Errorf("list: bundle %q, want %q", e.Bundle, b.dir)
	}
	if got := strings.TrimSpace(readFile(pidFile)); got != strconv.Itoa(e.Pid) {
		t.Errorf("--pid-file holds %q, want %d", got, e.Pid)
	}
	if !exists(statePath(id)) {
		t.Errorf("no state dir %s while running", statePath(id))
	}

	// state
	st := state(t, id)
	if st.Version == "" || st.ID != id || st.Status != specs.StateRunning || st.Pid != e.Pid || st.Bundle != b.dir {
		t.Errorf("state = %+v, want ociVersion set, id %s, status running, pid %d, bundle %s", st, id, e.Pid, b.dir)
	}
	if st.Annotations["org.example.e2e"] != "lifecycle" {
		t.Errorf("state annotations = %v, want the config's", st.Annotations)
	}

	// kill with several spellings; each must reach the trap.
	var want []string
	for _, c := range []struct{ sig, num string }{
		{"SIGRTMIN+3", "37"},
		{"37", "37"},
		{"RTMIN+3", "37"},
		{"RTMAX-1", "63"},
		{"USR1", "10"},
		{"SIGUSR2", "12"},
		{"10", "10"},
	} {
		r := oci(t, "kill", id, c.sig)
		if r.code != 0 {
			t.Errorf("kill %s %s: %s", id, c.sig, r.describe())
			continue
		}
		want = append(want, c.num)
		waitFor(t, 10*time.Second, "signal "+c.sig+" to reach the trap", func() bool {
			return len(strings.Fields(readFile(sigs))) >= len(want)
		})
		if got := strings.Fields(readFile(sigs)); !reflect.DeepEqual(got, want) {
			t.Fatalf("after kill %s: trap saw %v, want %v", c.sig, got, want)
		}
	}

	// default signal (TERM): the trap exits and the container stops.
	mustOCI(t, "kill", id)
	waitFor(t, 10*time.Second, "the container to stop", func() bool {
		e, ok := findEntry(listJSON(t), id)
		return ok && e.Status == "stopped"
	})
	if got := strings.Fields(readFile(sigs)); len(got) == 0 || got[len(got)-1] != "15" {
		t.Errorf("trap for TERM did not run: %v", got)
	}
	if procAlive(e.Pid) {
		t.Errorf("pid %d still alive after the container stopped", e.Pid)
	}
	if st := state(t, id); st.Status != specs.StateStopped || st.ID != id {
		t.Errorf("state after stop = %+v, want status stopped", st)
	}

	// delete
	mustOCI(t, "delete", id)
	if exists(statePath(id)) {
		t.Errorf("state dir %s left after delete", statePath(id))
	}
	if _, ok := findEntry(listJSON(t), id); ok {
		t.Errorf("list still shows %s after delete", id)
	}
	r := oci(t, "state", id)
	if r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("state of a deleted container: want failure mentioning \"does not exist\", got %s", r.describe())
	}
}

// TestDeleteRunning: delete refuses a running container; --force kills it.
func TestDeleteRunning(t *testing.T) {
	b := sleeper(t)
	id := newID(t)
	before := bwrapProcs()
	startDetached(t, b, id)
	pid := state(t, id).Pid

	r := oci(t, "delete", id)
	if r.code == 0 {
		t.Fatalf("delete of a running container succeeded: %s", r.describe())
	}
	if st := state(t, id); st.Status != specs.StateRunning || !procAlive(pid) {
		t.Errorf("after a refused delete: status %s, pid %d alive %v; want running", st.Status, pid, procAlive(pid))
	}

	mustOCI(t, "delete", "--force", id)
	waitFor(t, 5*time.Second, "the container's process to go away", func() bool { return !procAlive(pid) })
	if exists(statePath(id)) {
		t.Errorf("state dir %s left after delete --force", statePath(id))
	}
	if left := newBwrapProcs(before); len(left) > 0 {
		t.Errorf("bwrap processes left after delete --force: %v", left)
	}
}

// TestForegroundState: a foreground container is listed while it runs and
// its state is removed when it ends.
func TestForegroundState(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		b.hostMount(s)
		shell(s, "touch /host/ready; while [ ! -e /host/go ]; do sleep 0.1; done; exit 3")
	})
	id := newID(t)
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		done <- h.exec(ctx, execOpts{}, h.bin, "run", "--bundle", b.dir, id)
	}()
	waitFor(t, 10*time.Second, "the container to start", func() bool { return exists(filepath.Join(b.host, "ready")) })
	e, ok := findEntry(listJSON(t), id)
	if !ok || e.Status != "running" || !procAlive(e.Pid) {
		t.Errorf("list while running: %+v (found %v), want status running with a live pid", e, ok)
	}
	if err := os.WriteFile(filepath.Join(b.host, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 3 {
		t.Errorf("want exit 3, got %s", r.describe())
	}
	if exists(statePath(id)) {
		t.Errorf("state dir %s left after the foreground container ended", statePath(id))
	}
	if _, ok := findEntry(listJSON(t), id); ok {
		t.Errorf("list still shows %s", id)
	}
}

// TestList: table and json formats, -q, sorted by name.
func TestList(t *testing.T) {
	b1, b2 := sleeper(t), sleeper(t)
	base := newID(t)
	idZ, idA := base+"-zz", base+"-aa"
	t.Cleanup(func() { forceDelete(idZ); forceDelete(idA) })
	startDetached(t, b1, idZ)
	startDetached(t, b2, idA)

	r := mustOCI(t, "list")
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if got := strings.Fields(lines[0]); !reflect.DeepEqual(got, []string{"NAME", "PID", "STATUS", "BUNDLE"}) {
		t.Errorf("list header %q, want NAME PID STATUS BUNDLE", lines[0])
	}
	var names []string
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 4 {
			t.Errorf("list row %q: want 4 columns", l)
			continue
		}
		names = append(names, f[0])
		rows[f[0]] = f
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("list is not sorted by name: %v", names)
	}
	for _, c := range []struct {
		id string
		b  *bundle
	}{{idA, b2}, {idZ, b1}} {
		f, ok := rows[c.id]
		if !ok {
			t.Errorf("list does not show %s:\n%s", c.id, r.stdout)
			continue
		}
		pid, _ := strconv.Atoi(f[1])
		if f[2] != "running" || !procAlive(pid) || f[3] != c.b.dir {
			t.Errorf("list row %v: want a live pid, running, %s", f, c.b.dir)
		}
	}

	q := strings.Fields(mustOCI(t, "list", "-q").stdout)
	if !sort.StringsAreSorted(q) || !contains(q, idA) || !contains(q, idZ) {
		t.Errorf("list -q = %v, want sorted IDs including %s and %s", q, idA, idZ)
	}
	if !reflect.DeepEqual(q, names) {
		t.Errorf("list -q = %v, but the table lists %v", q, names)
	}

	var jnames []string
	for _, e := range listJSON(t) {
		jnames = append(jnames, e.ID)
	}
	if !reflect.DeepEqual(jnames, names) {
		t.Errorf("list --format json IDs %v, table %v", jnames, names)
	}
}

// TestDefaultID: without an ID the bundle directory's base name is used.
func TestDefaultID(t *testing.T) {
	b := sleeper(t)
	id := filepath.Base(b.dir)
	t.Cleanup(func() { forceDelete(id) })
	mustOCI(t, "run", "-d", "--bundle", b.dir)
	waitFor(t, 10*time.Second, "the container to start", func() bool { return exists(filepath.Join(b.host, "ready")) })
	if st := state(t, id); st.ID != id || st.Status != specs.StateRunning {
		t.Errorf("state %s = %+v, want running", id, st)
	}
	mustOCI(t, "delete", "--force", id)
}

// TestRootFlag: --root selects another state directory.
func TestRootFlag(t *testing.T) {
	b := sleeper(t)
	root := filepath.Join(b.dir, "state")
	id := newID(t)
	t.Cleanup(func() { oci(t, "--root", root, "delete", "--force", id) })
	mustOCI(t, "--root", root, "run", "-d", "--bundle", b.dir, id)
	waitFor(t, 10*time.Second, "the container to start", func() bool { return exists(filepath.Join(b.host, "ready")) })
	if _, ok := findEntry(listJSON(t, "--root", root), id); !ok {
		t.Errorf("list --root %s does not show %s", root, id)
	}
	if _, ok := findEntry(listJSON(t), id); ok {
		t.Errorf("the default state root shows %s started with --root", id)
	}
	if exists(statePath(id)) {
		t.Errorf("%s exists though --root was given", statePath(id))
	}
	mustOCI(t, "--root", root, "delete", "--force", id)
}

// TestConfigFlag: -c/--config reads another file (rootfs still relative to
// the bundle).
func TestConfigFlag(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		s.Hostname = "from-alt-config"
		s.Process.Args = []string{"/bin/hostname"}
	})
	alt := filepath.Join(b.dir, "alt.json")
	if err := os.Rename(b.configPath(), alt); err != nil {
		t.Fatal(err)
	}
	r := oci(t, "run", "--bundle", b.dir, "--config", alt, newID(t))
	if r.code != 0 || strings.TrimSpace(r.stdout) != "from-alt-config" {
		t.Errorf("want exit 0 and hostname from-alt-config, got %s", r.describe())
	}
}

// TestDetachedKeepsNoMonitor: a started container keeps no process of the
// runtime on the host (issue 6: resident overhead). bwrap's monitor, the
// container process's parent until start, is gone once run -d returns, with
// or without --pid-file; the process keeps running and is still signalled
// and deleted by id.
func TestDetachedKeepsNoMonitor(t *testing.T) {
	for _, withPidFile := range []bool{false, true} {
		b := sleeper(t)
		id := newID(t)
		var extra []string
		if withPidFile {
			extra = []string{"--pid-file", filepath.Join(b.dir, "pidfile")}
		}
		startDetached(t, b, id, extra...)
		st := state(t, id)
		if st.Status != specs.StateRunning || !procAlive(st.Pid) {
			t.Fatalf("pid-file %v: state %+v, want a running container with a live pid", withPidFile, st)
		}
		ppid := procPPid(t, st.Pid)
		exe, _ := os.Readlink("/proc/" + strconv.Itoa(ppid) + "/exe")
		if filepath.Base(exe) == "bwrap" {
			t.Errorf("pid-file %v: the container's process %d still has bwrap's monitor %d as parent", withPidFile, st.Pid, ppid)
		}
		if r := oci(t, "kill", id, "KILL"); r.code != 0 {
			t.Fatalf("kill: %s", r.describe())
		}
		waitFor(t, 10*time.Second, "the container to stop", func() bool { return state(t, id).Status == specs.StateStopped })
		mustOCI(t, "delete", id)
		if exists(statePath(id)) {
			t.Errorf("pid-file %v: state dir %s left after delete", withPidFile, statePath(id))
		}
	}
}

// procPPid returns the parent pid of pid.
func procPPid(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no PPid in /proc/%d/status", pid)
	return 0
}
