// Package selfexec holds what the runtime needs to run a copy of itself, or
// a program, inside a container's namespaces: a sealed copy of the running
// binary, and the nsenter flags for the namespaces to enter.
package selfexec

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ErrDynamic is returned by SealedCopy for a dynamically linked binary,
// which cannot run inside a container (the host's libraries are not there).
var ErrDynamic = errors.New("this bwrap-oci is dynamically linked, but its helper runs inside the container, without the host's libraries: build it static (CGO_ENABLED=0 go build ./cmd/bwrap-oci)")

// SealedCopy copies the running binary into a memfd sealed against every
// change (F_SEAL_WRITE, GROW, SHRINK, SEAL): run from it inside a
// container, the helper exposes no host file the container could write
// through /proc/PID/exe (the class of CVE-2019-5736). allowDynamic lets a
// dynamically linked binary through (for a helper that runs with the
// host's root directory).
func SealedCopy(name string, allowDynamic bool) (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if ef, err := elf.NewFile(src); err == nil && !allowDynamic {
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				return nil, ErrDynamic
			}
		}
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %v", err)
	}
	dst := os.NewFile(uintptr(fd), name)
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, err
	}
	if _, err := unix.FcntlInt(dst.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		dst.Close()
		return nil, fmt.Errorf("sealing %s: %v", name, err)
	}
	return dst, nil
}

var namespaces = []struct{ file, flag string }{
	{"user", "--user"}, {"mnt", "--mount"}, {"pid", "--pid"}, {"net", "--net"},
	{"ipc", "--ipc"}, {"uts", "--uts"}, {"cgroup", "--cgroup"},
}

// NsenterArgs gives nsenter's flags for the namespaces of pid that differ
// from the caller's (setns into one's own user namespace fails).
func NsenterArgs(pid int) ([]string, error) {
	var out []string
	for _, k := range namespaces {
		theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, k.file))
		if err != nil {
			return nil, fmt.Errorf("container process %d: %v", pid, err)
		}
		ours, _ := os.Readlink("/proc/self/ns/" + k.file)
		if theirs != ours {
			out = append(out, k.flag)
		}
	}
	return out, nil
}
