// Package hooks runs the lifecycle hooks of a container config (runtime
// spec, config.md "POSIX-platform Hooks").
//
// Each hook gets the container's state as JSON on its standard input, its
// own args (args[0] is argv[0]; path is the executable) and exactly its own
// env (nothing of the runtime's), and is killed, with every process of its
// process group, when its timeout expires. Its stdout and stderr go to
// anonymous files, not pipes, so that a daemon it leaves behind can neither
// hold the runtime up nor die of SIGPIPE; the last line of its stderr (or
// stdout) goes into the error.
//
// Where a kind runs is fixed by the spec and so by its Kind:
//
//	kind             executed in   path resolves in
//	prestart         runtime       runtime
//	createRuntime    runtime       runtime
//	createContainer  container     runtime (opened on the host, run through /proc/self/fd)
//	startContainer   container     container
//	poststart        runtime       runtime
//	poststop         runtime       runtime
//
// Hooks executed in the container's namespaces are started by nsenter
// (util-linux), which enters every namespace of the container's process that
// differs from the runtime's (user, mount, pid, net, ipc, uts, cgroup) with
// --preserve-credentials, and executes a sealed memfd copy of this binary
// as a small helper (see helper.go): the helper executes the hook with its
// exact argv[0] and env, which nsenter alone cannot. The runtime's binary on
// disk never runs inside the container. The helper is dispatched from this
// package's init, so any binary linking this package serves as one.
//
// Hooks executed in the runtime's namespaces run with the bundle directory
// as working directory (as runc does); those in the container's, in the
// root of its mount namespace.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Kind is a kind of hook: its name in config.json.
type Kind string

// The kinds of hook, in the order of the lifecycle.
const (
	Prestart        Kind = "prestart" // deprecated by the spec, still run
	CreateRuntime   Kind = "createRuntime"
	CreateContainer Kind = "createContainer"
	StartContainer  Kind = "startContainer"
	Poststart       Kind = "poststart"
	Poststop        Kind = "poststop"
)

// Kinds lists every kind, in lifecycle order.
var Kinds = []Kind{Prestart, CreateRuntime, CreateContainer, StartContainer, Poststart, Poststop}

// InContainer tells whether hooks of kind k are executed in the container's
// namespaces (createContainer, startContainer).
func (k Kind) InContainer() bool { return k == CreateContainer || k == StartContainer }

// ResolvesInContainer tells whether the path of a hook of kind k resolves in
// the container's mount namespace (startContainer only).
func (k Kind) ResolvesInContainer() bool { return k == StartContainer }

// Continues tells whether a failed hook of kind k lets the remaining hooks
// run: true for poststop (runtime.md, lifecycle step 13: a warning) and for
// poststart (runtime-spec up to v1.2; see the package's report: v1.3 makes
// a failed poststart an error that stops the container). Run runs every
// hook of such a kind and returns the failures joined, for the caller to
// log as warnings.
func (k Kind) Continues() bool { return k == Poststart || k == Poststop }

// Of returns the hooks of kind k in h (nil-safe).
func Of(h *specs.Hooks, k Kind) []specs.Hook {
	if h == nil {
		return nil
	}
	switch k {
	case Prestart:
		return h.Prestart //nolint:staticcheck // deprecated, still part of the spec
	case CreateRuntime:
		return h.CreateRuntime
	case CreateContainer:
		return h.CreateContainer
	case StartContainer:
		return h.StartContainer
	case Poststart:
		return h.Poststart
	case Poststop:
		return h.Poststop
	}
	return nil
}

// FieldError is a hook that is not valid: Field is its JSON path, e.g.
// "hooks.poststart[0].timeout". (Not a spec.Error, so that internal/spec
// can call Validate: convert with &spec.Error{File: f, Field: e.Field,
// Msg: e.Msg}.)
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks every hook of h: path absolute, timeout greater than zero
// when set, no NUL byte in path, args or env. The error is a *FieldError.
func Validate(h *specs.Hooks) error {
	for _, k := range Kinds {
		for i, hk := range Of(h, k) {
			if err := validateHook(k, i, &hk); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateHook(k Kind, i int, h *specs.Hook) error {
	field := func(f string) string { return fmt.Sprintf("hooks.%s[%d]%s", k, i, f) }
	switch {
	case h.Path == "":
		return &FieldError{Field: field(".path"), Msg: "missing: give the hook's executable, an absolute path"}
	case strings.IndexByte(h.Path, 0) >= 0:
		return &FieldError{Field: field(".path"), Msg: "contains a NUL byte"}
	case !path.IsAbs(h.Path):
		return &FieldError{Field: field(".path"), Msg: fmt.Sprintf("%q must be an absolute path", h.Path)}
	}
	for j, a := range h.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return &FieldError{Field: field(fmt.Sprintf(".args[%d]", j)), Msg: "contains a NUL byte"}
		}
	}
	for j, e := range h.Env {
		if strings.IndexByte(e, 0) >= 0 {
			return &FieldError{Field: field(fmt.Sprintf(".env[%d]", j)), Msg: "contains a NUL byte"}
		}
	}
	if h.Timeout != nil && *h.Timeout <= 0 {
		return &FieldError{Field: field(".timeout"), Msg: fmt.Sprintf("must be greater than zero (got %d)", *h.Timeout)}
	}
	return nil
}

// Run runs the hooks of kind k in order, each with st as JSON on stdin.
//
// st.Pid is the container's process as the runtime sees it. Hooks of a kind
// executed in the container's namespaces (createContainer, startContainer)
// are run in the namespaces of that process, and get its pid as seen in the
// container (runtime.md: "For hooks executed in the container namespace, it
// is the pid as seen by the container"); st.Pid must then be set.
//
// For prestart, createRuntime, createContainer and startContainer, Run stops
// at the first failure and returns it. For poststart and poststop (see
// Kind.Continues) it runs every hook and returns the failures joined with
// errors.Join (use Errors to split them). Each failure is one line naming
// the hook: "hooks.createRuntime[1]: /path exited 3: LAST LINE OF STDERR".
// Cancelling ctx kills the running hook.
func Run(ctx context.Context, k Kind, list []specs.Hook, st *specs.State) error {
	if len(list) == 0 {
		return nil
	}
	s := *st
	var target int
	if k.InContainer() {
		if st.Pid <= 0 {
			return fmt.Errorf("hooks.%s: no container process to run the hooks in", k)
		}
		target = st.Pid
		if p, err := nsPid(st.Pid); err == nil {
			s.Pid = p
		} else {
			return fmt.Errorf("hooks.%s: container process %d: %v", k, st.Pid, err)
		}
	}
	data, err := json.Marshal(&s)
	if err != nil {
		return err
	}
	r := &runner{kind: k, state: data, target: target, dir: st.Bundle}
	defer r.close()
	var errs []error
	for i := range list {
		if ctx.Err() != nil {
			return errors.Join(append(errs, fmt.Errorf("hooks.%s[%d]: %s not run: %v", k, i, list[i].Path, context.Cause(ctx)))...)
		}
		if err := r.run(ctx, i, &list[i]); err != nil {
			if !k.Continues() {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Errors splits an error returned by Run into its one-line failures.
func Errors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// runner runs the hooks of one kind.
type runner struct {
	kind   Kind
	state  []byte
	target int    // 0: the runtime's namespaces; else the container's process
	dir    string // working directory of runtime-namespace hooks

	nsArgs  []string // nsenter's namespace options (target != 0)
	nsenter string
	self    *os.File // sealed copy of this binary, the helper
}

func (r *runner) close() {
	if r.self != nil {
		r.self.Close()
	}
}

// fail is a failure of hook i.
func (r *runner) fail(i int, h *specs.Hook, format string, a ...any) error {
	return fmt.Errorf("hooks.%s[%d]: %s %s", r.kind, i, h.Path, fmt.Sprintf(format, a...))
}

func (r *runner) run(ctx context.Context, i int, h *specs.Hook) error {
	if err := validateHook(r.kind, i, h); err != nil {
		return err
	}
	stdin, err := memfile("hook-stdin", r.state)
	if err != nil {
		return err
	}
	defer stdin.Close()
	stdout, err := memfile("hook-stdout", nil)
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := memfile("hook-stderr", nil)
	if err != nil {
		return err
	}
	defer stderr.Close()
	argv := h.Args
	if len(argv) == 0 {
		argv = []string{h.Path}
	}
	env := h.Env
	if env == nil {
		env = []string{}
	}

	var proc *os.Process
	if r.target == 0 {
		dir := r.dir
		if fi, err := os.Stat(dir); dir == "" || err != nil || !fi.IsDir() {
			dir = "/"
		}
		proc, err = os.StartProcess(h.Path, argv, &os.ProcAttr{
			Dir:   dir,
			Env:   env,
			Files: []*os.File{stdin, stdout, stderr},
			Sys:   &syscall.SysProcAttr{Setpgid: true},
		})
		if err != nil {
			return fmt.Errorf("hooks.%s[%d]: %s: %v", r.kind, i, h.Path, unwrapStart(err))
		}
	} else {
		if proc, err = r.startInContainer(i, h, argv, env, stdin, stdout, stderr); err != nil {
			return err
		}
	}

	var timeout time.Duration
	if h.Timeout != nil {
		timeout = time.Duration(*h.Timeout) * time.Second
	}
	ws, why, err := waitKilling(ctx, proc, timeout)
	if err != nil {
		return r.fail(i, h, "could not be waited for: %v", err)
	}
	switch why {
	case killedTimeout:
		return r.fail(i, h, "timed out after %ds: killed%s", *h.Timeout, lastLine(": ", stderr, stdout))
	case killedContext:
		return r.fail(i, h, "was killed: %v%s", context.Cause(ctx), lastLine(": ", stderr, stdout))
	}
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		if msg, ok := helperFailure(stderr); ok && r.target != 0 {
			return fmt.Errorf("hooks.%s[%d]: %s", r.kind, i, msg)
		}
		return r.fail(i, h, "exited %d%s", ws.ExitStatus(), lastLine(": ", stderr, stdout))
	case ws.Signaled():
		return r.fail(i, h, "was killed by %s%s", unix.SignalName(ws.Signal()), lastLine(": ", stderr, stdout))
	}
	return r.fail(i, h, "ended with wait status %#x", uint32(ws))
}

// unwrapStart turns "fork/exec /x: no such file or directory" into its cause.
func unwrapStart(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type killReason int

const (
	notKilled killReason = iota
	killedTimeout
	killedContext
)

// waitKilling waits for proc. When the timeout (if > 0) expires or ctx ends
// first, it kills proc's whole process group. The group is never signalled
// once proc has exited: proc is waited for without reaping first, so its pid
// (the group's id) cannot be reused meanwhile.
func waitKilling(ctx context.Context, proc *os.Process, timeout time.Duration) (syscall.WaitStatus, killReason, error) {
	var (
		mu     sync.Mutex
		exited bool
		why    = notKilled
	)
	kill := func(r killReason) {
		mu.Lock()
		defer mu.Unlock()
		if exited || why != notKilled {
			return
		}
		why = r
		_ = unix.Kill(-proc.Pid, unix.SIGKILL)
		_ = proc.Kill() // in case it left its group
	}
	done := make(chan struct{})
	defer close(done)
	if timeout > 0 {
		t := time.AfterFunc(timeout, func() { kill(killedTimeout) })
		defer t.Stop()
	}
	go func() {
		select {
		case <-ctx.Done():
			kill(killedContext)
		case <-done:
		}
	}()
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, proc.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, notKilled, err
		}
		break
	}
	mu.Lock()
	exited = true
	reason := why
	mu.Unlock()
	ps, err := proc.Wait()
	if err != nil {
		return 0, reason, err
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	return ws, reason, nil
}

// memfile returns an anonymous file holding data, positioned at its start.
func memfile(name string, data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %v", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if len(data) > 0 {
		if _, err := f.Write(data); err != nil {
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

// tail is how much of a hook's output is read for its last line.
const tail = 8 << 10

// lastLine returns prefix and the last non-empty line of the first file
// that has one (at most 400 bytes, control characters replaced), or "".
func lastLine(prefix string, files ...*os.File) string {
	for _, f := range files {
		var st unix.Stat_t
		if unix.Fstat(int(f.Fd()), &st) != nil {
			continue
		}
		off := max(st.Size-tail, 0)
		buf := make([]byte, st.Size-off)
		n, _ := f.ReadAt(buf, off)
		lines := bytes.Split(bytes.TrimRight(buf[:n], "\r\n\t "), []byte("\n"))
		line := strings.TrimSpace(string(lines[len(lines)-1]))
		if line == "" {
			continue
		}
		line = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, line)
		if len(line) > 400 {
			line = line[:400] + "..."
		}
		return prefix + line
	}
	return ""
}
