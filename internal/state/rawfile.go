package state

import (
	"io"
	"os"
	"syscall"
)

// The functions here do what os.OpenFile, (*os.File).Write and Close do
// for a regular file, with the same errors, in plain system calls: an
// *os.File costs four fcntl calls and an epoll_ctl more to open.

// WriteFile is os.WriteFile.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	fd, err := openFile(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, perm)
	if err != nil {
		return err
	}
	return writeClose(fd, name, data)
}

// openFile is os.OpenFile's open(2) (O_CLOEXEC added).
func openFile(name string, flag int, perm os.FileMode) (int, error) {
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

// writeClose writes data to fd and closes it. The error is the write's,
// else the close's.
func writeClose(fd int, name string, data []byte) error {
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
