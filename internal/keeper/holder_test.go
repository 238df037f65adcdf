package keeper

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnshareInHolder: a holder stopped at its exec is made to enter a new
// user namespace, a child of the test's own, and is gone afterwards.
func TestUnshareInHolder(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("unshareInHolder is only written for amd64 (" + runtime.GOARCH + " clones the holder)")
	}
	runtime.LockOSThread() // the tracer is the thread that starts the holder
	defer runtime.UnlockOSThread()
	pid, err := startHolder(&syscall.SysProcAttr{Ptrace: true, Pdeathsig: syscall.SIGKILL})
	if err != nil {
		t.Fatal(err)
	}
	ended := false
	defer func() {
		if !ended {
			endHolder(pid)
		}
	}()
	var self, before unix.Stat_t
	proc := "/proc/" + strconv.Itoa(pid)
	if err := unix.Stat("/proc/self/ns/user", &self); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(proc+"/ns/user", &before); err != nil || before.Ino != self.Ino {
		t.Fatalf("the holder starts in namespace %d, want the test's %d (%v)", before.Ino, self.Ino, err)
	}
	if err := unshareInHolder(pid); err != nil {
		if strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("this host refuses new user namespaces: %v", err)
		}
		t.Fatal(err)
	}
	ns, err := os.Open(proc + "/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var got, parent unix.Stat_t
	if err := unix.Fstat(int(ns.Fd()), &got); err != nil || got.Ino == self.Ino {
		t.Fatalf("after unshare the holder is in namespace %d, want a new one (%v)", got.Ino, err)
	}
	pfd, err := unix.IoctlRetInt(int(ns.Fd()), unix.NS_GET_PARENT)
	if err != nil {
		t.Fatal(err)
	}
	err = unix.Fstat(pfd, &parent)
	unix.Close(pfd)
	if err != nil || parent.Ino != self.Ino {
		t.Errorf("the new namespace's parent is %d, want the test's %d (%v)", parent.Ino, self.Ino, err)
	}
	// Not mapped yet: the holder has run nothing, and its ids show as the
	// overflow ids.
	if data, err := os.ReadFile(proc + "/uid_map"); err != nil || len(strings.TrimSpace(string(data))) != 0 {
		t.Errorf("uid_map %q, %v; want empty", data, err)
	}
	endHolder(pid)
	ended = true
	if err := unix.Kill(pid, 0); err != unix.ESRCH {
		t.Errorf("the holder %d is still there after endHolder: %v", pid, err)
	}
}
