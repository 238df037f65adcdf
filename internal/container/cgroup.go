package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// containerCgroup is a cgroup v2 directory made for one container below the
// caller's own cgroup, which must be delegated to the caller (writable).
type containerCgroup struct {
	own string   // the caller's cgroup directory
	dir string   // the container's
	fd  *os.File // dir, for clone3(CLONE_INTO_CGROUP)
}

// cgroupV2Mount is where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup
// (unified) or /sys/fs/cgroup/unified (hybrid).
func cgroupV2Mount() (string, error) {
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return dir, nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified")
}

// ownCgroup is the caller's cgroup v2 directory.
func ownCgroup() (string, error) {
	mnt, err := cgroupV2Mount()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(mnt, p), nil
		}
	}
	return "", errors.New("this process is in no cgroup v2")
}

func newContainerCgroup(id string) (*containerCgroup, error) {
	own, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	if unix.Access(filepath.Join(own, "cgroup.procs"), unix.W_OK) != nil || unix.Access(own, unix.W_OK) != nil {
		return nil, fmt.Errorf("your cgroup %s is not delegated to you (run in `systemd-run --user --scope -p Delegate=yes`, or have an administrator create a cgroup, chown it to you and move your shell into it: see docs/systemd.md)", own)
	}
	dir := filepath.Join(own, "bwrap-oci-"+id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		// Left by a container that ended without clean-up.
		cg := &containerCgroup{own: own, dir: dir}
		cg.remove()
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("%s is still in use: %v", dir, err)
		}
	}
	fd, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = os.Remove(dir)
		return nil, err
	}
	return &containerCgroup{own: own, dir: dir, fd: fd}, nil
}

// moveOut moves pid back to the caller's cgroup.
func (c *containerCgroup) moveOut(pid int) error {
	if err := os.WriteFile(filepath.Join(c.own, "cgroup.procs"), []byte(fmt.Sprint(pid)), 0); err != nil {
		return fmt.Errorf("moving bwrap's monitor out of the container's cgroup: %v", err)
	}
	return nil
}

// remove removes the container's cgroup and what its init made below it.
func (c *containerCgroup) remove() {
	if c.fd != nil {
		c.fd.Close()
	}
	// The container is over once its init has exited: whatever is still in
	// its cgroup (a process of an exec, one still exiting) is killed
	// (cgroup.kill, Linux 5.14), and the directories are removed as soon
	// as they are empty, waiting up to a second for processes to go.
	_ = os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0)
	deadline := time.Now().Add(time.Second)
	for {
		var dirs []string
		_ = filepath.WalkDir(c.dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		busy := false
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := unix.Rmdir(dirs[i]); err == unix.EBUSY {
				busy = true
			}
		}
		if !busy || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
