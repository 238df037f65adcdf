package keeper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	"github.com/bwrap-oci/bwrap-oci/internal/sysfile"
	"golang.org/x/sys/unix"
)

// Options say which user namespace Get returns.
type Options struct {
	Root           string          // state root: the keepers live in Root/Dir
	UIDMap, GIDMap []idmap.Mapping // the container's maps (host ids)
	Self           string          // the binary a new keeper runs (Serve); /proc/self/exe if empty
	Idle           time.Duration   // a new keeper's idle time; DefaultIdle if 0
}

// replyTimeout bounds every wait for a keeper: one that does not answer in
// time is not used.
const replyTimeout = 5 * time.Second

// Get returns a new user namespace that maps o.UIDMap and o.GIDMap, nested in
// the namespace of the mapping's keeper, which it starts if none runs. The
// keeper's namespace is mapped by newuidmap and newgidmap: their failure is
// an *idmap.HelperError, as it would be for the container's own namespace.
// Any other error means that no keeper can serve; the caller then maps the
// container's namespace itself.
func Get(o Options) (*os.File, error) {
	f, err := Ask(o)
	if !errors.Is(err, ErrNotRunning) {
		return f, err
	}
	dir, key, sock, _ := paths(o)
	if err := ensureDir(o.Root, dir); err != nil {
		return nil, err
	}
	if err := spawn(o, dir, key, sock); err != nil {
		return nil, err
	}
	return request(sock, o)
}

// Ask is Get without starting a keeper: with none running it returns
// ErrNotRunning, and has no effect.
func Ask(o Options) (*os.File, error) {
	_, _, sock, err := paths(o)
	if err != nil {
		return nil, err
	}
	return request(sock, o)
}

// ErrNotRunning is Ask's error when no keeper serves the mapping.
var ErrNotRunning = errors.New("keeper: not running")

// paths gives the keepers' directory, the mapping's key and its socket.
func paths(o Options) (dir, key, sock string, err error) {
	if len(o.UIDMap) == 0 || len(o.GIDMap) == 0 {
		return "", "", "", errors.New("keeper: no mapping")
	}
	// Absolute: the keeper runs in /.
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return "", "", "", fmt.Errorf("keeper: %v", err)
	}
	dir = filepath.Join(root, Dir)
	key = Key(o.UIDMap, o.GIDMap)
	sock = filepath.Join(dir, key+".sock")
	if len(sock) >= len(unix.RawSockaddrUnix{}.Path) {
		return "", "", "", fmt.Errorf("keeper: socket path %s is too long", sock)
	}
	return dir, key, sock, nil
}

// request asks the keeper at sock for a namespace and checks that it is
// nested in a namespace with o's maps, owned by the keeper that answered.
func request(sock string, o Options) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("keeper: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		if err == unix.ENOENT || err == unix.ECONNREFUSED {
			return nil, ErrNotRunning
		}
		return nil, fmt.Errorf("keeper: connecting to %s: %v", sock, err)
	}
	// Connecting is the request.
	tv := unix.NsecToTimeval(replyTimeout.Nanoseconds())
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	for {
		n, oobn, _, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("keeper: no answer: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("keeper: no namespace in the answer")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, x := range fds {
			unix.Close(x)
		}
		return nil, fmt.Errorf("keeper: no namespace in the answer")
	}
	ns := os.NewFile(uintptr(fds[0]), "userns")
	// The answer is "y" and the keeper's pid: the peer credentials of a
	// connection made while the runtime that started the keeper still
	// owned the listening socket would name that runtime. The pid is only
	// what verify checks against.
	pid, perr := 0, errors.New("no y")
	if n >= 2 && buf[0] == 'y' {
		pid, perr = strconv.Atoi(string(buf[1:n]))
	}
	if perr != nil || pid <= 0 {
		ns.Close()
		return nil, fmt.Errorf("keeper: bad answer %q", buf[:n])
	}
	if err := verify(ns, pid, o); err != nil {
		ns.Close()
		return nil, fmt.Errorf("keeper: %v", err)
	}
	return ns, nil
}

// verify checks that ns is a user namespace whose parent is the namespace of
// process pid (the keeper), and that the keeper's namespace maps exactly
// o's ids, as the host sees them.
func verify(ns *os.File, pid int, o Options) error {
	pfd, err := unix.IoctlRetInt(int(ns.Fd()), unix.NS_GET_PARENT)
	if err != nil {
		return fmt.Errorf("the namespace has no parent: %v", err)
	}
	var parent, kept unix.Stat_t
	err = unix.Fstat(pfd, &parent)
	unix.Close(pfd)
	if err != nil {
		return err
	}
	proc := "/proc/" + strconv.Itoa(pid)
	if err := unix.Stat(proc+"/ns/user", &kept); err != nil {
		return err
	}
	if parent.Dev != kept.Dev || parent.Ino != kept.Ino {
		return errors.New("the namespace is not nested in the keeper's")
	}
	for _, m := range []struct {
		file string
		want []idmap.Mapping
	}{{"uid_map", o.UIDMap}, {"gid_map", o.GIDMap}} {
		data, err := sysfile.ReadFile(proc + "/" + m.file)
		if err != nil {
			return err
		}
		got, err := idmap.Parse(string(data))
		if err != nil || !slices.Equal(got, m.want) {
			return fmt.Errorf("the keeper's %s is %q, not %q", m.file, data, idmap.Format(m.want))
		}
	}
	return nil
}

// ensureDir makes root and the keepers' directory in it, private to the
// caller.
func ensureDir(root, dir string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("keeper: %v", err)
	}
	if err := unix.Mkdir(dir, 0o700); err != nil && err != unix.EEXIST {
		return fmt.Errorf("keeper: creating %s: %v", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("keeper: %v", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		return fmt.Errorf("keeper: %s is not a private directory of yours", dir)
	}
	return nil
}

// lock takes the lock that serialises starting and ending a keeper.
func lock(dir, key string) (*os.File, error) {
	l, err := state.OpenLock(filepath.Join(dir, key+".lock"), true)
	if err != nil {
		return nil, fmt.Errorf("keeper: %v", err)
	}
	return l, nil
}

// spawn starts the keeper of o's mapping, unless another process did while
// this one waited for the lock. The keeper starts in a user namespace of its
// own with CAP_SETUID and CAP_SETGID as ambient capabilities (so that they
// survive its exec while its ids are not mapped yet), and waits on a pipe
// until newuidmap and newgidmap have mapped the namespace. The runtime
// makes the listening socket (under the lock), so that requests queue
// from then on; the keeper says when it serves, before spawn returns.
func spawn(o Options, dir, key, sock string) (err error) {
	l, err := lock(dir, key)
	if err != nil {
		return err
	}
	defer l.Close()
	if f, err := request(sock, o); err == nil {
		f.Close()
		return nil
	}
	_ = os.Remove(sock)
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("keeper: %v", err)
	}
	listener := os.NewFile(uintptr(lfd), sock)
	defer listener.Close()
	if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: sock}); err != nil {
		return fmt.Errorf("keeper: binding %s: %v", sock, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(sock)
		}
	}()
	if err := unix.Chmod(sock, 0o600); err != nil {
		return fmt.Errorf("keeper: %v", err)
	}
	if err := unix.Listen(lfd, 64); err != nil {
		return fmt.Errorf("keeper: %v", err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("keeper: %v", err)
	}
	ready, theirs := os.NewFile(uintptr(pair[0]), "ready"), os.NewFile(uintptr(pair[1]), "ready")
	defer ready.Close()
	self := o.Self
	if self == "" {
		self = "/proc/self/exe"
	}
	idle := o.Idle
	if idle <= 0 {
		idle = DefaultIdle
	}
	cmd := exec.Command(self, Arg, sock, l.Name(), idle.String())
	cmd.Args[0] = "bwrap-oci"
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{listener, theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:      true,
		Cloneflags:  unix.CLONE_NEWUSER,
		AmbientCaps: []uintptr{unix.CAP_SETUID, unix.CAP_SETGID, unix.CAP_SETFCAP},
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return fmt.Errorf("keeper: starting: %v", err)
	}
	pid := cmd.Process.Pid
	ru, err := idmap.Start("newuidmap", pid, o.UIDMap)
	if err == nil {
		var rg *idmap.Running
		rg, err = idmap.Start("newgidmap", pid, o.GIDMap)
		uerr := ru.Wait()
		if err == nil {
			err = rg.Wait()
		}
		if uerr != nil {
			err = uerr
		}
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return err
	}
	// Go; the keeper answers once it serves (see Serve).
	_ = ready.SetDeadline(time.Now().Add(replyTimeout))
	b := []byte{1}
	if _, err = ready.Write(b); err == nil {
		_, err = io.ReadFull(ready, b)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("keeper: did not start: %v", err)
	}
	// The keeper outlives this process; whoever reaps orphans reaps it.
	_ = cmd.Process.Release()
	return nil
}
