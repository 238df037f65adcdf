package hooks

import (
	"encoding/json"
	"fmt"
	"github.com/bwrap-oci/bwrap-oci/internal/selfexec"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// HelperArg is argv[1] of the hook helper: a sealed memfd copy of the
// running binary that nsenter executes inside the container's namespaces,
// and that executes the hook. This package's init dispatches it, so that
// every binary linking the package (bwrap-oci, its tests) is a helper.
const HelperArg = "__bwrap-oci-hook"

// helperPrefix starts the helper's own error message on the hook's stderr.
const helperPrefix = "bwrap-oci-hook-helper: "

func init() {
	if len(os.Args) > 1 && os.Args[1] == HelperArg {
		os.Exit(runHelper(os.Args[2:]))
	}
}

// helperParams is what the runtime tells the helper, through a memfd.
type helperParams struct {
	Path   string   `json:"path"`             // the hook's path, for messages
	Exec   string   `json:"exec"`             // what to execute: Path, or /proc/self/fd/KeepFD
	KeepFD int      `json:"keepFD,omitempty"` // the hook's executable, opened on the host
	Where  string   `json:"where"`            // where Exec resolves, for messages
	Args   []string `json:"args"`
	Env    []string `json:"env"`
}

// runHelper executes the hook described by the parameters in the file
// descriptor args[0]. It returns only on failure.
func runHelper(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, helperPrefix+format+"\n", a...)
		return 127
	}
	if len(args) != 1 {
		return fail("bad arguments")
	}
	fd, err := strconv.Atoi(args[0])
	if err != nil || fd < 3 {
		return fail("bad parameter descriptor %q", args[0])
	}
	f := os.NewFile(uintptr(fd), "params")
	data, err := io.ReadAll(io.LimitReader(f, 64<<20))
	f.Close()
	if err != nil {
		return fail("reading parameters: %v", err)
	}
	var p helperParams
	if err := json.Unmarshal(data, &p); err != nil {
		return fail("parameters: %v", err)
	}
	// Nothing of the runtime's reaches the hook, except its executable
	// when it was opened on the host: a script's interpreter opens it
	// again by /dev/fd/N.
	_ = unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if p.KeepFD > 0 {
		if _, err := unix.FcntlInt(uintptr(p.KeepFD), unix.F_SETFD, 0); err != nil {
			return fail("%s: %v", p.Path, err)
		}
	}
	err = unix.Exec(p.Exec, p.Args, p.Env)
	code := fail("%s: %v (%s)", p.Path, err, p.Where)
	if err != unix.ENOENT {
		code = 126
	}
	return code
}

// helperFailure returns the helper's message if it failed (rather than the
// hook it was to execute).
func helperFailure(stderr *os.File) (string, bool) {
	if msg, ok := strings.CutPrefix(lastLine("", stderr), strings.TrimSpace(helperPrefix)); ok {
		return strings.TrimSpace(msg), true
	}
	return "", false
}

// startInContainer starts hook i in the namespaces of the container's
// process through nsenter and the helper.
func (r *runner) startInContainer(i int, h *specs.Hook, argv, env []string, stdin, stdout, stderr *os.File) (*os.Process, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("hooks.%s[%d]: %s", r.kind, i, fmt.Sprintf(format, a...))
	}
	if r.nsenter == "" {
		ns, err := selfexec.NsenterArgs(r.target)
		if err != nil {
			return nil, fail("%v", err)
		}
		r.nsArgs = ns
		if len(ns) == 0 {
			r.nsenter = "-" // the container shares every namespace: run it directly
		} else {
			if r.nsenter, err = exec.LookPath("nsenter"); err != nil {
				return nil, fail("running a hook in the container needs nsenter (util-linux): %v", err)
			}
			if r.self, err = sealedSelf(r.target); err != nil {
				return nil, fail("%v", err)
			}
		}
	}
	if r.nsenter == "-" {
		proc, err := os.StartProcess(h.Path, argv, &os.ProcAttr{
			Dir: "/", Env: env, Files: []*os.File{stdin, stdout, stderr},
			Sys: &syscall.SysProcAttr{Setpgid: true},
		})
		if err != nil {
			return nil, fail("%s: %v", h.Path, unwrapStart(err))
		}
		return proc, nil
	}

	// Descriptors: stdio, the helper (3), its parameters (4) and, for a
	// hook whose path resolves on the host, the hook's executable (5).
	p := helperParams{Path: h.Path, Exec: h.Path, Args: argv, Env: env, Where: "the path resolves in the container"}
	var hook *os.File
	if !r.kind.ResolvesInContainer() {
		// The path resolves in the runtime's mount namespace: open it
		// here, execute it there through the descriptor.
		fd, err := unix.Open(h.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fail("%s: %v", h.Path, err)
		}
		hook = os.NewFile(uintptr(fd), h.Path)
		defer hook.Close()
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return nil, fail("%s: not a regular file", h.Path)
		}
		p.KeepFD = 5
		p.Exec = "/proc/self/fd/5"
		p.Where = "opened on the host, executed in the container"
	}
	params, err := paramsFile(&p)
	if err != nil {
		return nil, fail("%v", err)
	}
	defer params.Close()
	files := []*os.File{stdin, stdout, stderr, r.self, params}
	if hook != nil {
		files = append(files, hook)
	}
	cmd := []string{"nsenter", "--target", strconv.Itoa(r.target), "--preserve-credentials"}
	cmd = append(cmd, r.nsArgs...)
	cmd = append(cmd, "--", "/proc/self/fd/3", HelperArg, "4")
	proc, err := os.StartProcess(r.nsenter, cmd, &os.ProcAttr{
		Dir: "/", Env: []string{}, Files: files,
		Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return nil, fail("%s: starting nsenter: %v", h.Path, unwrapStart(err))
	}
	return proc, nil
}

func paramsFile(p *helperParams) (*os.File, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return memfile("hook-params", data)
}

// namespaces are those nsenter enters when they differ from the runtime's.
// nsPid returns pid as seen in its own (innermost) PID namespace.
func nsPid(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.Atoi(f[len(f)-1])
			}
		}
	}
	return pid, nil // a kernel without NSpid: no PID namespaces to see
}

// sealedSelf copies the running binary into a sealed memfd (see
// selfexec.SealedCopy). A dynamically linked binary can run only in a
// container whose root is the runtime's own.
func sealedSelf(target int) (*os.File, error) {
	return selfexec.SealedCopy("bwrap-oci-hook", sameRoot(target))
}

// sameRoot tells whether pid's root directory is the runtime's.
func sameRoot(pid int) bool {
	var a, b unix.Stat_t
	if unix.Stat("/", &a) != nil || unix.Stat(fmt.Sprintf("/proc/%d/root/", pid), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}
