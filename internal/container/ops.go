package container

import (
	"errors"
	"fmt"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/hooks"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func (rt *Runtime) store() state.Store { return state.Store{Root: rt.Root} }

// Kill sends sig to the container's init process.
// It takes no lock: the pidfd and the start time make the signal safe, and
// a hook that runs while the container is locked may call it.
func (rt *Runtime) Kill(id string, sig unix.Signal) error {
	st, err := rt.store().Read(id)
	if err != nil {
		return err
	}
	return signalInit(st, sig)
}

// signalInit signals the container's init through a pidfd, so that a pid
// reused by another process after the container ended is never signalled.
func signalInit(st *state.State, sig unix.Signal) error {
	if st.Pid <= 0 {
		return fmt.Errorf("container %q: %w", st.ID, errNotRunning)
	}
	fd, err := unix.PidfdOpen(st.Pid, 0)
	if err != nil {
		return fmt.Errorf("container %q: %w (no such process)", st.ID, errNotRunning)
	}
	defer unix.Close(fd)
	if !state.Alive(st.Pid, st.PidStart) {
		return fmt.Errorf("container %q: %w (no such process)", st.ID, errNotRunning)
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("container %q: %w (no such process)", st.ID, errNotRunning)
		}
		return fmt.Errorf("container %q: sending signal %d: %w", st.ID, sig, err)
	}
	return nil
}

// Delete removes a stopped container; with force it kills a running one
// first.
func (rt *Runtime) Delete(id string, force bool) error {
	c, err := rt.store().Open(id)
	if err != nil {
		return err
	}
	st, err := c.Load()
	if err != nil {
		if !force {
			c.Close()
			return fmt.Errorf("%w (delete --force removes it anyway)", err)
		}
		return c.Remove()
	}
	// A created container's process never ran: delete ends it, as runc
	// does (containerd deletes tasks that never started).
	if cur := st.Current(); cur != state.StatusStopped {
		if !force && cur != state.StatusCreated {
			c.Close()
			return fmt.Errorf("container %q is %s: stop it first, or use delete --force", id, cur)
		}
		if err := signalInit(st, unix.SIGKILL); err != nil && !errors.Is(err, errNotRunning) {
			c.Close()
			return err
		}
		if !waitGone(st, 10*time.Second) {
			c.Close()
			return fmt.Errorf("container %q: process %d did not die after SIGKILL", id, st.Pid)
		}
	}
	if dir := st.Extra["cgroup"]; dir != "" {
		(&containerCgroup{dir: dir}).remove()
	}
	hs := rt.savedHooks(st) // its frozen config goes with the state dir
	if err := c.Remove(); err != nil {
		return err
	}
	return rt.runHooks(hooks.Poststop, hs, hookState(st, specs.StateStopped))
}

func waitGone(st *state.State, limit time.Duration) bool {
	// A pidfd becomes readable when the process exits: no polling.
	if fd, err := unix.PidfdOpen(st.Pid, 0); err == nil {
		defer unix.Close(fd)
		if state.Alive(st.Pid, st.PidStart) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			for {
				n, err := unix.Poll(fds, int(limit.Milliseconds()))
				if err == unix.EINTR {
					continue
				}
				if err != nil || n == 0 {
					return !state.Alive(st.Pid, st.PidStart)
				}
				break
			}
		}
	}
	deadline := time.Now().Add(limit)
	for d := 100 * time.Microsecond; ; d = min(d*2, 5*time.Millisecond) {
		// Exited is not enough while the zombie waits for its reaper.
		if !state.Alive(st.Pid, st.PidStart) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(d)
	}
}

// OCIState is the state of the runtime spec, with annotations always
// present (specs.State omits them when empty).
type OCIState struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations"`
}

// State returns the OCI state of a container.
// It takes no lock (state.json is replaced atomically), so that a hook run
// while the container is locked may call it.
func (rt *Runtime) State(id string) (*OCIState, error) {
	st, err := rt.store().Read(id)
	if err != nil {
		return nil, err
	}
	return ociState(st), nil
}

func ociState(st *state.State) *OCIState {
	cur := st.Current()
	out := &OCIState{
		Version:     st.OCIVersion,
		ID:          st.ID,
		Status:      string(cur),
		Bundle:      st.Bundle,
		Annotations: st.Annotations,
	}
	if cur != state.StatusStopped {
		out.Pid = st.Pid
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	return out
}

// Item is one row of `list`.
type Item struct {
	ID      string    `json:"id"`
	Pid     int       `json:"pid"`
	Status  string    `json:"status"`
	Bundle  string    `json:"bundle"`
	Created time.Time `json:"created,omitempty"`
	Owner   int       `json:"owner"`
	Error   string    `json:"error,omitempty"`
}

// List returns every container, sorted by ID. Unreadable entries are listed
// with status "unknown" and the reason.
func (rt *Runtime) List() ([]Item, error) {
	entries, err := rt.store().List()
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(entries))
	for _, e := range entries {
		if e.Err != nil || e.State == nil {
			msg := "no state"
			if e.Err != nil {
				msg = e.Err.Error()
			}
			out = append(out, Item{ID: e.ID, Status: "unknown", Error: msg})
			continue
		}
		it := Item{ID: e.ID, Status: string(e.Current), Bundle: e.State.Bundle, Created: e.State.Created, Owner: e.State.Owner}
		if e.Current != state.StatusStopped {
			it.Pid = e.State.Pid
		}
		out = append(out, it)
	}
	return out, nil
}

// IDs lists the container IDs, sorted, reading no state.
func (rt *Runtime) IDs() ([]string, error) { return rt.store().IDs() }
