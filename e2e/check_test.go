package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Tests of `bwrap-oci check`. Each scenario is made here (as root when it
// needs to be) and the binary runs as an unprivileged user; each test
// asserts the exact check name, its status and its fix line.

// chkLine is one check in the text output.
type chkLine struct {
	status, found, fix string
}

// chkRun runs `bwrap-oci ARGS` as the user of hh (a copy of the harness,
// possibly with another user or environment).
func chkRun(t *testing.T, hh *harness, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	r := hh.exec(ctx, execOpts{}, h.bin, args...)
	if r.err != nil {
		t.Fatalf("bwrap-oci: %s", r.describe())
	}
	return r
}

// chkWith returns a copy of the harness changed by mod.
func chkWith(mod func(hh *harness)) *harness {
	hh := h
	hh.env = append([]string(nil), h.env...)
	if mod != nil {
		mod(&hh)
	}
	return &hh
}

// chkSetEnv sets key to val in env; an empty val removes key.
func chkSetEnv(env []string, key, val string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	if val != "" {
		out = append(out, key+"="+val)
	}
	return out
}

// chkParse reads the text output: "STATUS  NAME  FOUND" lines, each maybe
// followed by "      fix: COMMAND".
func chkParse(t *testing.T, out string) map[string]chkLine {
	t.Helper()
	m := map[string]chkLine{}
	last := ""
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if fix, ok := strings.CutPrefix(line, "      fix: "); ok && last != "" {
			l := m[last]
			l.fix = fix
			m[last] = l
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 || (f[0] != "ok" && f[0] != "warn" && f[0] != "fail") {
			t.Fatalf("unexpected output line %q in:\n%s", line, out)
		}
		rest := strings.TrimLeft(strings.TrimPrefix(line, f[0]), " ")
		rest = strings.TrimLeft(strings.TrimPrefix(rest, f[1]), " ")
		m[f[1]] = chkLine{status: f[0], found: rest}
		last = f[1]
	}
	return m
}

// chkExpect asserts the result of one check. found is a substring; fix is
// the exact fix line ("" asserts there is none).
func chkExpect(t *testing.T, r result, name, status, found, fix string) {
	t.Helper()
	m := chkParse(t, r.stdout)
	l, ok := m[name]
	if !ok {
		t.Fatalf("no %q check in the output:\n%s", name, r.stdout)
	}
	if l.status != status {
		t.Errorf("%s: status %s, want %s (found %q)\n%s", name, l.status, status, l.found, r.stdout)
	}
	if !strings.Contains(l.found, found) {
		t.Errorf("%s: found %q, want it to contain %q", name, l.found, found)
	}
	if l.fix != fix {
		t.Errorf("%s: fix\n got %q\nwant %q", name, l.fix, fix)
	}
}

func chkExit(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d\n%s", r.code, code, r.describe())
	}
}

// chkTempDir makes a directory everyone may enter, removed after the test.
func chkTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bwrap-oci-check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func chkCopy(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// chkApplyFix runs a fix line as root (dropping its sudo), to show that it
// fixes what it says. It does nothing unless the tests run as root.
func chkApplyFix(t *testing.T, fix string) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	if out, err := exec.Command("sh", "-c", strings.ReplaceAll(fix, "sudo ", "")).CombinedOutput(); err != nil {
		t.Fatalf("applying the fix %q: %v\n%s", fix, err, out)
	}
	return true
}

func chkNeedRoot(t *testing.T) {
	t.Helper()
	need(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to set up the scenario")
	}
}

// chkSubIDEnd is where a new subordinate range goes: after every range in
// /etc/subuid and /etc/subgid, and not below 100000.
func chkSubIDEnd(t *testing.T) uint64 {
	t.Helper()
	end := uint64(100000)
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(strings.TrimSpace(line), ":")
			if len(f) != 3 {
				continue
			}
			s, err1 := strconv.ParseUint(f[1], 10, 32)
			n, err2 := strconv.ParseUint(f[2], 10, 32)
			if err1 == nil && err2 == nil && n > 0 {
				end = max(end, s+n)
			}
		}
	}
	return end
}

// chkOwnersOverlap reports whether anyone but name owns ids in [start, end)
// in file.
func chkOwnersOverlap(t *testing.T, file, name string, uid uint32, start, end uint64) bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 3 || f[0] == name || f[0] == fmt.Sprint(uid) {
			continue
		}
		s, err1 := strconv.ParseUint(f[1], 10, 32)
		n, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && s < end && start < s+n {
			return true
		}
	}
	return false
}

// chkRestoreFile puts back file's content (atomically) when the test ends.
func chkRestoreFile(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() error {
		tmp := file + ".bwrap-oci-e2e"
		if err := os.WriteFile(tmp, data, fi.Mode().Perm()); err != nil {
			return err
		}
		return os.Rename(tmp, file)
	}
	t.Cleanup(func() {
		if err := restore(); err != nil {
			t.Errorf("restoring %s: %v", file, err)
		}
	})
}

// TestCheckHost: on the prepared host the test user can run rootless
// containers, in text and JSON, with and without a bundle. It logs how long
// the check takes.
func TestCheckHost(t *testing.T) {
	need(t)
	hh := chkWith(nil)
	start := time.Now()
	r := chkRun(t, hh, "check")
	withSmoke := time.Since(start)
	chkExit(t, r, 0)
	m := chkParse(t, r.stdout)
	for _, n := range []string{"user", "bwrap", "bwrap-setuid", "userns", "userns-clone", "apparmor-userns", "subuid", "subgid", "newuidmap", "newgidmap", "xdg-runtime-dir", "cgroup", "tun", "smoke"} {
		l, ok := m[n]
		if !ok {
			t.Errorf("no %s check:\n%s", n, r.stdout)
			continue
		}
		if l.status == "fail" {
			t.Errorf("%s fails on the prepared host: %s", n, l.found)
		}
	}
	chkExpect(t, r, "smoke", "ok", fmt.Sprintf("%d uids and %d gids mapped by newuidmap/newgidmap", h.subuid.Count+1, h.subgid.Count+1), "")
	chkExpect(t, r, "subuid", "ok", fmt.Sprintf("%d-%d", h.subuid.Start, h.subuid.Start+h.subuid.Count-1), "")

	start = time.Now()
	r = chkRun(t, hh, "check", "--no-smoke")
	noSmoke := time.Since(start)
	chkExit(t, r, 0)
	if _, ok := chkParse(t, r.stdout)["smoke"]; ok {
		t.Error("--no-smoke still ran the smoke test")
	}
	t.Logf("bwrap-oci check: %v with the smoke test, %v without (process start included); smoke: %s", withSmoke, noSmoke, m["smoke"].found)

	r = chkRun(t, hh, "check", "--format", "json")
	chkExit(t, r, 0)
	var rep struct {
		OK      bool `json:"ok"`
		Results []struct {
			Name, Status, Found, Fix string
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--format json: %v\n%s", err, r.stdout)
	}
	if !rep.OK || len(rep.Results) != len(m) {
		t.Errorf("--format json: ok %v, %d results (text has %d)", rep.OK, len(rep.Results), len(m))
	}

	b := newBundle(t)
	r = chkRun(t, hh, "check", "--no-smoke", "--bundle", b.dir)
	chkExit(t, r, 0)
	chkExpect(t, r, "config", "ok", "is valid", "")
	chkExpect(t, r, "config-ids", "ok", "uids and", "")
	chkExpect(t, r, "namespaces", "ok", "available", "")
}

// TestCheckNoSubordinateIDs: a user without /etc/subuid and /etc/subgid
// lines is warned (containers map only their own ids) and told the usermod
// command; single-id containers still work, so the exit status is 0.
func TestCheckNoSubordinateIDs(t *testing.T) {
	chkNeedRoot(t)
	const name = "bwocichk"
	chkRestoreFile(t, "/etc/subuid")
	chkRestoreFile(t, "/etc/subgid")
	subuid, _ := os.ReadFile("/etc/subuid")
	subgid, _ := os.ReadFile("/etc/subgid")
	_ = exec.Command("userdel", name).Run() // left over from an interrupted run
	if out, err := exec.Command("useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel: %v\n%s", err, out)
		}
	})
	// Remove the lines useradd may have added.
	if err := os.WriteFile("/etc/subuid", subuid, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/etc/subgid", subgid, 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	runtimeDir := chkTempDir(t)
	if err := os.Chmod(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(runtimeDir, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	hh := chkWith(func(hh *harness) {
		hh.name, hh.uid, hh.gid = name, uint32(uid), uint32(gid)
		hh.env = []string{"HOME=/", "USER=" + name, "LOGNAME=" + name, "XDG_RUNTIME_DIR=" + runtimeDir, "PATH=" + userPath}
	})
	start := chkSubIDEnd(t)
	r := chkRun(t, hh, "check")
	chkExpect(t, r, "subuid", "warn", "no range for "+name+" in /etc/subuid", fmt.Sprintf("sudo usermod --add-subuids %d-%d %s", start, start+65535, name))
	chkExpect(t, r, "subgid", "warn", "no range for "+name+" in /etc/subgid", fmt.Sprintf("sudo usermod --add-subgids %d-%d %s", start, start+65535, name))
	chkExpect(t, r, "smoke", "ok", "1 uids and 1 gids mapped by its own uid and gid", "")
	chkExit(t, r, 0)

	// The fixes work: with the ranges, the smoke test maps 65537 ids.
	m := chkParse(t, r.stdout)
	chkApplyFix(t, m["subuid"].fix)
	chkApplyFix(t, m["subgid"].fix)
	r = chkRun(t, hh, "check")
	chkExpect(t, r, "subuid", "ok", fmt.Sprintf("%d-%d (65536 ids)", start, start+65535), "")
	chkExpect(t, r, "smoke", "ok", "65537 uids and 65537 gids mapped by newuidmap/newgidmap", "")
	chkExit(t, r, 0)
}

// TestCheckRangeTooSmall: a config that maps more ids than the user's
// range holds fails config-ids, with the usermod command that grows the
// range to what the config needs.
func TestCheckRangeTooSmall(t *testing.T) {
	need(t)
	hh := chkWith(nil)
	first := uint64(h.subuid.Start)
	t.Run("uidMappings", func(t *testing.T) {
		extra := uint64(34464)
		end := first + uint64(h.subuid.Count) + extra
		if chkOwnersOverlap(t, "/etc/subuid", h.name, h.uid, first, end) {
			t.Skip("the ids after the test user's range belong to someone else")
		}
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			s.Process.User = specs.User{}
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.uid, Size: 1}, {ContainerID: 1, HostID: h.subuid.Start, Size: uint32(uint64(h.subuid.Count) + extra)}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.gid, Size: 1}, {ContainerID: 1, HostID: h.subgid.Start, Size: h.subgid.Count}}
		})
		r := chkRun(t, hh, "check", "--no-smoke", "--bundle", b.dir)
		chkExpect(t, r, "config-ids", "fail", "linux.uidMappings[1]",
			fmt.Sprintf("sudo usermod --del-subuids %d-%d --add-subuids %d-%d %s", first, first+uint64(h.subuid.Count)-1, first, end-1, h.name))
		chkExit(t, r, 1)
	})
	t.Run("gidMappings", func(t *testing.T) {
		gfirst := uint64(h.subgid.Start)
		end := gfirst + uint64(h.subgid.Count) + 1000
		if chkOwnersOverlap(t, "/etc/subgid", h.name, h.uid, gfirst, end) {
			t.Skip("the ids after the test user's range belong to someone else")
		}
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			s.Process.User = specs.User{}
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.uid, Size: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.gid, Size: 1}, {ContainerID: 1, HostID: h.subgid.Start, Size: uint32(end - gfirst)}}
		})
		r := chkRun(t, hh, "check", "--no-smoke", "--bundle", b.dir)
		chkExpect(t, r, "config-ids", "fail", "linux.gidMappings[1]",
			fmt.Sprintf("sudo usermod --del-subgids %d-%d --add-subgids %d-%d %s", gfirst, gfirst+uint64(h.subgid.Count)-1, gfirst, end-1, h.name))
		chkExit(t, r, 1)
	})
}

// TestCheckNewuidmapNotSetuid: a copy of newuidmap without its setuid bit,
// first on PATH, fails newuidmap (and the smoke test, for real).
func TestCheckNewuidmapNotSetuid(t *testing.T) {
	need(t)
	orig, err := lookPath("newuidmap", userPath)
	if err != nil {
		t.Skip(err)
	}
	dir := chkTempDir(t)
	fake := filepath.Join(dir, "newuidmap")
	chkCopy(t, orig, fake, 0o755)
	hh := chkWith(func(hh *harness) { hh.env = chkSetEnv(hh.env, "PATH", dir+":"+userPath) })
	fix := "sudo chmod u+s " + fake
	if os.Geteuid() != 0 {
		fix = fmt.Sprintf("sudo chown root:root %s && sudo chmod u+s %s", fake, fake)
	}
	r := chkRun(t, hh, "check")
	chkExpect(t, r, "newuidmap", "fail", fake+" is not setuid root and has no cap_setuid file capability", fix)
	chkExpect(t, r, "smoke", "fail", "(see newuidmap)", fix)
	chkExpect(t, r, "newgidmap", "ok", "is setuid root", "")
	chkExit(t, r, 1)

	if chkApplyFix(t, fix) {
		r = chkRun(t, hh, "check")
		chkExpect(t, r, "newuidmap", "ok", fake+" is setuid root", "")
		chkExpect(t, r, "smoke", "ok", "mapped by newuidmap/newgidmap", "")
		chkExit(t, r, 0)
	}
}

// TestCheckMaxUserNamespacesZero: user.max_user_namespaces set to 0 in a
// user namespace made for the test (never on the host) fails userns.
func TestCheckMaxUserNamespacesZero(t *testing.T) {
	need(t)
	help, _ := exec.Command("unshare", "--help").Output()
	if !strings.Contains(string(help), "--map-current-user") || !strings.Contains(string(help), "--keep-caps") {
		t.Skip("unshare lacks --map-current-user/--keep-caps (util-linux 2.38+)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv not found")
	}
	// The user keeps its uid inside; --keep-caps gives sh CAP_SYS_RESOURCE
	// there to lower the limit, and setpriv drops every capability before
	// bwrap-oci runs.
	script := `echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --inh-caps=-all --ambient-caps=-all "$0" check`
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	r := h.exec(ctx, execOpts{}, "unshare", "--user", "--map-current-user", "--keep-caps", "sh", "-c", script, h.bin)
	if r.err != nil {
		t.Fatal(r.describe())
	}
	if strings.Contains(r.stderr, "max_user_namespaces") {
		t.Fatalf("could not lower the limit in the test's user namespace: %s", r.describe())
	}
	chkExpect(t, r, "userns", "fail", "user.max_user_namespaces is 0 in this user namespace",
		"echo user.max_user_namespaces=15000 | sudo tee -a /etc/sysctl.d/90-bwrap-oci.conf && sudo sysctl -w user.max_user_namespaces=15000")
	chkExpect(t, r, "user", "ok", "inside a user namespace", "")
	if l := chkParse(t, r.stdout)["smoke"]; l.status != "fail" {
		t.Errorf("smoke: %s (%s), want fail", l.status, l.found)
	}
	chkExit(t, r, 1)
	if got := strings.TrimSpace(readFile("/proc/sys/user/max_user_namespaces")); got == "0" {
		t.Fatal("the host's user.max_user_namespaces is 0")
	}
}

// TestCheckSetuidBwrap: a setuid-root copy of bwrap, passed with --bwrap,
// fails bwrap-setuid: it cannot map the subordinate ids.
func TestCheckSetuidBwrap(t *testing.T) {
	fake := setuidBwrap(t)
	r := chkRun(t, chkWith(nil), "--bwrap", fake, "check")
	chkExpect(t, r, "bwrap-setuid", "fail", fake+" is setuid root", "sudo chmod u-s "+fake)
	chkExpect(t, r, "bwrap", "ok", fake, "")
	chkExpect(t, r, "smoke", "fail", "(see bwrap-setuid)", "sudo chmod u-s "+fake)
	chkExit(t, r, 1)

	chkApplyFix(t, "sudo chmod u-s "+fake)
	r = chkRun(t, chkWith(nil), "--bwrap", fake, "check")
	chkExpect(t, r, "bwrap-setuid", "ok", fake+" is not setuid", "")
	chkExit(t, r, 0)
}

// TestCheckNoXDGRuntimeDir: without XDG_RUNTIME_DIR there is nowhere to
// keep state: xdg-runtime-dir fails and names the directory to use.
func TestCheckNoXDGRuntimeDir(t *testing.T) {
	need(t)
	hh := chkWith(func(hh *harness) { hh.env = chkSetEnv(hh.env, "XDG_RUNTIME_DIR", "") })
	dflt := fmt.Sprintf("/run/user/%d", h.uid)
	fix := "export XDG_RUNTIME_DIR=" + dflt
	if st, err := os.Stat(dflt); err != nil || !st.IsDir() || chkOwner(st) != h.uid {
		fix = fmt.Sprintf("sudo install -d -m 0700 -o %d -g %d %s && export XDG_RUNTIME_DIR=%s", h.uid, h.gid, dflt, dflt)
	}
	r := chkRun(t, hh, "check", "--no-smoke")
	chkExpect(t, r, "xdg-runtime-dir", "fail", "XDG_RUNTIME_DIR is not set", fix)
	chkExit(t, r, 1)

	// The fix, in the user's shell.
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if fix == "export XDG_RUNTIME_DIR="+dflt {
		r = hh.exec(ctx, execOpts{}, "/bin/sh", "-c", fix+` && exec "$0" check --no-smoke`, h.bin)
		chkExpect(t, r, "xdg-runtime-dir", "ok", dflt+" (yours, mode 0700)", "")
		chkExit(t, r, 0)
	}

	// --root makes it unnecessary.
	r = chkRun(t, hh, "--root", filepath.Join(h.base, "chk-root"), "check", "--no-smoke")
	chkExpect(t, r, "xdg-runtime-dir", "ok", "not needed", "")
	chkExit(t, r, 0)
}

// TestCheckInitNeedsCgroup: a bundle whose process is an init makes the
// cgroup check a requirement: it fails where cgroup v2 is not delegated.
func TestCheckInitNeedsCgroup(t *testing.T) {
	need(t)
	hh := chkWith(nil)
	plain := chkParse(t, chkRun(t, hh, "check", "--no-smoke").stdout)["cgroup"]
	b := newBundle(t)
	b.edit(func(s *specs.Spec) { s.Process.Args = []string{"/sbin/init"} })
	r := chkRun(t, hh, "check", "--no-smoke", "--bundle", b.dir)
	want, code := "ok", 0
	if plain.status != "ok" {
		want, code = "fail", 1
	}
	chkExpect(t, r, "cgroup", want, "needed: process.args[0] /sbin/init is an init", plain.fix)
	chkExit(t, r, code)
}

// chkOwner is the owner of a stat result.
func chkOwner(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return math.MaxUint32
}
