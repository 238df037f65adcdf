package container

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/state"
	"golang.org/x/sys/unix"
)

// Pids returns the host pids of the container's processes: those in its
// PID namespace when it has one of its own, else its init's descendants.
func (rt *Runtime) Pids(id string) ([]int, error) {
	c, err := rt.store().Open(id)
	if err != nil {
		return nil, err
	}
	st, err := c.Load()
	c.Close()
	if err != nil {
		return nil, err
	}
	if st.Current() == state.StatusStopped {
		return []int{}, nil
	}
	return containerPids(st.Pid)
}

func containerPids(initPid int) ([]int, error) {
	initNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPid))
	if err != nil {
		return nil, fmt.Errorf("container process %d: %v", initPid, err)
	}
	ownNS, _ := os.Readlink("/proc/self/ns/pid")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	parent := map[int]int{}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if initNS != ownNS {
			if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && ns == initNS {
				out = append(out, pid)
			}
			continue
		}
		if data, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			s := string(data)
			if i := strings.LastIndexByte(s, ')'); i > 0 {
				f := strings.Fields(s[i+1:])
				if len(f) > 2 {
					parent[pid], _ = strconv.Atoi(f[1])
				}
			}
		}
	}
	if initNS == ownNS {
		for pid := range parent {
			for p := pid; p > 1; p = parent[p] {
				if p == initPid {
					out = append(out, pid)
					break
				}
			}
		}
	}
	sort.Ints(out)
	return out, nil
}

// KillAll signals every process of the container.
func (rt *Runtime) KillAll(id string, sig unix.Signal) error {
	c, err := rt.store().Open(id)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Load()
	if err != nil {
		return err
	}
	if st.Current() == state.StatusStopped {
		return fmt.Errorf("container %q: %w (no such process)", id, errNotRunning)
	}
	pids, err := containerPids(st.Pid)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		_ = unix.Kill(pid, sig)
	}
	return nil
}
