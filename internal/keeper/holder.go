package keeper

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"golang.org/x/sys/unix"
)

// newUserNS creates a user namespace nested in the keeper's, mapped by uids
// and gids (setgroups allowed, as newgidmap leaves it), and returns a
// descriptor that keeps it alive. A process is needed to create it, the
// holder: a child of the keeper that execs its own binary under ptrace, so
// that it stops before running anything, and is killed once its namespace
// is opened.
//
// Where it can (unshareInHolder), the holder is started in the keeper's
// namespace, which lets Go start it with a vfork, and made to call
// unshare(CLONE_NEWUSER) itself while it is stopped; else it is cloned into
// a new namespace. The first costs the keeper about 0.8 ms of CPU per
// namespace here, the second 1.5 ms: most of it is copying the keeper's page
// tables for the clone and tearing that copy down at the exec.
func newUserNS(uids, gids []idmap.Mapping) (*os.File, error) {
	// The tracer is the thread that started the holder.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if !vforkFailed.Load() {
		f, err := newUserNSVfork(uids, gids)
		if err == nil {
			return f, nil
		}
		vforkFailed.Store(true) // for this keeper's life: it would fail again
	}
	return newUserNSClone(uids, gids)
}

// vforkFailed is set once newUserNSVfork has failed.
var vforkFailed atomic.Bool

// newUserNSClone clones the holder into a new user namespace, mapped by Go
// before the holder's exec.
func newUserNSClone(uids, gids []idmap.Mapping) (*os.File, error) {
	pid, err := startHolder(&syscall.SysProcAttr{
		Cloneflags:                 unix.CLONE_NEWUSER,
		UidMappings:                sysMaps(uids),
		GidMappings:                sysMaps(gids),
		GidMappingsEnableSetgroups: true,
		Ptrace:                     true,
		Pdeathsig:                  syscall.SIGKILL,
	})
	if err != nil {
		return nil, err
	}
	defer endHolder(pid)
	return os.Open("/proc/" + strconv.Itoa(pid) + "/ns/user")
}

// newUserNSVfork starts the holder in the keeper's own namespace (Go then
// starts it with a vfork: no copy of the keeper's memory), makes it unshare
// a new user namespace while it is stopped at its exec, and maps that.
func newUserNSVfork(uids, gids []idmap.Mapping) (*os.File, error) {
	pid, err := startHolder(&syscall.SysProcAttr{Ptrace: true, Pdeathsig: syscall.SIGKILL})
	if err != nil {
		return nil, err
	}
	defer endHolder(pid)
	if err := unshareInHolder(pid); err != nil {
		return nil, err
	}
	if err := idmap.WriteDirect(pid, "uid_map", uids); err != nil {
		return nil, err
	}
	if err := idmap.WriteDirect(pid, "gid_map", gids); err != nil {
		return nil, err
	}
	return os.Open("/proc/" + strconv.Itoa(pid) + "/ns/user")
}

// sysMaps converts maps for syscall.SysProcAttr.
func sysMaps(ms []idmap.Mapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(ms))
	for i, m := range ms {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}

// startHolder starts the holder with sys and returns once it is stopped at
// its exec (it has run nothing of its own).
func startHolder(sys *syscall.SysProcAttr) (int, error) {
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"bwrap-oci-userns"}, &syscall.ProcAttr{Dir: "/", Env: []string{}, Sys: sys})
	if err != nil {
		return 0, err
	}
	if err := waitStopped(pid); err != nil {
		endHolder(pid)
		return 0, err
	}
	return pid, nil
}

// waitStopped waits for the traced holder's next stop.
func waitStopped(pid int) error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if !ws.Stopped() {
			return fmt.Errorf("the namespace's process ended: %v", ws)
		}
		return nil
	}
}

// endHolder kills and reaps a holder.
func endHolder(pid int) {
	_ = unix.Kill(pid, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
			return
		}
	}
}
