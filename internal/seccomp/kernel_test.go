//go:build linux && amd64

package seccomp

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The kernel tests load compiled programs into a helper process: the test
// binary run again with these variables set, which runs TestHelperProcess.
const (
	helperEnv     = "BWRAP_OCI_SECCOMP_HELPER" // what the helper does
	helperProgEnv = "BWRAP_OCI_SECCOMP_PROG"   // file with the program
	helperArgEnv  = "BWRAP_OCI_SECCOMP_ARG"    // a path, or a shell script
	helperLoadErr = 3                          // exit status: loading failed
)

// loadFilter installs prog on the calling thread as bwrap does: no_new_privs,
// then prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) without flags.
func loadFilter(prog []byte) error {
	if len(prog) == 0 || len(prog)%8 != 0 {
		return fmt.Errorf("bad program length %d", len(prog))
	}
	filters := make([]unix.SockFilter, len(prog)/8)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&filters[0])), len(prog)), prog)
	fprog := unix.SockFprog{Len: uint16(len(filters)), Filter: &filters[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0); err != nil {
		return fmt.Errorf("PR_SET_SECCOMP: %w", err)
	}
	runtime.KeepAlive(filters)
	return nil
}

// TestHelperProcess is not a test: it is the helper process of the kernel
// tests, and returns at once when run as a test.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	prog, err := os.ReadFile(os.Getenv(helperProgEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	arg := os.Getenv(helperArgEnv)
	// No core dump from SIGSYS.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// Filters are per thread: stay on the one that loads it.
	runtime.LockOSThread()
	if err := loadFilter(prog); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(helperLoadErr)
	}
	var e syscall.Errno
	switch mode {
	case "mkdir":
		_, _, e = unix.RawSyscall(unix.SYS_MKDIR, uintptr(unsafe.Pointer(cstr(arg))), 0o755, 0)
	case "mkdirat":
		// mode 0755 with bits in the upper half of the register, which
		// the kernel ignores but seccomp sees.
		_, _, e = unix.RawSyscall(unix.SYS_MKDIRAT, uintptr(unix.AT_FDCWD&0xffffffff)|0xffffffff00000000, uintptr(unsafe.Pointer(cstr(arg))), 0x1_000001ed)
	case "getppid":
		_, _, e = unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	case "x32-getpid":
		_, _, e = unix.RawSyscall(uintptr(sysX32()["getpid"]), 0, 0, 0)
	case "exec":
		err := syscall.Exec("/bin/sh", []string{"sh", "-c", arg}, os.Environ())
		fmt.Fprintln(os.Stderr, "exec:", err)
		os.Exit(4)
	}
	fmt.Printf("errno=%d\n", int(e))
	os.Exit(0)
}

func cstr(s string) *byte {
	b, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return b
}

type helperResult struct {
	stdout, stderr string
	status         syscall.WaitStatus
}

// runHelper compiles s and runs the helper under it.
func runHelper(t *testing.T, s *specs.LinuxSeccomp, mode, arg string) helperResult {
	t.Helper()
	prog, _, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "prog.bpf")
	if err := os.WriteFile(path, prog, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperProgEnv+"="+path, helperArgEnv+"="+arg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("helper: %v", err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Exited() && ws.ExitStatus() == helperLoadErr {
		t.Skipf("cannot load a seccomp filter here: %s", strings.TrimSpace(stderr.String()))
	}
	return helperResult{stdout.String(), stderr.String(), ws}
}

func (r helperResult) wantErrno(t *testing.T, what string, want syscall.Errno) {
	t.Helper()
	if !r.status.Exited() || r.status.ExitStatus() != 0 {
		t.Fatalf("%s: helper ended with %v (stderr %q)", what, r.status, r.stderr)
	}
	if got := strings.TrimSpace(r.stdout); got != fmt.Sprintf("errno=%d", int(want)) {
		t.Errorf("%s: got %q, want errno=%d (%v)", what, got, int(want), want)
	}
}

func (r helperResult) wantSIGSYS(t *testing.T, what string) {
	t.Helper()
	if !r.status.Signaled() || r.status.Signal() != unix.SIGSYS {
		t.Errorf("%s: helper ended with %v, stdout %q: want killed by SIGSYS (status 128+31 in a shell)", what, r.status, r.stdout)
	}
}

func TestKernelErrno(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EACCES))}},
	}
	dir := filepath.Join(t.TempDir(), "d")
	runHelper(t, s, "mkdir", dir).wantErrno(t, "mkdir denied", unix.EACCES)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was created: %v", dir, err)
	}
	// Without errnoRet: EPERM.
	s.Syscalls[0].ErrnoRet = nil
	runHelper(t, s, "mkdir", dir).wantErrno(t, "mkdir default errno", unix.EPERM)
}

func TestKernelAllow(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{
			// What the Go runtime and the helper need, and mkdir.
			{Names: goRuntimeSyscalls, Action: specs.ActAllow},
			{Names: []string{"mkdir"}, Action: specs.ActAllow},
		},
	}
	dir := filepath.Join(t.TempDir(), "d")
	runHelper(t, s, "mkdir", dir).wantErrno(t, "mkdir allowed", 0)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("mkdir did not happen: %v", err)
	}
	// Anything else gets the default errno.
	runHelper(t, s, "getppid", "").wantErrno(t, "getppid by default", unix.EPERM)
}

func TestKernelKillProcess(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActKillProcess}},
	}
	runHelper(t, s, "getppid", "").wantSIGSYS(t, "getppid with KILL_PROCESS")
	runHelper(t, s, "mkdir", filepath.Join(t.TempDir(), "d")).wantErrno(t, "mkdir with KILL_PROCESS for getppid", 0)
}

// TestKernelArgs: a comparison on the upper half of a 64-bit argument.
func TestKernelArgs(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EACCES)),
			Args: []specs.LinuxSeccompArg{{Index: 2, Op: specs.OpGreaterThan, Value: 0xffffffff}, {Index: 0, Op: specs.OpMaskedEqual, Value: 0xffffffff_00000000, ValueTwo: 0xffffffff_00000000}}}},
	}
	runHelper(t, s, "mkdirat", filepath.Join(t.TempDir(), "d")).wantErrno(t, "mkdirat mode 0x1_000001ed > 0xffffffff", unix.EACCES)
	s.Syscalls[0].Args[0].Value = 0x1_000001ed
	runHelper(t, s, "mkdirat", filepath.Join(t.TempDir(), "d")).wantErrno(t, "mkdirat mode 0x1_000001ed > 0x1_000001ed", 0)
}

func TestKernelActions(t *testing.T) {
	const killed = syscall.Errno(0xffff)
	for _, tc := range []struct {
		act  specs.LinuxSeccompAction
		want syscall.Errno
	}{
		{specs.ActLog, 0},              // allowed (and logged)
		{specs.ActTrace, unix.ENOSYS},  // no tracer: ENOSYS
		{specs.ActNotify, unix.ENOSYS}, // no listener: ENOSYS
		{specs.ActErrno, unix.EPERM},   // default errno
		{specs.ActKillProcess, killed},
	} {
		s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: tc.act}}}
		r := runHelper(t, s, "getppid", "")
		if tc.want == killed {
			r.wantSIGSYS(t, string(tc.act))
		} else {
			r.wantErrno(t, string(tc.act), tc.want)
		}
	}
}

// TestKernelBadArch: a call with the x32 bit is killed unless SCMP_ARCH_X32
// is listed.
func TestKernelBadArch(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	runHelper(t, s, "x32-getpid", "").wantSIGSYS(t, "x32 call without SCMP_ARCH_X32")
	s.Architectures = []specs.Arch{specs.ArchX86_64, specs.ArchX32}
	r := runHelper(t, s, "x32-getpid", "")
	if !r.status.Exited() || r.status.ExitStatus() != 0 {
		t.Errorf("x32 call with SCMP_ARCH_X32: helper ended with %v", r.status)
	}
	// The kernel answers (a pid: errno 0), or ENOSYS where x32 is disabled.
	t.Logf("x32 getpid with SCMP_ARCH_X32: %s", strings.TrimSpace(r.stdout))
}

// TestKernelPodman runs an ordinary shell session under Podman's default
// profile.
func TestKernelPodman(t *testing.T) {
	s := podmanProfile(t)
	dir := t.TempDir()
	script := `set -e
cd "$1"
echo hello > f
cat f
mkdir d
ln -s f l
ls
sleep 0.01
test "$(id -u)" = "$(id -u)"
echo done`
	r := runHelper(t, s, "exec", strings.Replace(script, `"$1"`, shellQuote(dir), 1))
	if !r.status.Exited() || r.status.ExitStatus() != 0 {
		t.Fatalf("shell under Podman's profile ended with %v: stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	want := "hello\nd\nf\nl\ndone\n"
	if r.stdout != want {
		t.Errorf("stdout %q, want %q (stderr %q)", r.stdout, want, r.stderr)
	}
}

// bwrapSeccomp runs bwrap with prog on fd 3 (--seccomp 3), the way the
// runtime hands it over: a memfd rewound to its start.
func bwrapSeccomp(t *testing.T, bwrap string, prog []byte, args ...string) (string, int) {
	t.Helper()
	fd, err := unix.MemfdCreate("bwrap-oci-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "seccomp")
	defer f.Close()
	if _, err := f.Write(prog); err != nil {
		t.Fatal(err)
	}
	// bwrap reads from the current offset.
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	argv := []string{"--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--die-with-parent"}
	if prog != nil {
		argv = append(argv, "--seccomp", "3")
	}
	cmd := exec.Command(bwrap, append(argv, args...)...)
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// TestBwrap hands compiled programs to the real bwrap.
func TestBwrap(t *testing.T) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bwrap is not installed")
	}
	if out, code := bwrapSeccomp(t, bwrap, nil, "/bin/sh", "-c", "mkdir /tmp/x"); code != 0 {
		t.Skipf("bwrap does not work here (exit %d): %s", code, out)
	}
	deny := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EACCES))}},
	}
	prog, _, err := Compile(deny)
	if err != nil {
		t.Fatal(err)
	}
	out, code := bwrapSeccomp(t, bwrap, prog, "/bin/sh", "-c", "mkdir /tmp/x")
	if code != 1 || !strings.Contains(out, "Permission denied") {
		t.Errorf("mkdir denied with EACCES: exit %d, output %q", code, out)
	}

	kill := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActKillProcess}}}
	if prog, _, err = Compile(kill); err != nil {
		t.Fatal(err)
	}
	// The shell reads its $PPID with getppid when it starts.
	if out, code := bwrapSeccomp(t, bwrap, prog, "/bin/sh", "-c", "echo $PPID"); code != 128+int(unix.SIGSYS) {
		t.Errorf("getppid with KILL_PROCESS: exit %d (want %d), output %q", code, 128+int(unix.SIGSYS), out)
	}

	if _, err := os.Stat(podmanProfilePath); err == nil {
		if prog, _, err = Compile(podmanProfile(t)); err != nil {
			t.Fatal(err)
		}
		out, code := bwrapSeccomp(t, bwrap, prog, "/bin/sh", "-c", "cd /tmp && echo hi > f && mkdir d && ls && cat f && cat /proc/self/status >/dev/null && echo ok")
		if code != 0 || out != "d\nf\nhi\nok\n" {
			t.Errorf("shell under Podman's profile: exit %d, output %q", code, out)
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// goRuntimeSyscalls keep a Go helper alive under a deny-by-default filter.
var goRuntimeSyscalls = []string{"read", "write", "openat", "close", "fstat", "newfstatat", "mmap", "munmap", "mprotect",
	"madvise", "brk", "futex", "nanosleep", "clock_gettime", "clock_nanosleep", "sched_yield", "getpid", "gettid", "tgkill",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "exit", "exit_group", "epoll_wait", "epoll_pwait",
	"epoll_ctl", "pipe2", "fcntl", "getrlimit", "prlimit64", "setrlimit", "prctl", "arch_prctl", "set_robust_list", "rseq",
	"clone", "clone3", "wait4", "waitid", "getrandom", "sched_getaffinity", "uname", "readlinkat", "pread64"}
