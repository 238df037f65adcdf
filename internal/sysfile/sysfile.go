// Package sysfile reads and writes small files as os.ReadFile,
// os.WriteFile and os.OpenFile do, with the same errors, in plain system
// calls: an *os.File costs four fcntl calls and an epoll_ctl more to open,
// which matters on the start-up path of every container.
package sysfile

import (
	"io"
	"os"
	"syscall"
)

// ReadFile is os.ReadFile, with its errors.
func ReadFile(name string) ([]byte, error) {
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

// WriteFile is os.WriteFile.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	fd, err := Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, perm)
	if err != nil {
		return err
	}
	return WriteClose(fd, name, data)
}

// Open is os.OpenFile's open(2) (O_CLOEXEC added).
func Open(name string, flag int, perm os.FileMode) (int, error) {
	for {
		fd, err := syscall.Open(name, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return fd, nil
	}
}

// WriteClose writes data to fd and closes it. The error is the write's,
// else the close's.
func WriteClose(fd int, name string, data []byte) error {
	err := writeAll(fd, data)
	if err != nil {
		err = &os.PathError{Op: "write", Path: name, Err: err}
	}
	if cerr := syscall.Close(fd); cerr != nil && err == nil {
		err = &os.PathError{Op: "close", Path: name, Err: cerr}
	}
	return err
}

// writeAll writes p as (*os.File).Write does.
func writeAll(fd int, p []byte) error {
	for nn := 0; nn < len(p); {
		n, err := syscall.Write(fd, p[nn:])
		if err == syscall.EINTR {
			continue
		}
		if n > 0 {
			nn += n
		}
		if nn == len(p) {
			return err
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}
