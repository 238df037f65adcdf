package keeper

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// unshareInHolder makes the holder, stopped at its exec (one thread, none
// of its code run), call unshare(CLONE_NEWUSER): a syscall instruction is
// written at its instruction pointer (in its private copy of the page), the
// call's number and argument are set in its registers, and it is stepped
// over that one instruction. The holder is killed afterwards, whatever its
// registers then hold.
func unshareInHolder(pid int) error {
	var regs syscall.PtraceRegs
	if err := syscall.PtraceGetRegs(pid, &regs); err != nil {
		return err
	}
	if _, err := syscall.PtracePokeText(pid, uintptr(regs.Rip), []byte{0x0f, 0x05}); err != nil { // syscall
		return err
	}
	regs.Rax, regs.Rdi = unix.SYS_UNSHARE, unix.CLONE_NEWUSER
	regs.Orig_rax = ^uint64(0) // not in a system call: nothing to restart
	if err := syscall.PtraceSetRegs(pid, &regs); err != nil {
		return err
	}
	if err := syscall.PtraceSingleStep(pid); err != nil {
		return err
	}
	if err := waitStopped(pid); err != nil {
		return err
	}
	if err := syscall.PtraceGetRegs(pid, &regs); err != nil {
		return err
	}
	if errno := int64(regs.Rax); errno != 0 {
		return fmt.Errorf("unshare in the namespace's process: %v", syscall.Errno(-errno))
	}
	return nil
}
