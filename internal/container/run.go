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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// syncFile is where bwrap's --file op drains the start pipe: on bwrap's own
// tmpfs root, which the rootfs is then mounted over, so the container never
// sees it. Draining it there makes bwrap close the pipe in the container's
// process (it leaves a --userns-block-fd open otherwise).
const syncFile = "/.bwrap-oci-sync"

// RunOptions are the settings of `run`.
type RunOptions struct {
	ID      string
	Detach  bool
	PidFile string
	Stdin   *os.File
	Stdout  *os.File
	Stderr  *os.File
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
	argv := []string{p.BwrapBin}
	argv = append(argv, plan.Args()...)
	argv = append(argv, "--")
	argv = append(argv, plan.Command...)
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

// started is a container whose bwrap is up and whose process is about to run.
type started struct {
	cmd       *exec.Cmd
	pid       int // the container's init, on the host
	pidStart  uint64
	container *state.Container
}

// Run runs a prepared bundle. In the foreground it returns the container's
// exit status; detached, 0 once the container runs.
func (rt *Runtime) Run(p *Prepared, o RunOptions) (int, error) {
	store := state.Store{Root: rt.Root}
	c, err := store.Create(o.ID)
	if err != nil {
		return 1, err
	}
	st, err := rt.start(p, o, c)
	if err != nil {
		_ = c.Remove()
		return 1, err
	}
	if o.Detach {
		// Return once the container's process has replaced bwrap, as runc
		// returns once its process is executed.
		waitExec(st.pid, p.BwrapBin, 5*time.Second)
		_ = st.cmd.Process.Release()
		_ = c.Close()
		return 0, nil
	}
	// The container runs under our lock's protection no longer: other
	// commands (kill, list, state) must be able to reach it.
	_ = c.Close()
	code := rt.wait(st)
	if c, err := store.Open(o.ID); err == nil {
		_ = c.Remove()
	}
	return code, nil
}

// start spawns bwrap and brings the container to the point where its
// process runs, writing the state.
func (rt *Runtime) start(p *Prepared, o RunOptions, c *state.Container) (*started, error) {
	plan := p.Plan
	// fds for bwrap: 3 args, 4 info (write end), 5 start pipe (read end),
	// 6 json status file, 7.. namespaces to join.
	argsFile, err := argsMemfd(append([]string{"--file", "5", syncFile}, plan.Args()...))
	if err != nil {
		return nil, err
	}
	defer argsFile.Close()
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer infoR.Close()
	syncR, syncW, err := os.Pipe()
	if err != nil {
		infoW.Close()
		return nil, err
	}
	statusFile, err := os.OpenFile(filepath.Join(c.Dir(), state.StatusFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		infoW.Close()
		syncR.Close()
		syncW.Close()
		return nil, err
	}
	extra := []*os.File{argsFile, infoW, syncR, statusFile}
	argv := []string{"--args", "3", "--info-fd", "4", "--json-status-fd", "6"}
	if plan.NewUserNS {
		argv = append(argv, "--userns-block-fd", "5")
	}
	for _, kind := range []string{"user", "pid"} {
		path, ok := plan.Join[kind]
		if !ok {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			closeAll(infoW, syncR, syncW, statusFile)
			return nil, fmt.Errorf("%s: linux.namespaces: %s namespace %s: %v", p.Config.File, kind, path, err)
		}
		defer f.Close()
		argv = append(argv, "--"+map[string]string{"user": "userns", "pid": "pidns"}[kind], strconv.Itoa(3+len(extra)))
		extra = append(extra, f)
	}
	if !o.Detach {
		argv = append(argv, "--die-with-parent")
	}
	argv = append(argv, "--")
	argv = append(argv, plan.Command...)

	cmd := exec.Command(p.BwrapBin, argv...)
	cmd.Args[0] = "bwrap"
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: o.Detach}
	if plan.Umask != nil {
		old := syscall.Umask(int(*plan.Umask))
		err = cmd.Start()
		syscall.Umask(old)
	} else {
		err = cmd.Start()
	}
	closeAll(infoW, syncR, statusFile)
	if err != nil {
		syncW.Close()
		return nil, fmt.Errorf("starting %s: %w", p.BwrapBin, err)
	}
	fail := func(err error) (*started, error) {
		syncW.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	info, err := io.ReadAll(io.LimitReader(infoR, 1<<16))
	if err != nil {
		return fail(err)
	}
	var ci struct {
		ChildPid int `json:"child-pid"`
	}
	if err := json.Unmarshal(info, &ci); err != nil || ci.ChildPid <= 0 {
		syncW.Close()
		werr := cmd.Wait()
		return nil, fmt.Errorf("bwrap failed before the container started (%v)", werr)
	}
	pid := ci.ChildPid
	failChild := func(err error) (*started, error) {
		_ = unix.Kill(pid, unix.SIGKILL)
		return fail(err)
	}
	if plan.NewUserNS {
		if err := rt.applyMaps(pid, plan); err != nil {
			return failChild(err)
		}
	}
	for _, r := range plan.Rlimits {
		lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(pid, r.Resource, &lim, nil); err != nil {
			return failChild(fmt.Errorf("%s: %s: setting the limit: %v", p.Config.File, r.Field, err))
		}
	}
	if plan.OOMScoreAdj != nil {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(strconv.Itoa(*plan.OOMScoreAdj)), 0); err != nil {
			return failChild(fmt.Errorf("%s: process.oomScoreAdj: %v (lowering it needs privilege)", p.Config.File, err))
		}
	}
	start, err := state.StartTime(pid)
	if err != nil {
		return failChild(fmt.Errorf("container process %d vanished during set-up", pid))
	}
	st := &state.State{
		OCIVersion:  specs.Version,
		ID:          c.ID(),
		Bundle:      p.Bundle,
		Pid:         pid,
		PidStart:    start,
		MonitorPid:  cmd.Process.Pid,
		Created:     time.Now().UTC(),
		Annotations: p.Config.Spec.Annotations,
		Status:      state.StatusRunning,
		Owner:       os.Getuid(),
	}
	if err := c.Save(st); err != nil {
		return failChild(err)
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, pid); err != nil {
			return failChild(err)
		}
	}
	// Release the container: the monitor reads a byte (after the user
	// namespace is mapped), the child drains the pipe to EOF.
	if _, err := syncW.Write([]byte{1}); err != nil && plan.NewUserNS {
		return failChild(fmt.Errorf("releasing the container: %v", err))
	}
	syncW.Close()
	return &started{cmd: cmd, pid: pid, pidStart: start, container: c}, nil
}

// waitExec waits until pid no longer runs the bwrap binary.
func waitExec(pid int, bwrapBin string, limit time.Duration) {
	var want unix.Stat_t
	if unix.Stat(bwrapBin, &want) != nil {
		return
	}
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	deadline := time.Now().Add(limit)
	for d := 50 * time.Microsecond; time.Now().Before(deadline); d = min(2*d, 10*time.Millisecond) {
		var got unix.Stat_t
		if unix.Stat(exe, &got) != nil || got.Dev != want.Dev || got.Ino != want.Ino {
			return
		}
		time.Sleep(d)
	}
}

func (rt *Runtime) applyMaps(pid int, plan *bwrap.Plan) error {
	if os.Geteuid() == 0 {
		if err := idmap.WriteDirect(pid, "uid_map", plan.UIDMap); err != nil {
			return err
		}
		return idmap.WriteDirect(pid, "gid_map", plan.GIDMap)
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if idmap.NeedsHelper(plan.UIDMap, uid) {
		if err := idmap.Apply("newuidmap", pid, plan.UIDMap); err != nil {
			return err
		}
	} else if err := idmap.WriteDirect(pid, "uid_map", plan.UIDMap); err != nil {
		return err
	}
	if idmap.NeedsHelper(plan.GIDMap, gid) {
		return idmap.Apply("newgidmap", pid, plan.GIDMap)
	}
	// Without CAP_SETGID an unprivileged process may write its own gid
	// only after denying setgroups.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/setgroups", pid), []byte("deny"), 0); err != nil {
		return fmt.Errorf("denying setgroups in the container: %v", err)
	}
	return idmap.WriteDirect(pid, "gid_map", plan.GIDMap)
}

// wait forwards signals to the container's init until bwrap exits, and
// returns the exit status.
func (rt *Runtime) wait(st *started) int {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	done := make(chan error, 1)
	go func() { done <- st.cmd.Wait() }()
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
			signal.Stop(sigs)
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
	fd, err := unix.MemfdCreate("bwrap-oci-args", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "bwrap-oci-args")
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a)
		b.WriteByte(0)
	}
	if _, err := io.WriteString(f, b.String()); err != nil {
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
