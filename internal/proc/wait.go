// Package proc waits for child processes without blocking a thread.
//
// exec.Cmd.Wait blocks an OS thread in waitid(2). In a runtime that spends
// most of its life waiting for bwrap, newuidmap and newgidmap, every such
// wait hands the goroutine's P to another thread and keeps the Go
// scheduler's monitor thread polling every 20µs. A pidfd becomes readable
// when its process exits, so the wait can park in the network poller
// instead, where the process is idle; the reap that follows does not block.
package proc

import (
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// Wait waits for cmd's process to exit, parked in the poller, then reaps
// it with cmd.Wait (which also finishes cmd's I/O copying).
func Wait(cmd *exec.Cmd) error {
	if cmd.Process != nil {
		waitExit(cmd.Process.Pid)
	}
	return cmd.Wait()
}

// Run is cmd.Run with Wait.
func Run(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	return Wait(cmd)
}

// waitExit returns once the child pid has exited (it is not reaped), or at
// once if that cannot be watched (no pidfd support): the caller's blocking
// reap then does the waiting.
func waitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// Read calls the function again each time the poller reports the pidfd
	// readable, until it returns true: readable means exited.
	_ = rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		return err != nil || info.Signo != 0
	})
}
