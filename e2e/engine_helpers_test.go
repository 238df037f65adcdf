package e2e

// Helpers for engine_test.go: running the binary with extra file
// descriptors, a --console-socket receiver, pty reading.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ociExtra runs the binary under test as the test user, like oci, with
// extra open files: extra[i] is fd 3+i in the runtime.
func ociExtra(t *testing.T, extra []*os.File, args ...string) result {
	t.Helper()
	return ociOpts(t, execOpts{extra: extra}, args...)
}

// userFile writes a file readable by everyone in a user-owned directory
// and opens it for reading.
func userFile(t *testing.T, dir, name, content string) *os.File {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := h.writeFileUser(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// consoleSocket is a --console-socket listener, as conmon or containerd's
// shim makes one, owned by the test (root) and writable by the test user.
type consoleSocket struct {
	path string
	fd   int
}

func newConsoleSocket(t *testing.T, dir string) *consoleSocket {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("console-%d.sock", seq.Add(1)))
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: p}); err != nil {
		t.Fatalf("bind %s: %v", p, err)
	}
	if err := os.Chmod(p, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 4); err != nil {
		t.Fatal(err)
	}
	return &consoleSocket{path: p, fd: fd}
}

// retryEAGAIN calls fn until it returns something other than EAGAIN, or the
// time is up (timeout 0: once).
func retryEAGAIN(timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return err
		}
		if !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// accept waits up to timeout for the runtime to connect.
func (c *consoleSocket) accept(timeout time.Duration) (int, error) {
	var conn int
	err := retryEAGAIN(timeout, func() error {
		var err error
		conn, _, err = unix.Accept4(c.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("no connection to the console socket: %w", err)
	}
	return conn, nil
}

// recvMaster waits up to timeout for the terminal's master on conn
// (SCM_RIGHTS) and returns it with the name sent along.
func recvMaster(conn int, timeout time.Duration) (*os.File, string, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	var n, oobn int
	err := retryEAGAIN(timeout, func() error {
		var err error
		n, oobn, _, _, err = unix.Recvmsg(conn, buf, oob, unix.MSG_CMSG_CLOEXEC)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("nothing received on the console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, "", fmt.Errorf("console socket: control message: %v", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, "", fmt.Errorf("console socket: received %d descriptors, want 1 (message %q)", len(fds), buf[:n])
	}
	// Non-blocking, so that reads can have a deadline.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, "", err
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), string(buf[:n]), nil
}

// receive accepts one connection and receives the terminal's master over
// it, waiting up to timeout for each step.
func (c *consoleSocket) receive(timeout time.Duration) (*os.File, string, error) {
	conn, err := c.accept(timeout)
	if err != nil {
		return nil, "", err
	}
	defer unix.Close(conn)
	return recvMaster(conn, timeout)
}

// isPtyMaster reports whether f is a pseudo-terminal master.
func isPtyMaster(f *os.File) bool {
	sc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var ierr error
	if err := sc.Control(func(fd uintptr) { _, ierr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN) }); err != nil {
		return false
	}
	return ierr == nil
}

// readPTY reads from a terminal's master until the output contains want,
// the terminal hangs up or the timeout expires.
func readPTY(f *os.File, want string, timeout time.Duration) string {
	var out bytes.Buffer
	_ = f.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), want) {
		n, err := f.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return out.String()
}

// pidFromFile reads a --pid-file.
func pidFromFile(t *testing.T, path string) int {
	t.Helper()
	s := strings.TrimSpace(readFile(path))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %s holds %q, want a pid", path, s)
	}
	return pid
}

// procCmdline is the NUL-separated command line of pid, joined by spaces.
func procCmdline(pid int) string {
	return strings.TrimSpace(strings.ReplaceAll(readFile(fmt.Sprintf("/proc/%d/cmdline", pid)), "\x00", " "))
}

// psPids runs "ps --format json" and returns the pids.
func psPids(t *testing.T, global []string, id string) []int {
	t.Helper()
	r := mustOCI(t, append(global, "ps", "--format", "json", id)...)
	var pids []int
	if err := json.Unmarshal([]byte(r.stdout), &pids); err != nil {
		t.Fatalf("ps --format json: bad JSON: %v\n%s", err, r.stdout)
	}
	return pids
}

// procStatusField returns a field of /proc/self/status as printed by grep.
func procStatusField(out, field string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// waitState polls state until the container has the status.
func waitState(t *testing.T, id string, status specs.ContainerState) specs.State {
	t.Helper()
	var st specs.State
	waitFor(t, 10*time.Second, fmt.Sprintf("%s to be %s", id, status), func() bool {
		st = state(t, id)
		return st.Status == status
	})
	return st
}

// jsonLogLines parses a --log-format json file.
func jsonLogLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(readFile(path)), "\n") {
		if line == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("log line %q is not JSON: %v", line, err)
			continue
		}
		out = append(out, e)
	}
	return out
}

func syscallKill(pid int) error { return unix.Kill(pid, unix.SIGKILL) }

func syscallClose(fd int) { unix.Close(fd) }
