// Package passwd reads /etc/passwd without cgo, so that bwrap-oci stays a
// static binary that starts fast (os/user would link the C library).
package passwd

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"syscall"
)

// Entry is one line of /etc/passwd.
type Entry struct {
	Name string
	UID  uint32
	GID  uint32
	Home string
}

// File is the file Lookup reads.
var File = "/etc/passwd"

// Lookup finds the entry of uid; ok is false when there is none.
func Lookup(uid uint32) (Entry, bool) {
	fd, err := syscall.Open(File, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(File, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return Entry{}, false
	}
	defer syscall.Close(fd)
	return parse(bufio.NewScanner(fdReader(fd)), uid)
}

// fdReader reads a descriptor with plain read calls (an *os.File costs
// four fcntl calls and an epoll_ctl more to open).
type fdReader int

func (r fdReader) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(r), p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func parse(sc *bufio.Scanner, uid uint32) (Entry, bool) {
	want := strconv.FormatUint(uint64(uid), 10)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 7 || f[2] != want || strings.HasPrefix(f[0], "#") {
			continue
		}
		g, _ := strconv.ParseUint(f[3], 10, 32)
		return Entry{Name: f[0], UID: uid, GID: uint32(g), Home: f[5]}, true
	}
	return Entry{}, false
}
