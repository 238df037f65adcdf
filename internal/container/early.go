package container

import (
	"os"
	"os/exec"
	"slices"
	"syscall"

	"github.com/bwrap-oci/bwrap-oci/internal/hooks"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// An early bwrap is started by Prepare for a foreground run before the
// plan is made: bwrap takes about 1.5 ms to execute, load its libraries and
// get to its arguments, and that overlaps the translation, the state
// directory and the keeper's answer instead of following them. It gets
// its descriptors and the command at once, but its options on an --args
// pipe (bwrap reads it to its end before it does anything), which create
// writes once the plan is final. Only what the config alone decides is
// fixed early; when the plan needs another start (an init with a cgroup of
// its own, the helper for ids or a terminal, a seccomp filter bwrap cannot
// take), create discards the early bwrap, which had done nothing yet, and
// starts bwrap as usual.
type early struct {
	cmd          *exec.Cmd
	o            RunOptions
	args         *os.File // the --args pipe
	infoR, syncW *os.File
	userns       *os.File // the keeper's namespace it was given, or nil
	seccomp      *os.File // an empty memfd for the filter, or nil
	umask        int
	extra        fds

	// bwrap's numbers for the descriptors above
	syncFD, infoFD, usernsFD, seccompFD string
}

// earlyFits tells from the config and the run's options whether bwrap can
// be started early: no console socket, no hook that holds the container
// before its process, no namespace to join, and the process's umask (bwrap
// inherits it at its start) already this process's.
func earlyFits(s *specs.Spec, o *RunOptions, umask int) bool {
	if o.ConsoleSocket != "" || o.Detach {
		return false
	}
	if len(hooks.Of(s.Hooks, hooks.CreateContainer))+len(hooks.Of(s.Hooks, hooks.StartContainer)) > 0 {
		return false
	}
	if s.Linux != nil {
		for _, ns := range s.Linux.Namespaces {
			if ns.Path != "" {
				return false
			}
		}
	}
	if s.Process.User.Umask != nil && int(*s.Process.User.Umask) != umask {
		return false
	}
	return true
}

// currentUmask reads the umask; call it before any goroutine creates files.
func currentUmask() int {
	old := unix.Umask(0o22)
	unix.Umask(old)
	return old
}

// startEarly starts bwrap with the command, o's descriptors, the start and
// info pipes, userns (the keeper's namespace, or nil) and, when seccomp
// says so, a memfd for the filter, and leaves it reading its options.
func startEarly(bin string, command []string, o RunOptions, userns *os.File, seccomp bool, umask int) (e *early, err error) {
	e = &early{o: o, userns: userns, umask: umask}
	var ours []*os.File // closed once bwrap has them, or on failure
	defer func() {
		closeAll(ours...)
		if err != nil {
			closeAll(e.infoR, e.syncW, e.args, e.seccomp)
		}
	}()
	for i := 0; i < o.PreserveFDs; i++ {
		e.extra.add(os.NewFile(uintptr(3+i), "preserved"))
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ours = append(ours, syncR)
	e.syncW = syncW
	e.syncFD = e.extra.add(syncR)
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ours = append(ours, infoW)
	e.infoR = infoR
	e.infoFD = e.extra.add(infoW)
	if userns != nil {
		e.usernsFD = e.extra.add(userns)
	}
	if seccomp {
		if e.seccomp, err = unixMemfd("bwrap-oci-seccomp"); err != nil {
			return nil, err
		}
		e.seccompFD = e.extra.add(e.seccomp)
	}
	argsR, argsW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ours = append(ours, argsR)
	e.args = argsW
	argv := append([]string{"--args", e.extra.add(argsR), "--"}, command...)
	cmd := exec.Command(bin, argv...)
	cmd.Args[0] = "bwrap"
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.ExtraFiles = e.extra.files
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e.cmd = cmd
	trace("bwrap started early")
	return e, nil
}

// fits tells whether e can run the plan made since it started: the
// options create would give bwrap need no descriptor e lacks.
func (e *early) fits(p *Prepared, o RunOptions, userns *os.File) bool {
	plan := p.Plan
	return e.cmd.Path == p.BwrapBin && slices.Equal(e.cmd.Args[4:], plan.Command) &&
		o.PreserveFDs == e.o.PreserveFDs && o.Stdin == e.o.Stdin && o.Stdout == e.o.Stdout && o.Stderr == e.o.Stderr &&
		o.ConsoleSocket == "" && userns == e.userns && (plan.Seccomp != nil) == (e.seccomp != nil) &&
		(plan.Umask == nil || int(*plan.Umask) == e.umask) &&
		plan.CgroupMount == "" && len(plan.Join) == 0 && plan.Creds == nil && plan.Init == ""
}

// discard ends an early bwrap that will not be used: killed before its
// --args pipe closes. At end-of-file (the runtime killed before it wrote
// the options) bwrap goes on with none: an empty sandbox, where the
// command is not found, so nothing runs.
func (e *early) discard() {
	if e == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	_ = e.cmd.Wait()
	closeAll(e.args, e.infoR, e.syncW, e.seccomp)
	trace("early bwrap discarded")
}

// start gives the early bwrap its options (everything before the command)
// on its --args pipe, which it reads to its end.
func (e *early) start(opts []string) error {
	var b []byte
	for _, a := range opts {
		b = append(append(b, a...), 0)
	}
	_, err := e.args.Write(b)
	if cerr := e.args.Close(); err == nil {
		err = cerr
	}
	return err
}
