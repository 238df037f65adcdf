package spec

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// ReadFile reads a config file, with Load's one-line errors. Load is
// ReadFile then Parse; a caller that also needs the bytes (the runtime keeps
// them as the container's copy of its config) calls the two itself.
func ReadFile(file string) ([]byte, error) {
	data, err := readFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: file, Msg: "no such file (write one with `bwrap-oci spec`)"}
		}
		return nil, &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "open "+file+": ")}
	}
	return data, nil
}

// readFile is os.ReadFile, with its errors, in plain system calls: an
// *os.File costs four fcntl calls and an epoll_ctl more, each time.
func readFile(name string) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	size := 0
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && int64(int(st.Size)) == st.Size {
		size = int(st.Size)
	}
	size++ // one byte for the final read at EOF
	if size < 512 {
		size = 512
	}
	data := make([]byte, 0, size)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return data, &os.PathError{Op: "read", Path: name, Err: err}
		}
		if n <= 0 {
			return data, nil
		}
		data = data[:len(data)+n]
	}
}
