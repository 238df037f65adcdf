package bwrap

import (
	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// RealHost answers Host's questions from the file system.
type RealHost struct{}

// Kind stats hostPath, following symlinks.
func (RealHost) Kind(hostPath string) Kind {
	var st unix.Stat_t
	err := unix.Stat(hostPath, &st)
	for err == unix.EINTR { // as os.Stat
		err = unix.Stat(hostPath, &st)
	}
	switch {
	case err != nil:
		return Missing
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return Dir
	}
	return File
}

// InRoot resolves containerPath inside root without leaving it.
func (RealHost) InRoot(root, containerPath string) (string, error) {
	return securejoin.SecureJoin(root, containerPath)
}

// Device reports whether hostPath is that device node.
func (RealHost) Device(hostPath, typ string, major, minor int64) bool {
	var st unix.Stat_t
	if err := unix.Stat(hostPath, &st); err != nil {
		return false
	}
	want := uint32(unix.S_IFCHR)
	if typ == "b" {
		want = unix.S_IFBLK
	}
	return st.Mode&unix.S_IFMT == want && int64(unix.Major(st.Rdev)) == major && int64(unix.Minor(st.Rdev)) == minor
}
