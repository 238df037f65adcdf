package keeper

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"golang.org/x/sys/unix"
)

// Serve is the keeper process: Serve(SOCKET LOCK IDLE), with its listening
// socket on fd 3 and, on fd 4, a socket on which the runtime releases it
// once its user namespace is mapped, and to which it answers once it
// serves. It answers each request of its own user with a new nested user
// namespace (one is made ahead of time), and exits after IDLE without
// requests, removing its socket. It returns the exit status. Requests are
// served with plain blocking system calls on one thread: a request costs
// the runtime that waits for it a few system calls, not the wake-ups of
// Go's network poller.
func Serve(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "bwrap-oci: the userns keeper is started by bwrap-oci itself")
		return 2
	}
	sock, lockPath := args[0], args[1]
	idle, err := time.ParseDuration(args[2])
	if err != nil || idle <= 0 {
		return 2
	}
	const listener, ready = 3, 4
	// Nothing else the runtime had open (descriptors it was told to
	// preserve for a container, say) may stay open in the keeper.
	_ = unix.CloseRange(ready+1, ^uint(0), 0)
	b := make([]byte, 1)
	if n, _ := unix.Read(ready, b); n != 1 {
		return 1 // the runtime could not map the namespace
	}
	if err := unix.SetNonblock(listener, true); err != nil {
		return 1
	}
	if _, err := unix.Write(ready, b); err != nil {
		return 1
	}
	unix.Close(ready)
	var bound unix.Stat_t
	if err := unix.Stat(sock, &bound); err != nil {
		return 1
	}
	// The nested namespaces' maps: the keeper's own, seen from inside.
	uids, err1 := readNested("/proc/self/uid_map")
	gids, err2 := readNested("/proc/self/gid_map")
	if err1 != nil || err2 != nil {
		return 1
	}
	next := make(chan *os.File, 1)
	fill := func() {
		f, err := newUserNS(uids, gids)
		if err != nil {
			f = nil
		}
		next <- f
	}
	go fill()
	runtime.LockOSThread()
	for {
		fds := []unix.PollFd{{Fd: listener, Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(idle.Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if n == 0 && err == nil {
			if retire(sock, lockPath, &bound, listener, next, fill) {
				return 0
			}
			continue
		}
		if serveOne(listener, next) {
			go fill()
		}
	}
}

// serveOne accepts and answers one request, if one is queued; it reports
// whether it used the namespace made ahead of time.
func serveOne(listener int, next chan *os.File) bool {
	c, _, err := unix.Accept4(listener, unix.SOCK_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(c)
	// Connecting is the request. Only the keeper's own user (the host
	// user who started it) is answered.
	cred, err := unix.GetsockoptUcred(c, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || int(cred.Uid) != os.Getuid() {
		return false
	}
	var f *os.File
	select {
	case f = <-next:
	case <-time.After(replyTimeout):
		return false
	}
	if f == nil {
		return true
	}
	defer f.Close()
	// "y" and the keeper's pid (see request), a few bytes on a new
	// connection: the send cannot block.
	_ = unix.Sendmsg(c, []byte("y"+strconv.Itoa(os.Getpid())), unix.UnixRights(int(f.Fd())), nil, unix.MSG_NOSIGNAL)
	return true
}

// retire ends an idle keeper: under the lock, so that no runtime starts a
// new keeper on the same path meanwhile, it removes the socket if it is
// still its own, and answers the requests already queued.
func retire(sock, lockPath string, bound *unix.Stat_t, listener int, next chan *os.File, fill func()) bool {
	fd, err := unix.Open(lockPath, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return true // the state root is gone: nobody can reach the keeper
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false // a runtime is starting a keeper: wait for it
	}
	var st unix.Stat_t
	if unix.Stat(sock, &st) == nil && st.Dev == bound.Dev && st.Ino == bound.Ino {
		_ = unix.Unlink(sock)
	}
	for {
		fds := []unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, 0); n != 1 {
			return true
		}
		if serveOne(listener, next) {
			fill()
		}
	}
}

// readNested reads the keeper's own map and returns its nested form.
func readNested(file string) ([]idmap.Mapping, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	ms, err := idmap.Parse(string(data))
	if err != nil || len(ms) == 0 {
		return nil, fmt.Errorf("%s: no map", file)
	}
	return Nested(ms), nil
}
