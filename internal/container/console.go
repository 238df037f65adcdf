package container

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openPty allocates a pseudo-terminal pair.
func openPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("allocating a terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlocking the terminal: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("naming the terminal: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("opening the terminal: %v", err)
	}
	return m, s, nil
}

// dialConsole connects to the caller's console socket.
func dialConsole(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--console-socket %s: %v", path, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("--console-socket %s: %v", path, err)
	}
	return os.NewFile(uintptr(fd), "console-socket"), nil
}

// sendConsoleFD sends master over the connected socket fd.
func sendConsoleFD(sock int, master int, name string) error {
	return unix.Sendmsg(sock, []byte(name), unix.UnixRights(master), nil, 0)
}

// sendConsole sends the terminal's master over the unix socket at path, as
// runc does for --console-socket.
func sendConsole(path string, master *os.File) error {
	conn, err := dialConsole(path)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := sendConsoleFD(int(conn.Fd()), int(master.Fd()), master.Name()); err != nil {
		return fmt.Errorf("--console-socket %s: sending the terminal: %v", path, err)
	}
	return nil
}
