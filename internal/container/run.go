package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/check"
	"github.com/bwrap-oci/bwrap-oci/internal/hooks"
	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/keeper"
	"github.com/bwrap-oci/bwrap-oci/internal/proc"
	"github.com/bwrap-oci/bwrap-oci/internal/selfexec"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// syncFile is where bwrap's --file op drains the start pipe: on bwrap's own
// tmpfs root, which the rootfs is then mounted over, so the container never
// sees it. Draining it there makes bwrap close the pipe in the container's
// process (it leaves a --userns-block-fd open otherwise).
const syncFile = "/.bwrap-oci-sync"

// RunOptions are the settings of `run` and `create`.
type RunOptions struct {
	ID            string
	Detach        bool
	PidFile       string
	ConsoleSocket string
	PreserveFDs   int
	Stdin         *os.File
	Stdout        *os.File
	Stderr        *os.File
}

// DryRun returns the bwrap command line of p as a person would paste it into
// a shell: the runtime's private sync options left out, and the process's id
// mapped to the caller's own (bwrap alone can map no more).
func DryRun(p *Prepared) string {
	var b strings.Builder
	plan := p.Plan
	if plan.NewUserNS && (idmap.NeedsHelper(plan.UIDMap, uint32(os.Getuid())) || idmap.NeedsHelper(plan.GIDMap, uint32(os.Getgid()))) {
		fmt.Fprintf(&b, "# bwrap-oci maps more ids with newuidmap/newgidmap (uid_map: %s; gid_map: %s);\n", oneLine(plan.UIDMap), oneLine(plan.GIDMap))
		b.WriteString("# this command maps only your own uid and gid.\n")
	}
	for _, l := range plan.Rlimits {
		fmt.Fprintf(&b, "# bwrap-oci also sets %s to %d/%d before the process starts\n", l.Field, l.Soft, l.Hard)
	}
	if plan.Seccomp != nil {
		fmt.Fprintf(&b, "# bwrap-oci also passes the compiled linux.seccomp filter (%d instructions) as --seccomp FD\n", len(plan.Seccomp)/8)
	}
	// Namespaces the runtime joins for bwrap: nsenter does it in a shell.
	var argv []string
	var enter []string
	for _, ns := range threadNS {
		if path, ok := plan.Join[ns.kind]; ok {
			enter = append(enter, "--"+map[string]string{"network": "net", "ipc": "ipc", "uts": "uts", "cgroup": "cgroup"}[ns.kind]+"="+path)
		}
	}
	if len(enter) > 0 {
		argv = append(append([]string{"nsenter"}, enter...), "--")
	}
	argv = append(argv, p.BwrapBin)
	// Namespaces bwrap joins through descriptors: the shell opens them.
	var redirs []string
	for i, kind := range []string{"user", "pid"} {
		if path, ok := plan.Join[kind]; ok {
			fd := 10 + i
			argv = append(argv, "--"+map[string]string{"user": "userns", "pid": "pidns"}[kind], strconv.Itoa(fd))
			redirs = append(redirs, fmt.Sprintf("%d<%s", fd, bwrap.Quote([]string{path})))
		}
	}
	argv = append(argv, plan.Args()...)
	argv = append(argv, "--")
	argv = append(argv, plan.Command...)
	if len(redirs) > 0 {
		fmt.Fprintf(&b, "exec %s\n", strings.Join(redirs, " "))
	}
	prefix := ""
	if plan.Umask != nil {
		prefix = fmt.Sprintf("umask %04o && ", *plan.Umask)
	}
	b.WriteString(prefix + "exec " + bwrap.Quote(argv) + "\n")
	return b.String()
}

func oneLine(ms []idmap.Mapping) string {
	return strings.ReplaceAll(strings.TrimSpace(idmap.Format(ms)), "\n", ", ")
}

// started is a container whose bwrap is up and whose process is set up.
type started struct {
	cmd       *exec.Cmd
	pid       int // the container's init, on the host
	pidStart  uint64
	container *state.Container
	release   chan struct{}    // closed once bwrap has exited (see startIn)
	cgroup    *containerCgroup // nil unless the container has a cgroup of its own
	notify    *notifyRelay     // nil unless NOTIFY_SOCKET is set (foreground)
	block     *os.File         // foreground with container hooks: releases --block-fd
	rec       *state.State
	sigs      chan os.Signal // caught since before bwrap started (see Run)
	notified  chan struct{}  // closed once sigs is registered
}

// mode says how far start takes a container.
type mode int

const (
	foreground mode = iota // run: wait for the container, remove it after
	detached               // run -d: leave it running
	created                // create: hold it before its process executes
)

// ExecFifo is the FIFO in the state dir that holds a created container
// (bwrap's --block-fd) until start writes to it.
const ExecFifo = "exec.fifo"

// Run runs a prepared bundle. In the foreground it returns the container's
// exit status; detached, 0 once the container's process runs.
func (rt *Runtime) Run(p *Prepared, o RunOptions) (int, error) {
	if o.Detach {
		if err := rt.Create(p, o); err != nil {
			return 1, err
		}
		return 0, rt.Start(o.ID)
	}
	if p.Plan.Terminal && o.ConsoleSocket == "" {
		if _, err := unix.IoctlGetTermios(int(o.Stdin.Fd()), unix.TCGETS); err != nil {
			rt.warn(p.Config.File + ": process.terminal: standard input is not a terminal: the process runs without one")
		}
	}
	// Signals are caught from now on, as runc does: one that arrives
	// while the container is created is forwarded to its init once that
	// runs (see wait). signal.Notify enables each signal in a round trip
	// to the runtime's signal thread, about a millisecond in all: on
	// another goroutine it overlaps the creation.
	sigs := make(chan os.Signal, 16)
	notified := make(chan struct{})
	go func() {
		signal.Notify(sigs)
		close(notified)
	}()
	st, err := rt.create(p, o, foreground)
	if err != nil {
		return 1, err
	}
	st.sigs, st.notified = sigs, notified
	hs := p.Config.Spec.Hooks
	if st.block != nil {
		if err := rt.runHooks(hooks.StartContainer, hs, hookState(st.rec, specs.StateCreated)); err != nil {
			_ = unix.Kill(st.pid, unix.SIGKILL)
			st.block.Close()
			rt.wait(st)
			if c, err := rt.store().Open(o.ID); err == nil {
				_ = c.Remove()
			}
			_ = rt.runHooks(hooks.Poststop, hs, hookState(st.rec, specs.StateStopped))
			return 1, err
		}
		_, _ = st.block.Write([]byte{1})
		st.block.Close()
		waitExec(st.pid, p.BwrapBin, 5*time.Second)
	}
	_ = rt.runHooks(hooks.Poststart, hs, hookState(st.rec, specs.StateRunning))
	code := rt.wait(st)
	trace("container exited")
	if st.notify != nil {
		st.notify.close()
	}
	if st.cgroup != nil {
		st.cgroup.remove()
	}
	if c, err := rt.store().Open(o.ID); err == nil {
		_ = c.Remove()
	}
	trace("state removed")
	_ = rt.runHooks(hooks.Poststop, hs, hookState(st.rec, specs.StateStopped))
	if p.Plan.Init != "" {
		// When an init in a PID namespace calls reboot(2), the kernel ends
		// it with SIGINT (power-off, halt) or SIGHUP (restart), which bwrap
		// reports as 128+N: that is a clean shutdown, not a failure.
		switch code {
		case 128 + int(unix.SIGINT):
			rt.warn(o.ID + ": " + p.Plan.Init + " powered off")
			code = 0
		case 128 + int(unix.SIGHUP):
			rt.warn(o.ID + ": " + p.Plan.Init + " rebooted (the container is not restarted)")
			code = 0
		}
	}
	return code, nil
}

// Create sets a container up and holds it before its process executes.
func (rt *Runtime) Create(p *Prepared, o RunOptions) error {
	st, err := rt.create(p, o, created)
	if err != nil {
		return err
	}
	_ = st.cmd.Process.Release()
	return nil
}

// Start lets a created container's process execute.
func (rt *Runtime) Start(id string) error {
	c, err := rt.store().Open(id)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Load()
	if err != nil {
		return err
	}
	if cur := st.Current(); cur != state.StatusCreated {
		return fmt.Errorf("container %q is %s, not created: only a created container can be started", id, cur)
	}
	fifo := filepath.Join(c.Dir(), ExecFifo)
	f, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("container %q: %w (its process is gone)", id, errNotRunning)
	}
	defer f.Close()
	hs := rt.savedHooks(st)
	if err := rt.runHooks(hooks.StartContainer, hs, hookState(st, specs.StateCreated)); err != nil {
		_ = signalInit(st, unix.SIGKILL)
		waitGone(st, 10*time.Second)
		return err
	}
	// Once the process runs, bwrap's monitor has nothing left to do but
	// wait for it, and it would stay resident (1.9 MB RSS) for the
	// container's whole life. Like runc's and crun's, a started container
	// keeps no process of the runtime: stop the monitor now, and kill it
	// once the process runs, so that the process passes, a zombie
	// included, to the nearest subreaper, which reaps it: the engine's
	// (conmon, containerd's shim) with --pid-file, else the host's init.
	// (Stopped first, the monitor cannot reap the process before that.)
	dropMonitor := st.MonitorPid > 0
	if dropMonitor {
		if err := unix.Kill(st.MonitorPid, unix.SIGSTOP); err != nil {
			dropMonitor = false
		}
	}
	if _, err = f.Write([]byte{0}); err != nil {
		if dropMonitor {
			_ = unix.Kill(st.MonitorPid, unix.SIGCONT)
		}
		return fmt.Errorf("container %q: starting: %v", id, err)
	}
	_ = os.Remove(fifo)
	st.Status = state.StatusRunning
	if bin := st.Extra["bwrap"]; bin != "" {
		// Return once the process has replaced bwrap, as runc returns
		// once its process is executed.
		waitExec(st.Pid, bin, 5*time.Second)
	}
	if dropMonitor {
		_ = unix.Kill(st.MonitorPid, unix.SIGKILL)
		st.MonitorPid = 0
	}
	if err := c.Save(st); err != nil {
		return err
	}
	return rt.runHooks(hooks.Poststart, hs, hookState(st, specs.StateRunning))
}

// fds hands files to bwrap: child fd numbers start at 3 after the
// preserved ones.
type fds struct{ files []*os.File }

func (f *fds) add(file *os.File) string {
	f.files = append(f.files, file)
	return strconv.Itoa(2 + len(f.files))
}

// create spawns bwrap and brings the container to the point where its
// process runs (or, for created, is about to), writing the state. On
// failure nothing is left behind.
func (rt *Runtime) create(p *Prepared, o RunOptions, m mode) (st *started, err error) {
	// Runs last: the clean-up below sees the original error.
	defer func() { err = check.Explain(err, check.Options{Bwrap: p.BwrapBin, Root: rt.Root}) }()
	hs := p.Config.Spec.Hooks
	hold := m == created || len(hooks.Of(hs, hooks.CreateContainer))+len(hooks.Of(hs, hooks.StartContainer)) > 0
	// A running keeper is asked for the container's user namespace while
	// the state dir is made (see keptUserNS).
	asked := p.asked // asked early (Runtime.Early), or now
	p.asked = nil
	var e *early // bwrap started early (see early), until used or discarded
	defer func() {
		if err != nil {
			e.discard()
		}
	}()
	if use := m == foreground && !hold && rt.keeps(p); !use && asked != nil {
		k := <-asked
		asked = nil
		if k.f != nil {
			k.drop() // its early bwrap joins the keeper's namespace
		} else {
			e = k.early
		}
	} else if use && asked == nil {
		asked = make(chan kept, 1)
		go func() {
			f, err := keeper.Ask(rt.keeperOptions(p.Plan.UIDMap, p.Plan.GIDMap))
			asked <- kept{f: f, err: err}
		}()
	}
	defer func() {
		if asked != nil { // a failure before the answer was used
			(<-asked).drop()
		}
	}()
	c, err := rt.store().Create(o.ID)
	if err != nil {
		return nil, err
	}
	trace("state dir created")
	var cleanup []func()
	var hookRec *state.State // set once the container exists: a failure runs poststop
	defer func() {
		for _, f := range cleanup {
			f()
		}
		if err != nil {
			_ = c.Remove()
			if hookRec != nil {
				_ = rt.runHooks(hooks.Poststop, hs, hookState(hookRec, specs.StateStopped))
			}
		} else {
			_ = c.Close()
		}
	}()
	var blockW *os.File
	closeLater := func(fs ...*os.File) {
		cleanup = append(cleanup, func() { closeAll(fs...) })
	}
	plan := p.Plan
	// bwrap does not close the user namespace it joins (--userns FD), and
	// the container would inherit it. --block-fd is the one option that
	// makes bwrap close a descriptor before the container's process runs
	// (reading a namespace fails at once): when nothing else holds the
	// container on it (created, or hooks to run before its process), the
	// user namespace is passed as --block-fd too. A kept user namespace
	// is only used then.
	closeFD := ""
	var userns *os.File
	if asked != nil {
		k := <-asked
		asked = nil
		e = k.early
		// An init such as systemd gets a cgroup of its own, and its runtime
		// may run inside that cgroup (in a unit, or as the systemd demo
		// does): a keeper started there would stay in it after the
		// container. It takes a keeper that runs, and starts none; it is
		// long-lived, so what a keeper saves matters little to it.
		if userns, err = rt.keptUserNS(p, k, plan.Init == ""); err != nil {
			return nil, err
		}
	}
	if userns != nil {
		closeLater(userns)
	}
	if e != nil && !(m == foreground && !hold && e.fits(p, o, userns)) {
		e.discard()
		e = nil
	}
	var extra fds
	var infoR, infoW, syncR, syncW *os.File
	var syncFD string
	if e != nil {
		extra, infoR, syncW, syncFD = e.extra, e.infoR, e.syncW, e.syncFD
		closeLater(infoR, syncW)
		if userns != nil {
			closeFD = e.usernsFD
		}
	} else {
		for i := 0; i < o.PreserveFDs; i++ {
			extra.add(os.NewFile(uintptr(3+i), "preserved"))
		}
		if infoR, infoW, err = os.Pipe(); err != nil {
			return nil, err
		}
		closeLater(infoR, infoW)
		if syncR, syncW, err = os.Pipe(); err != nil {
			return nil, err
		}
		closeLater(syncR, syncW)
		syncFD = extra.add(syncR)
		if userns != nil {
			closeFD = extra.add(userns)
		}
	}
	bwrapArgs := plan.Args()
	if userns != nil {
		bwrapArgs = plan.ArgsJoiningUserNS(closeFD)
	}
	var cg *containerCgroup
	if plan.CgroupMount != "" {
		if cg, err = newContainerCgroup(c.ID()); err != nil {
			return nil, fmt.Errorf("%s: %s needs a cgroup of its own: %v", p.Config.File, plan.Init, err)
		}
		cleanup = append(cleanup, func() {
			if err != nil {
				cg.remove()
			}
		})
		op := "--bind"
		if plan.CgroupMountRO {
			op = "--ro-bind"
		}
		bwrapArgs = beforeRootRemount(bwrapArgs, op, cg.dir, plan.CgroupMount)
	}
	var notify *notifyRelay
	if m == foreground {
		if notify, err = newNotifyRelay(c.Dir()); err != nil {
			return nil, fmt.Errorf("NOTIFY_SOCKET: %v", err)
		}
		if notify != nil {
			cleanup = append(cleanup, func() {
				if err != nil {
					notify.close()
				}
			})
			bwrapArgs = beforeRootRemount(bwrapArgs, notify.args()...)
		}
	}
	// The start pipe is drained by a --file op on bwrap's own tmpfs root
	// before the rootfs is mounted over it: see syncFile.
	opts := append([]string{"--file", syncFD, syncFile}, bwrapArgs...)
	var argv []string
	if e != nil {
		argv = []string{"--info-fd", e.infoFD}
	} else {
		argsFile, err := argsMemfd(opts)
		if err != nil {
			return nil, err
		}
		closeLater(argsFile)
		argv = []string{"--args", extra.add(argsFile), "--info-fd", extra.add(infoW)}
	}
	if plan.NewUserNS && userns == nil {
		argv = append(argv, "--userns-block-fd", syncFD)
	}
	for _, kind := range []string{"user", "pid"} {
		path, ok := plan.Join[kind]
		if !ok {
			continue
		}
		f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: linux.namespaces: %s namespace %s: %v", p.Config.File, kind, path, err)
		}
		closeLater(f)
		fd := extra.add(f)
		argv = append(argv, "--"+map[string]string{"user": "userns", "pid": "pidns"}[kind], fd)
		if kind == "user" && m == foreground && !hold {
			closeFD = fd
		}
	}
	if plan.Seccomp != nil && e != nil {
		if _, err := e.seccomp.WriteAt(plan.Seccomp, 0); err != nil {
			return nil, err
		}
		argv = append(argv, "--seccomp", e.seccompFD)
	} else if plan.Seccomp != nil {
		f, err := argsMemfdBytes(plan.Seccomp)
		if err != nil {
			return nil, err
		}
		closeLater(f)
		argv = append(argv, "--seccomp", extra.add(f))
	}
	if m == created {
		fifo := filepath.Join(c.Dir(), ExecFifo)
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			return nil, fmt.Errorf("creating %s: %v", fifo, err)
		}
		// Read-write, so that bwrap's read blocks until start writes
		// instead of seeing end-of-file.
		f, err := os.OpenFile(fifo, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		closeLater(f)
		argv = append(argv, "--block-fd", extra.add(f))
	} else if hold {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		closeLater(r)
		cleanup = append(cleanup, func() {
			if err != nil {
				w.Close()
			}
		})
		blockW = w
		argv = append(argv, "--block-fd", extra.add(r))
	} else if closeFD != "" {
		argv = append(argv, "--block-fd", closeFD)
	}
	if m == foreground {
		argv = append(argv, "--die-with-parent")
	}
	command := plan.Command
	ctty := plan.Terminal && o.ConsoleSocket != ""
	if ctty && !plan.ProcMounted {
		return nil, fmt.Errorf("%s: process.terminal: a terminal from --console-socket needs bwrap-oci's helper, which runs from /proc/self/fd: mount proc at /proc", p.Config.File)
	}
	if ctty || plan.Creds != nil {
		// What bwrap cannot do, a sealed copy of this binary does as the
		// container's process, run from a descriptor inside the container:
		// take the terminal as controlling terminal (the process must
		// lead its own session: start drops bwrap's monitor for the
		// engine's reaper, and a dying session leader hangs the terminal
		// up), and set ids, groups and exact capability sets.
		self, err := selfexec.SealedCopy("bwrap-oci", false)
		if err != nil {
			return nil, err
		}
		closeLater(self)
		fd := extra.add(self)
		if ctty {
			argv = append(argv, "--new-session")
		}
		params, err := json.Marshal(initParams{KeepFDs: o.PreserveFDs, Ctty: ctty, Creds: plan.Creds})
		if err != nil {
			return nil, err
		}
		command = append([]string{"/proc/self/fd/" + fd, InitHelperArg, string(params), "--"}, plan.Command...)
	}
	release := make(chan struct{})
	var cmd *exec.Cmd
	var master *os.File
	if e != nil {
		// The early bwrap reads everything but the command from its
		// --args pipe.
		closeLater(e.seccomp)
		cmd, err = e.cmd, e.start(append(opts, argv...))
		e = nil // from here on, a failure ends cmd (below)
	} else {
		argv = append(argv, "--")
		argv = append(argv, command...)
		cmd = exec.Command(p.BwrapBin, argv...)
		cmd.Args[0] = "bwrap"
		cmd.Env = []string{}
		cmd.Dir = "/"
		cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
		cmd.ExtraFiles = extra.files
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: m != foreground}
		if plan.Terminal && o.ConsoleSocket != "" {
			var slave *os.File
			master, slave, err = openPty()
			if err != nil {
				return nil, err
			}
			closeLater(master, slave)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		} else if plan.Terminal && m != foreground {
			return nil, fmt.Errorf("%s: process.terminal: a detached container needs --console-socket to get its terminal", p.Config.File)
		}
		if cg != nil {
			// bwrap starts in the container's cgroup (clone3 CLONE_INTO_CGROUP),
			// so that the cgroup namespace it makes for its child has that
			// cgroup as its root.
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(cg.fd.Fd())
		}
		err = startIn(cmd, plan, release)
	}
	trace("bwrap started")
	closeAll(infoW, syncR)
	if err != nil {
		if cmd.Process != nil { // an early bwrap the options did not reach
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return nil, fmt.Errorf("starting %s: %w", p.BwrapBin, err)
	}
	pid := 0
	defer func() {
		if err != nil {
			if pid > 0 {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	info, err := io.ReadAll(io.LimitReader(infoR, 1<<16))
	if err != nil {
		return nil, err
	}
	var ci struct {
		ChildPid int `json:"child-pid"`
	}
	if jerr := json.Unmarshal(info, &ci); jerr != nil || ci.ChildPid <= 0 {
		syncW.Close()
		trace("released")
		werr := cmd.Wait()
		return nil, fmt.Errorf("bwrap failed before the container started (%v)", werr)
	}
	pid = ci.ChildPid
	trace("child pid read")
	if cg != nil {
		// Only the container stays in its cgroup: bwrap's monitor goes
		// back to ours, so that systemd sees no stranger in its root.
		if err := cg.moveOut(cmd.Process.Pid); err != nil {
			return nil, err
		}
	}
	// newuidmap and newgidmap start at once, side by side, and run while
	// the rest of what must precede the release is done. A failure from
	// here on waits for them (they are our children) before returning.
	waitMaps := func() error { return nil }
	if plan.NewUserNS && userns == nil {
		if waitMaps, err = rt.startMaps(pid, plan); err != nil {
			return nil, err
		}
	}
	mapsPending := true
	defer func() {
		if mapsPending {
			_ = waitMaps()
		}
	}()
	for _, r := range plan.Rlimits {
		lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(pid, r.Resource, &lim, nil); err != nil {
			return nil, fmt.Errorf("%s: %s: setting the limit: %v", p.Config.File, r.Field, err)
		}
	}
	if plan.OOMScoreAdj != nil {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(strconv.Itoa(*plan.OOMScoreAdj)), 0); err != nil {
			return nil, fmt.Errorf("%s: process.oomScoreAdj: %v (lowering it needs privilege)", p.Config.File, err)
		}
	}
	start, err := state.StartTime(pid)
	if err != nil {
		return nil, fmt.Errorf("container process %d vanished during set-up", pid)
	}
	status := state.StatusRunning
	if m == created {
		status = state.StatusCreated
	}
	rec := &state.State{
		OCIVersion:  specs.Version,
		ID:          c.ID(),
		Bundle:      p.Bundle,
		Pid:         pid,
		PidStart:    start,
		MonitorPid:  cmd.Process.Pid,
		Created:     time.Now().UTC(),
		Annotations: p.Config.Spec.Annotations,
		Status:      status,
		Owner:       os.Getuid(),
		Extra:       map[string]string{"bwrap": p.BwrapBin},
	}
	if cg != nil {
		rec.Extra["cgroup"] = cg.dir
	}
	save := func() error {
		frozen, err := freezeConfig(c.Dir(), p.Data)
		if err != nil {
			return err
		}
		rec.Extra["config"] = frozen
		if err := c.Save(rec); err != nil {
			return err
		}
		hookRec = rec
		trace("state saved")
		return nil
	}
	// Hooks that run before the release may ask for the state (`bwrap-oci
	// state ID`): then it is saved first. Otherwise it is saved once bwrap
	// is released, while bwrap sets the container up on another CPU.
	saveFirst := len(hooks.Of(hs, hooks.Prestart))+len(hooks.Of(hs, hooks.CreateRuntime)) > 0
	if saveFirst {
		if err := save(); err != nil {
			return nil, err
		}
	}
	mapsPending = false
	if err := waitMaps(); err != nil {
		return nil, err
	}
	trace("id maps written")
	for _, k := range []hooks.Kind{hooks.Prestart, hooks.CreateRuntime} {
		if err := rt.runHooks(k, hs, hookState(rec, specs.StateCreating)); err != nil {
			return nil, err
		}
	}
	// Release the set-up: the monitor reads a byte (once the user
	// namespace is mapped), the child drains the pipe to end-of-file.
	if _, err := syncW.Write([]byte{1}); err != nil && plan.NewUserNS {
		return nil, fmt.Errorf("releasing the container: %v", err)
	}
	syncW.Close()
	if !saveFirst {
		if err := save(); err != nil {
			return nil, err
		}
	}
	if hold {
		// Set-up errors (a failed mount) end bwrap before it blocks:
		// create must fail then, not leave a dead container.
		if err := waitBlocked(pid, p.Rootfs); err != nil {
			return nil, err
		}
		if err := rt.runHooks(hooks.CreateContainer, hs, hookState(rec, specs.StateCreating)); err != nil {
			return nil, err
		}
	}
	if master != nil {
		if err := sendConsole(o.ConsoleSocket, master); err != nil {
			return nil, err
		}
	}
	if o.PidFile != "" {
		// The container's process, which the caller reaps (see Start and
		// docs/engines.md).
		if err := writePidFile(o.PidFile, pid); err != nil {
			return nil, err
		}
	}
	if notify != nil {
		go notify.run()
	}
	return &started{cmd: cmd, pid: pid, pidStart: start, container: c, release: release, cgroup: cg, notify: notify, block: blockW, rec: rec}, nil
}

// threadNS are the namespaces the runtime joins for bwrap, by setns on the
// thread that starts it (bwrap cannot join them itself).
var threadNS = []struct {
	kind string
	flag int
}{{"network", unix.CLONE_NEWNET}, {"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}, {"cgroup", unix.CLONE_NEWCGROUP}}

// startIn starts bwrap with the plan's umask. When the config names
// namespaces by path, it starts bwrap from a thread that has joined them;
// that thread must live as long as bwrap (bwrap's --die-with-parent
// signals it when the thread that forked it ends, not the process), so it
// waits for release to be closed and is then thrown away (its goroutine ends
// locked), so that no other work runs in those namespaces.
func startIn(cmd *exec.Cmd, plan *bwrap.Plan, release <-chan struct{}) error {
	if plan.Umask != nil {
		old := syscall.Umask(int(*plan.Umask))
		defer syscall.Umask(old)
	}
	joins := false
	for _, ns := range threadNS {
		_, ok := plan.Join[ns.kind]
		joins = joins || ok
	}
	if !joins {
		return cmd.Start()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		for _, ns := range threadNS {
			path, ok := plan.Join[ns.kind]
			if !ok {
				continue
			}
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				done <- fmt.Errorf("linux.namespaces: %s namespace %s: %v", ns.kind, path, err)
				return
			}
			err = unix.Setns(fd, ns.flag)
			unix.Close(fd)
			if err != nil {
				done <- fmt.Errorf("linux.namespaces: joining the %s namespace %s: %v", ns.kind, path, err)
				return
			}
		}
		err := cmd.Start()
		done <- err
		if err == nil {
			<-release
		}
	}()
	return <-done
}

// beforeRootRemount adds options the runtime's own mounts need, before a
// read-only root is remounted (bwrap must still be able to make their mount
// points).
func beforeRootRemount(args []string, extra ...string) []string {
	for i := len(args) - 2; i >= 0; i-- {
		if args[i] == "--remount-ro" && args[i+1] == "/" {
			out := append(append(append([]string(nil), args[:i]...), extra...), args[i:]...)
			return out
		}
	}
	return append(args, extra...)
}

// waitBlocked waits until bwrap has set the container up (its process's
// root is the rootfs: bwrap switches to it last) and so blocks on
// --block-fd, or fails if bwrap exits first.
func waitBlocked(pid int, rootfs string) error {
	var want unix.Stat_t
	if err := unix.Stat(rootfs, &want); err != nil {
		return err
	}
	root := fmt.Sprintf("/proc/%d/root/", pid)
	deadline := time.Now().Add(30 * time.Second)
	// The set-up takes about 6 ms: a poll every 250µs at most (one stat)
	// notices its end within a quarter of a millisecond.
	for d := 50 * time.Microsecond; time.Now().Before(deadline); d = min(2*d, 250*time.Microsecond) {
		var got unix.Stat_t
		if err := unix.Stat(root, &got); err != nil {
			return fmt.Errorf("bwrap failed while setting the container up")
		}
		if got.Dev == want.Dev && got.Ino == want.Ino {
			return nil
		}
		time.Sleep(d)
	}
	return fmt.Errorf("the container's set-up did not finish within 30s")
}

// waitExec waits until pid no longer runs the bwrap binary.
func waitExec(pid int, bwrapBin string, limit time.Duration) {
	var want unix.Stat_t
	if unix.Stat(bwrapBin, &want) != nil {
		return
	}
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	deadline := time.Now().Add(limit)
	for d := 50 * time.Microsecond; time.Now().Before(deadline); d = min(2*d, time.Millisecond) {
		var got unix.Stat_t
		if unix.Stat(exe, &got) != nil || got.Dev != want.Dev || got.Ino != want.Ino {
			return
		}
		time.Sleep(d)
	}
}

// keeps reports whether a user namespace from the mapping's keeper
// (internal/keeper) would save the runtime newuidmap and newgidmap: the
// caller is unprivileged, bwrap is not setuid, and the maps need the
// helpers.
func (rt *Runtime) keeps(p *Prepared) bool {
	plan := p.Plan
	return plan.NewUserNS && plan.NeedsHelper && !rt.NoKeeper && rt.Root != "" && !p.Features.Setuid && os.Geteuid() != 0
}

func (rt *Runtime) keeperOptions(uids, gids []idmap.Mapping) keeper.Options {
	return keeper.Options{Root: rt.Root, UIDMap: uids, GIDMap: gids, Idle: rt.KeeperIdle}
}

// kept is what keeper.Ask answered, and the bwrap started early with it
// (Runtime.Early).
type kept struct {
	f     *os.File
	err   error
	early *early
}

// drop closes an answer that will not be used, and ends its early bwrap.
func (k kept) drop() {
	if k.f != nil {
		k.f.Close()
	}
	k.early.discard()
}

// keptUserNS returns the user namespace the keeper gave (asked), or, when
// none runs and spawn allows, starts one and asks it. nil means that bwrap creates the
// namespace and the runtime maps it. The helpers' failure to map the
// keeper's namespace is the container's failure (they would fail the same
// way for it); any other problem with the keeper costs only speed.
func (rt *Runtime) keptUserNS(p *Prepared, asked kept, spawn bool) (*os.File, error) {
	f, err := asked.f, asked.err
	if errors.Is(err, keeper.ErrNotRunning) && spawn {
		f, err = keeper.Get(rt.keeperOptions(p.Plan.UIDMap, p.Plan.GIDMap))
	}
	var he *idmap.HelperError
	switch {
	case errors.As(err, &he):
		return nil, err
	case err != nil:
		trace(err.Error())
		return nil, nil
	}
	trace("user namespace from the keeper")
	return f, nil
}

// startMaps writes the container's id maps: directly where the runtime may
// (as root, or an unprivileged map of only its own id), else by starting
// newuidmap and newgidmap side by side. wait returns once both maps are
// written.
func (rt *Runtime) startMaps(pid int, plan *bwrap.Plan) (wait func() error, err error) {
	none := func() error { return nil }
	if os.Geteuid() == 0 {
		if err := idmap.WriteDirect(pid, "uid_map", plan.UIDMap); err != nil {
			return nil, err
		}
		return none, idmap.WriteDirect(pid, "gid_map", plan.GIDMap)
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	waitUID := none
	if idmap.NeedsHelper(plan.UIDMap, uid) {
		r, err := idmap.Start("newuidmap", pid, plan.UIDMap)
		if err != nil {
			return nil, err
		}
		waitUID = r.Wait
	} else if err := idmap.WriteDirect(pid, "uid_map", plan.UIDMap); err != nil {
		return nil, err
	}
	if idmap.NeedsHelper(plan.GIDMap, gid) {
		r, err := idmap.Start("newgidmap", pid, plan.GIDMap)
		if err != nil {
			_ = waitUID()
			return nil, err
		}
		return func() error {
			uerr, gerr := waitUID(), r.Wait()
			if uerr != nil {
				return uerr
			}
			return gerr
		}, nil
	}
	return func() error {
		if err := waitUID(); err != nil {
			return err
		}
		// Without CAP_SETGID an unprivileged process may write its own
		// gid only after denying setgroups.
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/setgroups", pid), []byte("deny"), 0); err != nil {
			return fmt.Errorf("denying setgroups in the container: %v", err)
		}
		return idmap.WriteDirect(pid, "gid_map", plan.GIDMap)
	}, nil
}

// wait forwards signals to the container's init until bwrap exits, and
// returns the exit status.
func (rt *Runtime) wait(st *started) int {
	sigs := st.sigs
	if sigs == nil {
		sigs = make(chan os.Signal, 16)
		signal.Notify(sigs)
	} else {
		<-st.notified
	}
	done := make(chan error, 1)
	go func() {
		err := proc.Wait(st.cmd)
		close(st.release)
		done <- err
	}()
	for {
		select {
		case s := <-sigs:
			sig, ok := s.(syscall.Signal)
			if !ok || sig == syscall.SIGCHLD || sig == syscall.SIGURG || sig == syscall.SIGPIPE {
				continue
			}
			if state.Alive(st.pid, st.pidStart) {
				_ = unix.Kill(st.pid, sig)
			}
		case err := <-done:
			// No signal.Stop: it waits for the signal machinery to go
			// idle (about a millisecond), and the runtime exits anyway.
			return exitCode(st.cmd, err)
		}
	}
}

func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return 1
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return cmd.ProcessState.ExitCode()
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	_ = err
	return ws.ExitStatus()
}

func argsMemfd(args []string) (*os.File, error) {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a)
		b.WriteByte(0)
	}
	return argsMemfdBytes([]byte(b.String()))
}

// argsMemfdBytes returns a memfd holding data, read from its start.
func argsMemfdBytes(data []byte) (*os.File, error) {
	f, err := unixMemfd("bwrap-oci")
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file: %v", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--pid-file: %v", err)
	}
	return nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

var errNotRunning = errors.New("container not running")
