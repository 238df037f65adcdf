package container

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// notifyDir is where a container sees the sd_notify socket bwrap-oci binds
// for it.
const notifyDir = "/run/bwrap-oci-notify"

// notifyRelay forwards the container's sd_notify messages (READY=1,
// STATUS=...) to the socket in NOTIFY_SOCKET of the runtime, which sends
// them from its own pid: a systemd unit that runs `bwrap-oci run` can be
// Type=notify with NotifyAccess=main.
type notifyRelay struct {
	dir   string // host directory bound at notifyDir
	inner int    // the socket the container sends to
	outer string // the runtime's NOTIFY_SOCKET
}

// newNotifyRelay makes the container's socket in stateDir when the runtime
// has a NOTIFY_SOCKET; nil otherwise.
func newNotifyRelay(stateDir string) (*notifyRelay, error) {
	outer := os.Getenv("NOTIFY_SOCKET")
	if outer == "" {
		return nil, nil
	}
	dir := filepath.Join(stateDir, "notify")
	if err := os.Mkdir(dir, 0o711); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "notify.sock")
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// Any uid of the container may notify, as with systemd's own socket.
	_ = os.Chmod(sock, 0o777)
	return &notifyRelay{dir: dir, inner: fd, outer: outer}, nil
}

// args binds the socket into the container and names it to the process.
func (n *notifyRelay) args() []string {
	return []string{"--bind", n.dir, notifyDir, "--setenv", "NOTIFY_SOCKET", notifyDir + "/notify.sock"}
}

// run relays messages until the socket is closed.
func (n *notifyRelay) run() {
	addr := n.outer
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:]
	}
	out, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(out)
	buf := make([]byte, 4096)
	for {
		k, _, err := unix.Recvfrom(n.inner, buf, 0)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		_ = unix.Sendto(out, buf[:k], 0, &unix.SockaddrUnix{Name: addr})
	}
}

func (n *notifyRelay) close() {
	unix.Shutdown(n.inner, unix.SHUT_RDWR)
	unix.Close(n.inner)
}
