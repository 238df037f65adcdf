package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bwrap-oci/bwrap-oci/internal/keeper"
	istate "github.com/bwrap-oci/bwrap-oci/internal/state"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// cmdTimeout bounds every command the tests run.
	cmdTimeout = 30 * time.Second
	// userPath is the PATH given to the test user when running as root.
	userPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// harness describes how the tests run the runtime.
type harness struct {
	skip string // non-empty: why the suite cannot run here

	repo     string // repository root
	base     string // private base dir, owned by the test user, mode 0755
	bin      string // the bwrap-oci binary under test
	template string // busybox rootfs made by scripts/mkrootfs-busybox.sh

	switchUser bool   // run commands with Credential{uid, gid}
	name       string // test user
	uid, gid   uint32
	home       string
	env        []string
	runtimeDir string
	stateRoot  string // default state root: $XDG_RUNTIME_DIR/bwrap-oci

	subuid, subgid IDRange
}

var (
	h   harness
	seq atomic.Int64
)

func ciMode() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0" && v != "no"
}

func TestMain(m *testing.M) {
	code, err := setupHarness()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: set-up failed:", err)
		code = 1
	} else {
		code = m.Run()
	}
	if h.base != "" && os.Getenv("BWRAP_OCI_E2E_KEEP") == "" {
		if err := os.RemoveAll(h.base); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: clean-up:", err)
		}
	}
	os.Exit(code)
}

// setupHarness fills h. An environment that cannot run the suite is not an
// error: it sets h.skip. Errors are for broken set-up (e.g. build failure).
func setupHarness() (int, error) {
	repo, err := filepath.Abs("..")
	if err != nil {
		return 1, err
	}
	h.repo = repo
	if reason := h.identify(); reason != "" {
		h.skip = reason
		return 0, nil
	}
	for _, tool := range []string{"bwrap", "newuidmap", "newgidmap"} {
		if _, err := lookPath(tool, envValue(h.env, "PATH")); err != nil {
			h.skip = fmt.Sprintf("%s not found in PATH (run scripts/setup-host.sh)", tool)
			return 0, nil
		}
	}
	busybox := os.Getenv("BUSYBOX")
	if busybox == "" {
		busybox = "/bin/busybox"
	}
	if _, err := os.Stat(busybox); err != nil {
		h.skip = busybox + " not found (apt-get install busybox-static)"
		return 0, nil
	}

	// The test user must be able to reach the base dir: when switching
	// users, ignore $TMPDIR (it may be private to root) unless overridden.
	parent := os.Getenv("BWRAP_OCI_E2E_TMPDIR")
	if parent == "" && h.switchUser {
		parent = "/tmp"
	}
	base, err := os.MkdirTemp(parent, "bwrap-oci-e2e-")
	if err != nil {
		return 1, err
	}
	h.base = base
	if err := h.mkdirUser(base); err != nil {
		return 1, err
	}
	if err := h.mkdirUser(filepath.Join(base, "bin")); err != nil {
		return 1, err
	}

	h.bin = os.Getenv("BWRAP_OCI_E2E_BINARY")
	if h.bin == "" {
		h.bin = filepath.Join(base, "bin", "bwrap-oci")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", h.bin, "./cmd/bwrap-oci")
		build.Dir = repo
		// Static, as shipped: no C library to load at every start.
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return 1, fmt.Errorf("go build ./cmd/bwrap-oci: %v\n%s", err, out)
		}
		if err := os.Chmod(h.bin, 0o755); err != nil {
			return 1, err
		}
	}

	// The rootfs template, made by the test user so it owns every file.
	// The script is copied into the base dir so that the user can read it
	// even if the repository is private to root.
	script, err := os.ReadFile(filepath.Join(repo, "scripts", "mkrootfs-busybox.sh"))
	if err != nil {
		return 1, err
	}
	scriptCopy := filepath.Join(base, "bin", "mkrootfs-busybox.sh")
	if err := os.WriteFile(scriptCopy, script, 0o755); err != nil {
		return 1, err
	}
	h.template = filepath.Join(base, "rootfs-template")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := h.exec(ctx, execOpts{}, "/bin/sh", scriptCopy, h.template)
	if r.err != nil || r.code != 0 {
		return 1, fmt.Errorf("mkrootfs-busybox.sh: %s", r.describe())
	}
	return 0, nil
}

// identify decides who runs the containers. It returns a skip reason.
func (h *harness) identify() string {
	if os.Geteuid() == 0 {
		name := os.Getenv("BWRAP_OCI_E2E_USER")
		if name == "" {
			return "running as root and BWRAP_OCI_E2E_USER is not set " +
				"(use scripts/test.sh, or set it to a user made by scripts/setup-host.sh)"
		}
		u, err := user.Lookup(name)
		if err != nil {
			return fmt.Sprintf("BWRAP_OCI_E2E_USER=%s: %v (run scripts/setup-host.sh)", name, err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		if uid == 0 {
			return "BWRAP_OCI_E2E_USER must not be root"
		}
		h.switchUser = true
		h.name, h.uid, h.gid, h.home = name, uint32(uid), uint32(gid), u.HomeDir
		h.runtimeDir = fmt.Sprintf("/run/user/%d", uid)
		if err := os.MkdirAll(h.runtimeDir, 0o700); err != nil {
			return fmt.Sprintf("cannot create %s: %v", h.runtimeDir, err)
		}
		if err := os.Chown(h.runtimeDir, int(uid), int(gid)); err != nil {
			return fmt.Sprintf("cannot chown %s: %v", h.runtimeDir, err)
		}
		h.env = []string{
			"HOME=" + u.HomeDir,
			"USER=" + name,
			"LOGNAME=" + name,
			"XDG_RUNTIME_DIR=" + h.runtimeDir,
			"PATH=" + userPath,
		}
	} else {
		h.uid, h.gid = uint32(os.Getuid()), uint32(os.Getgid())
		u, err := user.LookupId(strconv.Itoa(os.Getuid()))
		if err != nil {
			return fmt.Sprintf("cannot look up uid %d: %v", os.Getuid(), err)
		}
		h.name, h.home = u.Username, u.HomeDir
		h.env = os.Environ()
		h.runtimeDir = os.Getenv("XDG_RUNTIME_DIR")
		if h.runtimeDir == "" {
			h.runtimeDir = fmt.Sprintf("/run/user/%d", os.Getuid())
			if st, err := os.Stat(h.runtimeDir); err != nil || !st.IsDir() {
				return "XDG_RUNTIME_DIR is not set and " + h.runtimeDir + " does not exist"
			}
			h.env = append(h.env, "XDG_RUNTIME_DIR="+h.runtimeDir)
		}
	}
	h.stateRoot = filepath.Join(h.runtimeDir, "bwrap-oci")
	// Many tests use a state root of their own, and each root gets its
	// own userns keeper: let them go soon after their last container.
	h.env = append(h.env, "BWRAP_OCI_KEEPER_IDLE=30s")
	var err error
	if h.subuid, err = FirstSubIDRange("/etc/subuid", h.name, h.uid); err != nil {
		return fmt.Sprintf("no subordinate uid range: %v (run scripts/setup-host.sh as root)", err)
	}
	if h.subgid, err = FirstSubIDRange("/etc/subgid", h.name, h.uid); err != nil {
		return fmt.Sprintf("no subordinate gid range: %v (run scripts/setup-host.sh as root)", err)
	}
	return ""
}

// need skips (or, under CI, fails) the test when the suite cannot run.
func need(t *testing.T) {
	t.Helper()
	if h.skip == "" {
		return
	}
	if ciMode() {
		t.Fatalf("end-to-end suite cannot run (CI=true, so not skipping): %s", h.skip)
	}
	t.Skip("end-to-end suite cannot run: " + h.skip)
}

func lookPath(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// mkdirUser creates dir (mode 0755) owned by the test user.
func (h *harness) mkdirUser(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	return h.chownUser(dir)
}

func (h *harness) chownUser(path string) error {
	if !h.switchUser {
		return nil
	}
	return os.Lchown(path, int(h.uid), int(h.gid))
}

// writeFileUser writes a file owned by the test user.
func (h *harness) writeFileUser(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	return h.chownUser(path)
}

// ---------------------------------------------------------------------------
// Running commands as the test user.

type execOpts struct {
	stdin string
	dir   string     // default: h.base
	extra []*os.File // extra[i] is fd 3+i in the command
	env   []string   // added to the harness's environment
}

type result struct {
	args   []string
	stdout string
	stderr string
	code   int   // exit status; 128+N when killed by signal N; -1 if not run
	err    error // could not start, or timed out
}

func (r result) describe() string {
	s := fmt.Sprintf("%q: exit %d", r.args, r.code)
	if r.err != nil {
		s += fmt.Sprintf(" (%v)", r.err)
	}
	return s + fmt.Sprintf("\n--- stdout:\n%s--- stderr:\n%s", r.stdout, r.stderr)
}

// exec runs a command as the test user with a time limit. Output goes to
// files, not pipes, so that a container left running in the background
// cannot keep the command from finishing.
func (h *harness) exec(ctx context.Context, o execOpts, name string, args ...string) result {
	res := result{args: append([]string{name}, args...), code: -1}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append([]string(nil), h.env...), o.env...)
	cmd.Dir = o.dir
	if cmd.Dir == "" {
		cmd.Dir = h.base
	}
	cmd.ExtraFiles = o.extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if h.switchUser {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: h.uid, Gid: h.gid, Groups: []uint32{}}
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	tmp := func(data string) (*os.File, error) {
		f, err := os.CreateTemp("", "bwrap-oci-e2e-io-")
		if err != nil {
			return nil, err
		}
		os.Remove(f.Name())
		if data != "" {
			if _, err := f.WriteString(data); err != nil {
				f.Close()
				return nil, err
			}
			if _, err := f.Seek(0, 0); err != nil {
				f.Close()
				return nil, err
			}
		}
		return f, nil
	}
	var files [3]*os.File
	for i, data := range []string{o.stdin, "", ""} {
		f, err := tmp(data)
		if err != nil {
			res.err = err
			return res
		}
		defer f.Close()
		files[i] = f
	}
	if o.stdin != "" {
		cmd.Stdin = files[0]
	}
	cmd.Stdout, cmd.Stderr = files[1], files[2]

	err := cmd.Run()
	read := func(f *os.File) string {
		var b bytes.Buffer
		if _, err := f.Seek(0, 0); err == nil {
			_, _ = b.ReadFrom(f)
		}
		return b.String()
	}
	res.stdout, res.stderr = read(files[1]), read(files[2])
	if ctx.Err() != nil {
		res.err = fmt.Errorf("timed out: %w", ctx.Err())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.code = 0
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.code = 128 + int(ws.Signal())
		}
	default:
		if res.err == nil {
			res.err = err
		}
	}
	return res
}

// oci runs the binary under test as the test user.
func oci(t *testing.T, args ...string) result {
	t.Helper()
	return ociOpts(t, execOpts{}, args...)
}

func ociOpts(t *testing.T, o execOpts, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	r := h.exec(ctx, o, h.bin, args...)
	if r.err != nil {
		t.Errorf("bwrap-oci: %s", r.describe())
	}
	return r
}

// mustOCI runs the binary and fails the test unless it exits 0.
func mustOCI(t *testing.T, args ...string) result {
	t.Helper()
	r := oci(t, args...)
	if r.code != 0 {
		t.Fatalf("bwrap-oci failed: %s", r.describe())
	}
	return r
}

// asUser runs an arbitrary command as the test user.
func asUser(t *testing.T, o execOpts, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return h.exec(ctx, o, name, args...)
}

// ---------------------------------------------------------------------------
// Bundles and containers.

type bundle struct {
	t    *testing.T
	dir  string // bundle directory
	host string // host directory for bind mounts (bundle/host), user-owned
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

func slug(t *testing.T) string {
	s := strings.Trim(nonAlnum.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return strings.Trim(s, "-")
}

// newID returns a container ID unique to this test run and removes the
// container (delete --force) when the test ends.
func newID(t *testing.T) string {
	t.Helper()
	id := fmt.Sprintf("e2e-%s-%d-%d", slug(t), os.Getpid(), seq.Add(1))
	t.Cleanup(func() { forceDelete(id) })
	return id
}

func forceDelete(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	h.exec(ctx, execOpts{}, h.bin, "delete", "--force", id)
}

// newBundle makes a bundle with a busybox rootfs and the config written by
// "bwrap-oci spec --rootless".
func newBundle(t *testing.T) *bundle {
	t.Helper()
	need(t)
	dir := filepath.Join(h.base, fmt.Sprintf("%s-%d", slug(t), seq.Add(1)))
	if err := h.mkdirUser(dir); err != nil {
		t.Fatal(err)
	}
	b := &bundle{t: t, dir: dir, host: filepath.Join(dir, "host")}
	if err := h.mkdirUser(b.host); err != nil {
		t.Fatal(err)
	}
	if r := asUser(t, execOpts{}, "cp", "-a", h.template, filepath.Join(dir, "rootfs")); r.code != 0 {
		t.Fatalf("copying rootfs: %s", r.describe())
	}
	mustOCI(t, "spec", "--rootless", "--bundle", dir)
	return b
}

func (b *bundle) configPath() string { return filepath.Join(b.dir, "config.json") }

func (b *bundle) spec() *specs.Spec {
	b.t.Helper()
	data, err := os.ReadFile(b.configPath())
	if err != nil {
		b.t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		b.t.Fatalf("config.json written by spec does not parse: %v", err)
	}
	return &s
}

func (b *bundle) writeRaw(data []byte) {
	b.t.Helper()
	if err := h.writeFileUser(b.configPath(), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// edit rewrites config.json after fn changed it.
func (b *bundle) edit(fn func(s *specs.Spec)) {
	b.t.Helper()
	s := b.spec()
	fn(s)
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		b.t.Fatal(err)
	}
	b.writeRaw(data)
}

// editMap rewrites config.json as generic JSON (for invalid configs).
func (b *bundle) editMap(fn func(m map[string]any)) {
	b.t.Helper()
	data, err := os.ReadFile(b.configPath())
	if err != nil {
		b.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		b.t.Fatal(err)
	}
	fn(m)
	if data, err = json.MarshalIndent(m, "", "\t"); err != nil {
		b.t.Fatal(err)
	}
	b.writeRaw(data)
}

// shell sets the container process to "sh -c script".
func shell(s *specs.Spec, script string) {
	s.Process.Args = []string{"/bin/sh", "-c", script}
}

// hostMount bind-mounts the bundle's host dir read-write at /host.
func (b *bundle) hostMount(s *specs.Spec) {
	s.Mounts = append(s.Mounts, specs.Mount{
		Destination: "/host", Type: "bind", Source: b.host,
		Options: []string{"rbind", "rw"},
	})
}

// noMappings removes the config's id mappings so that bwrap-oci applies its
// own rule, and runs the process as uid:gid id.
func noMappings(s *specs.Spec, id uint32) {
	if s.Linux != nil {
		s.Linux.UIDMappings = nil
		s.Linux.GIDMappings = nil
	}
	s.Process.User.UID = id
	s.Process.User.GID = id
}

func addCaps(s *specs.Spec, caps ...string) {
	if s.Process.Capabilities == nil {
		s.Process.Capabilities = &specs.LinuxCapabilities{}
	}
	c := s.Process.Capabilities
	for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted, &c.Inheritable, &c.Ambient} {
		for _, cp := range caps {
			if !contains(*set, cp) {
				*set = append(*set, cp)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// run runs the bundle in the foreground and returns the result.
func (b *bundle) run(t *testing.T, extra ...string) result {
	t.Helper()
	id := newID(t)
	args := append([]string{"run", "--bundle", b.dir}, extra...)
	return oci(t, append(args, id)...)
}

// mustRun runs the bundle in the foreground and requires exit status 0.
func (b *bundle) mustRun(t *testing.T) string {
	t.Helper()
	r := b.run(t)
	if r.code != 0 {
		t.Fatalf("container failed: %s", r.describe())
	}
	return r.stdout
}

// ---------------------------------------------------------------------------
// Observing the host.

func statePath(id string) string { return filepath.Join(h.stateRoot, id) }

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// stateEntries lists the state root (empty if it does not exist).
func stateEntries(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(h.stateRoot)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("reading state root: %v", err)
	}
	var names []string
	for _, e := range ents {
		// The userns keepers' directory is the user's, shared by all
		// containers, not one container's leftover; so are the empty
		// directories parked for reuse.
		if e.Name() != keeper.Dir && e.Name() != istate.FreeDir {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// procAlive reports whether pid exists and is not a zombie.
func procAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// procUID returns the real uid of pid.
func procUID(pid int) (uint32, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, err := strconv.ParseUint(f[0], 10, 32)
				return uint32(n), err
			}
		}
	}
	return 0, fmt.Errorf("no Uid in /proc/%d/status", pid)
}

// bwrapProcs returns the live bwrap processes of the test user.
func bwrapProcs() map[int]bool {
	out := map[int]bool{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "bwrap" {
			continue
		}
		if uid, err := procUID(pid); err == nil && uid == h.uid && procAlive(pid) {
			out[pid] = true
		}
	}
	return out
}

// newBwrapProcs waits up to two seconds for bwrap processes started since
// the before snapshot to go away, and returns those that did not.
func newBwrapProcs(before map[int]bool) []int {
	var left []int
	deadline := time.Now().Add(2 * time.Second)
	for {
		left = left[:0]
		for pid := range bwrapProcs() {
			if !before[pid] {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond until it returns true or the timeout expires.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// ---------------------------------------------------------------------------
// list / state.

type listEntry struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
	Bundle string `json:"bundle"`
}

func listJSON(t *testing.T, global ...string) []listEntry {
	t.Helper()
	r := mustOCI(t, append(global, "list", "--format", "json")...)
	var l []listEntry
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatalf("list --format json: bad JSON: %v\n%s", err, r.stdout)
	}
	return l
}

func findEntry(l []listEntry, id string) (listEntry, bool) {
	for _, e := range l {
		if e.ID == id {
			return e, true
		}
	}
	return listEntry{}, false
}

func state(t *testing.T, id string) specs.State {
	t.Helper()
	r := mustOCI(t, "state", id)
	var s specs.State
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("state %s: bad JSON: %v\n%s", id, err, r.stdout)
	}
	return s
}
