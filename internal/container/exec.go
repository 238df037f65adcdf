package container

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/bwrap-oci/bwrap-oci/internal/seccomp"
	"github.com/bwrap-oci/bwrap-oci/internal/selfexec"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// HelperArg is argv[1] of the in-container exec helper (see RunHelper).
const HelperArg = "__bwrap-oci-exec-helper"

// ExecOptions are the settings of `exec`.
type ExecOptions struct {
	Process       *specs.Process // the process to run, complete
	Detach        bool
	PidFile       string
	ConsoleSocket string
	PreserveFDs   int
	Stdin         *os.File
	Stdout        *os.File
	Stderr        *os.File
}

// helperParams is what the runtime tells the helper, through a memfd.
type helperParams struct {
	Args        []string            `json:"args"`
	Env         []string            `json:"env"`
	Cwd         string              `json:"cwd"`
	UID         uint32              `json:"uid"`
	GID         uint32              `json:"gid"`
	Groups      []uint32            `json:"groups"`
	SetGroups   bool                `json:"setGroups"`
	Umask       *uint32             `json:"umask,omitempty"`
	Caps        *capNumbers         `json:"caps"`
	NoNewPrivs  bool                `json:"noNewPrivs"`
	Rlimits     []specs.POSIXRlimit `json:"rlimits,omitempty"`
	OOMScoreAdj *int                `json:"oomScoreAdj,omitempty"`
	KeepFDs     int                 `json:"keepFDs"` // 3..3+KeepFDs-1 stay open
	NewSession  bool                `json:"newSession"`
	// ConsoleFD is a connection to the caller's --console-socket: the
	// helper allocates the terminal inside the container (so that it is
	// the container's /dev/pts) and sends its master over it.
	ConsoleFD int `json:"consoleFD,omitempty"`
	// Seccomp is the container's compiled filter, loaded last.
	Seccomp []byte `json:"seccomp,omitempty"`
}

type capNumbers struct {
	Bounding, Effective, Permitted, Inheritable, Ambient []int
}

// ExecProcess is the container's config process, for exec's defaults.
func (rt *Runtime) ExecProcess(id string) (*specs.Process, error) {
	st, err := rt.store().Read(id)
	if err != nil {
		return nil, err
	}
	s, err := rt.createdConfig(st)
	if err != nil {
		return nil, err
	}
	if s.Process == nil {
		return &specs.Process{Cwd: "/"}, nil
	}
	p := *s.Process
	return &p, nil
}

// Exec runs a new process in every namespace of a running container. The
// namespaces are entered by nsenter (util-linux; a root-owned host binary),
// which then runs a sealed memfd copy of this binary as a helper that sets
// the process's ids, capabilities and limits, and executes the process: the
// runtime's own binary on disk never runs inside the container's PID
// namespace (the class of CVE-2019-5736).
func (rt *Runtime) Exec(id string, o ExecOptions) (int, error) {
	c, err := rt.store().Open(id)
	if err != nil {
		return 1, err
	}
	st, err := c.Load()
	c.Close()
	if err != nil {
		return 1, err
	}
	if st.Current() != state.StatusRunning {
		return 1, fmt.Errorf("container %q: %w (it is %s)", id, errNotRunning, st.Current())
	}
	p := o.Process
	if len(p.Args) == 0 {
		return 1, fmt.Errorf("exec: no command given")
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	for _, f := range execUnsupported(p) {
		if rt.Strict {
			return 1, fmt.Errorf("exec: %s (an error with --strict)", f)
		}
		rt.warn("exec: " + f)
	}
	params := helperParams{Args: p.Args, Env: p.Env, Cwd: p.Cwd, UID: p.User.UID, GID: p.User.GID,
		Groups: p.User.AdditionalGids, Umask: p.User.Umask, NoNewPrivs: p.NoNewPrivileges,
		Rlimits: p.Rlimits, OOMScoreAdj: p.OOMScoreAdj, KeepFDs: o.PreserveFDs, NewSession: !p.Terminal}
	if params.Seccomp, err = rt.containerSeccomp(st); err != nil {
		return 1, err
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/setgroups", st.Pid)); err == nil && strings.TrimSpace(string(data)) == "allow" {
		params.SetGroups = true
	}
	if p.Capabilities != nil {
		params.Caps = &capNumbers{}
		for _, set := range []struct {
			names []string
			out   *[]int
		}{{p.Capabilities.Bounding, &params.Caps.Bounding}, {p.Capabilities.Effective, &params.Caps.Effective},
			{p.Capabilities.Permitted, &params.Caps.Permitted}, {p.Capabilities.Inheritable, &params.Caps.Inheritable},
			{p.Capabilities.Ambient, &params.Caps.Ambient}} {
			for _, n := range set.names {
				cp, ok := spec.Capability(n)
				if !ok {
					return 1, fmt.Errorf("exec: unknown capability %q", n)
				}
				*set.out = append(*set.out, int(cp))
			}
		}
	} else {
		params.Caps = &capNumbers{}
	}
	nsArgs, err := selfexec.NsenterArgs(st.Pid)
	if err != nil {
		return 1, err
	}
	self, err := selfexec.SealedCopy("bwrap-oci", false)
	if err != nil {
		return 1, err
	}
	defer self.Close()
	pfile, err := unixMemfd("bwrap-oci-params")
	if err != nil {
		return 1, err
	}
	defer pfile.Close()
	var files []*os.File
	for i := 0; i < o.PreserveFDs; i++ {
		files = append(files, os.NewFile(uintptr(3+i), "preserved"))
	}
	selfFD := 3 + len(files)
	paramFD := selfFD + 1
	files = append(files, self, pfile)
	// The helper allocates the terminal inside the container and sends the
	// master back over a socket pair; the runtime relays it to the console
	// socket before it returns, as runc does.
	var relay *os.File
	if p.Terminal && o.ConsoleSocket != "" {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return 1, err
		}
		relay = os.NewFile(uintptr(pair[0]), "console-relay")
		defer relay.Close()
		theirs := os.NewFile(uintptr(pair[1]), "console-relay")
		defer theirs.Close()
		params.ConsoleFD = 3 + len(files)
		params.NewSession = false
		files = append(files, theirs)
	}
	pdata, err := json.Marshal(params)
	if err != nil {
		return 1, err
	}
	if _, err := pfile.Write(pdata); err != nil {
		return 1, err
	}
	if _, err := pfile.Seek(0, io.SeekStart); err != nil {
		return 1, err
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return 1, fmt.Errorf("exec needs nsenter (util-linux): %v", err)
	}
	argv := append([]string{"--target", strconv.Itoa(st.Pid), "--preserve-credentials"}, nsArgs...)
	argv = append(argv, "--", fmt.Sprintf("/proc/self/fd/%d", selfFD), HelperArg, strconv.Itoa(selfFD), strconv.Itoa(paramFD))
	cmd := exec.Command(nsenter, argv...)
	cmd.Env = []string{}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: o.Detach}
	if p.Terminal && o.Detach && o.ConsoleSocket == "" {
		return 1, fmt.Errorf("exec: a detached process with a terminal needs --console-socket")
	}
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	if relay != nil {
		for _, f := range files[len(files)-1:] {
			f.Close() // our copy of the helper's end: EOF if it dies
		}
		if err := relayConsole(relay, o.ConsoleSocket); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return 1, err
		}
	}
	if o.PidFile != "" {
		// nsenter's outer process, in our PID namespace: it waits for the
		// process and exits with its status, so the caller reaps it.
		if err := writePidFile(o.PidFile, cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			return 1, err
		}
	}
	if o.Detach {
		_ = cmd.Process.Release()
		return 0, nil
	}
	werr := cmd.Wait()
	return exitCode(cmd, werr), nil
}

func unixMemfd(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %v", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// execUnsupported names the process fields exec does not apply.
func execUnsupported(p *specs.Process) []string {
	var out []string
	if p.ApparmorProfile != "" {
		out = append(out, "process.apparmorProfile: AppArmor profiles are not supported: not applied")
	}
	if p.SelinuxLabel != "" {
		out = append(out, "process.selinuxLabel: SELinux labels are not supported: not applied")
	}
	if p.Scheduler != nil {
		out = append(out, "process.scheduler: not supported by bwrap-oci: ignored")
	}
	if p.IOPriority != nil {
		out = append(out, "process.ioPriority: not supported by bwrap-oci: ignored")
	}
	if p.ExecCPUAffinity != nil {
		out = append(out, "process.execCPUAffinity: not supported by bwrap-oci: ignored")
	}
	if p.ConsoleSize != nil && p.Terminal {
		out = append(out, "process.consoleSize: the terminal keeps its size: not applied")
	}
	if p.User.Username != "" {
		out = append(out, "process.user.username: a Windows-only field: ignored")
	}
	return out
}

// containerSeccomp compiles the container's linux.seccomp again, so that an
// exec'd process runs under the same filter as the container's init.
func (rt *Runtime) containerSeccomp(st *state.State) ([]byte, error) {
	s, err := rt.createdConfig(st)
	if err != nil {
		return nil, err
	}
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return nil, nil
	}
	prog, _, err := seccomp.Compile(s.Linux.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", st.Extra["config"], err)
	}
	return prog, nil
}

// relayConsole receives the terminal's master from the helper and sends it
// to the caller's console socket.
func relayConsole(relay *os.File, path string) error {
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(relay.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return fmt.Errorf("exec: receiving the terminal: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return fmt.Errorf("exec: the process got no terminal (its helper failed)")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return fmt.Errorf("exec: the process got no terminal")
	}
	master := os.NewFile(uintptr(fds[0]), string(buf[:n]))
	defer master.Close()
	return sendConsole(path, master)
}
