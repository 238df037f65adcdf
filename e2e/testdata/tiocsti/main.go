// Command tiocsti tries to push input into the terminal on its standard
// streams with the TIOCSTI ioctl (and TIOCLINUX's paste), as a process
// escaping its sandbox through the caller's terminal would. It is built
// static by e2e/hardening_test.go and run inside a container.
//
// It prints one line per attempt, "TIOCSTI fd N: ok" or "TIOCSTI fd N:
// ERRNO-NAME", and exits 0 when every attempt failed, 1 when one succeeded,
// 2 on bad usage. The characters it pushes are its first argument; they are
// never printed.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

const tioclinux = 0x541C // TIOCLINUX

func errName(e syscall.Errno) string {
	switch e {
	case syscall.EPERM:
		return "EPERM"
	case syscall.EIO:
		return "EIO"
	case syscall.ENOTTY:
		return "ENOTTY"
	case syscall.EBADF:
		return "EBADF"
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.EACCES:
		return "EACCES"
	}
	return fmt.Sprintf("errno %d (%v)", int(e), e)
}

func main() {
	if len(os.Args) != 2 || os.Args[1] == "" {
		fmt.Fprintln(os.Stderr, "usage: tiocsti CHARS")
		os.Exit(2)
	}
	chars := []byte(os.Args[1])
	succeeded := false
	for fd := 0; fd < 3; fd++ {
		var failed syscall.Errno
		for i := range chars {
			_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCSTI, uintptr(unsafe.Pointer(&chars[i])))
			if e != 0 {
				failed = e
				break
			}
		}
		if failed != 0 {
			fmt.Printf("TIOCSTI fd %d: %s\n", fd, errName(failed))
		} else {
			fmt.Printf("TIOCSTI fd %d: ok\n", fd)
			succeeded = true
		}
	}
	// TIOCLINUX subcode 3 pastes the console's selection; only virtual
	// consoles know it.
	sub := byte(3)
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, 0, tioclinux, uintptr(unsafe.Pointer(&sub)))
	if e != 0 {
		fmt.Printf("TIOCLINUX fd 0: %s\n", errName(e))
	} else {
		fmt.Printf("TIOCLINUX fd 0: ok\n")
		succeeded = true
	}
	if succeeded {
		os.Exit(1)
	}
}
