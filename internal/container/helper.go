package container

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	"golang.org/x/sys/unix"
)

// InitHelperArg is argv[1] of the init helper (see RunInitHelper).
const InitHelperArg = "__bwrap-oci-init"

// initParams tell the init helper what bwrap could not do.
type initParams struct {
	KeepFDs int          `json:"keepFDs"`
	Ctty    bool         `json:"ctty,omitempty"`
	Creds   *bwrap.Creds `json:"creds,omitempty"`
}

// RunInitHelper runs as the container's process, from a sealed memfd copy of
// bwrap-oci, when bwrap cannot finish the process's set-up itself: it makes
// stdin the controlling terminal (bwrap made a new session), and sets the
// process's ids, groups and exact capability sets, then executes the
// process. args: JSON initParams, "--", the process's arguments. It returns
// only on failure.
func RunInitHelper(args []string) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "bwrap-oci: "+format+"\n", a...)
		return code
	}
	runtime.LockOSThread()
	if len(args) < 3 || args[1] != "--" {
		return fail(125, "bad init helper arguments")
	}
	var p initParams
	if err := json.Unmarshal([]byte(args[0]), &p); err != nil {
		return fail(125, "init helper parameters: %v", err)
	}
	argv := args[2:]
	if p.Ctty {
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return fail(125, "taking the terminal: %v", err)
		}
	}
	cwd, _ := os.Getwd()
	bin, err := findExec(argv[0], os.Environ(), cwd)
	if err != nil {
		return fail(127, "%v", err)
	}
	if c := p.Creds; c != nil {
		hp := &helperParams{UID: c.UID, GID: c.GID, Groups: c.Groups, SetGroups: c.SetGroups, Caps: &capNumbers{
			Bounding: c.Bounding, Effective: c.Effective, Permitted: c.Permitted, Inheritable: c.Inheritable, Ambient: c.Ambient}}
		if err := setCreds(hp); err != nil {
			return fail(125, "%v", err)
		}
	}
	_ = unix.CloseRange(uint(3+p.KeepFDs), math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	err = unix.Exec(bin, argv, os.Environ())
	if err == unix.ENOENT {
		return fail(127, "exec %s: %v", argv[0], err)
	}
	return fail(126, "exec %s: %v", argv[0], err)
}

// RunHelper is the exec helper: it runs inside every namespace of the
// container (nsenter put it there) as a sealed memfd copy of this binary,
// sets the process's ids, capabilities, limits and directory, and executes
// the process. It returns only on failure, with the exit status to use.
func RunHelper(args []string) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "bwrap-oci exec: "+format+"\n", a...)
		return code
	}
	// Credentials are per thread: do all of it, and the execve, on one.
	runtime.LockOSThread()
	if len(args) != 2 {
		return fail(125, "bad helper arguments")
	}
	selfFD, err1 := strconv.Atoi(args[0])
	paramFD, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil {
		return fail(125, "bad helper arguments")
	}
	pf := os.NewFile(uintptr(paramFD), "params")
	data, err := io.ReadAll(io.LimitReader(pf, 64<<20))
	pf.Close()
	unix.Close(selfFD)
	if err != nil {
		return fail(125, "reading parameters: %v", err)
	}
	var p helperParams
	if err := json.Unmarshal(data, &p); err != nil {
		return fail(125, "parameters: %v", err)
	}
	if p.NewSession {
		_, _ = unix.Setsid()
	}
	if p.ConsoleFD > 0 {
		if err := consoleInside(p.ConsoleFD, p.UID, p.GID); err != nil {
			return fail(125, "terminal: %v", err)
		}
	}
	for _, r := range p.Rlimits {
		res, ok := spec.Rlimits[r.Type]
		if !ok {
			return fail(125, "unknown rlimit %q", r.Type)
		}
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return fail(125, "%s: %v", r.Type, err)
		}
	}
	if p.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*p.OOMScoreAdj)), 0); err != nil {
			return fail(125, "oomScoreAdj: %v", err)
		}
	}
	if p.Umask != nil {
		unix.Umask(int(*p.Umask))
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return fail(125, "cwd %s: %v", p.Cwd, err)
	}
	bin, err := findExec(p.Args[0], p.Env, p.Cwd)
	if err != nil {
		return fail(127, "%v", err)
	}
	if err := setCreds(&p); err != nil {
		return fail(125, "%v", err)
	}
	_ = unix.CloseRange(uint(3+p.KeepFDs), math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if len(p.Seccomp) > 0 {
		// Last, as bwrap does: the filter must allow execve.
		if err := loadSeccomp(p.Seccomp); err != nil {
			return fail(125, "seccomp: %v", err)
		}
	}
	err = unix.Exec(bin, p.Args, p.Env)
	code := 126
	if err == unix.ENOENT {
		code = 127
	}
	return fail(code, "exec %s: %v", p.Args[0], err)
}

// setCreds sets this thread's groups, ids and capability sets exactly, in
// the order runc uses: bounding set first (it needs CAP_SETPCAP), then ids
// with KEEPCAPS so that permitted survives, then the sets themselves.
func setCreds(p *helperParams) error {
	caps := p.Caps
	if caps == nil {
		caps = &capNumbers{}
	}
	last := 40
	if data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			last = n
		}
	}
	inBnd := map[int]bool{}
	for _, c := range caps.Bounding {
		inBnd[c] = true
	}
	for c := 0; c <= last; c++ {
		if !inBnd[c] {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
				return fmt.Errorf("dropping capability %d from the bounding set: %v", c, err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("keepcaps: %v", err)
	}
	if p.SetGroups {
		groups := p.Groups
		var ptr unsafe.Pointer
		if len(groups) > 0 {
			ptr = unsafe.Pointer(&groups[0])
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(ptr), 0); e != 0 {
			return fmt.Errorf("setgroups: %v", e)
		}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(p.GID), uintptr(p.GID), uintptr(p.GID)); e != 0 {
		return fmt.Errorf("setting gid %d: %v", p.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(p.UID), uintptr(p.UID), uintptr(p.UID)); e != 0 {
		return fmt.Errorf("setting uid %d: %v", p.UID, e)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	set := func(list []int, field func(*unix.CapUserData) *uint32) {
		for _, c := range list {
			*field(&d[c/32]) |= 1 << (uint(c) % 32)
		}
	}
	set(caps.Effective, func(x *unix.CapUserData) *uint32 { return &x.Effective })
	set(caps.Permitted, func(x *unix.CapUserData) *uint32 { return &x.Permitted })
	set(caps.Inheritable, func(x *unix.CapUserData) *uint32 { return &x.Inheritable })
	if err := unix.Capset(&hdr, &d[0]); err != nil {
		return fmt.Errorf("setting capabilities: %v", err)
	}
	_ = unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	for _, c := range caps.Ambient {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raising ambient capability %d: %v", c, err)
		}
	}
	_ = unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0)
	if p.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %v", err)
		}
	}
	return nil
}

// findExec resolves name as execvp would with env's PATH.
func findExec(name string, env []string, cwd string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathVar := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathVar = v
		}
	}
	denied := false
	for _, dir := range strings.Split(pathVar, ":") {
		if dir == "" {
			dir = cwd
		}
		p := path.Join(dir, name)
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
			continue
		}
		if unix.Access(p, unix.X_OK) == nil {
			return p, nil
		}
		denied = true
	}
	if denied {
		return "", fmt.Errorf("%q: permission denied", name)
	}
	return "", fmt.Errorf("%q: executable file not found in $PATH", name)
}

// consoleInside allocates a terminal from the container's own /dev/ptmx,
// makes it the controlling terminal and stdio, and sends the master over
// the console socket connection sock.
func consoleInside(sock int, uid, gid uint32) error {
	defer unix.Close(sock)
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(m)
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		return err
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		return err
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	sl, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	_ = unix.Fchown(sl, int(uid), int(gid))
	if _, err := unix.Setsid(); err != nil {
		return err
	}
	if err := unix.IoctlSetInt(sl, unix.TIOCSCTTY, 0); err != nil {
		return err
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup2(sl, fd); err != nil {
			return err
		}
	}
	if sl > 2 {
		unix.Close(sl)
	}
	return sendConsoleFD(sock, m, name)
}

// loadSeccomp installs a classic BPF seccomp filter on this thread (the
// exec'ing one). An unprivileged caller needs no_new_privs first: set it.
func loadSeccomp(prog []byte) error {
	if len(prog) == 0 || len(prog)%8 != 0 {
		return fmt.Errorf("bad program length %d", len(prog))
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0)
}
