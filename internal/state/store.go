package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/bwrap-oci/bwrap-oci/internal/sysfile"
	"golang.org/x/sys/unix"
)

// maxStateSize bounds how much of a state.json is read.
const maxStateSize = 16 << 20

// Store is a directory of containers.
type Store struct{ Root string }

// Container is a locked container directory, returned by Store.Create and
// Store.Open. It is released by Close or Remove. A Container must not be used
// from several goroutines at once.
type Container struct {
	id   string
	dir  string
	lock *os.File
}

// Entry is one container found by Store.List: either State or Err is set.
type Entry struct {
	ID      string
	State   *State
	Err     error
	Current Status // State.Current(), when State is set
}

// checkDir checks that a container's directory is a real directory of the
// caller's (ErrNotExist when there is none).
func checkDir(id, dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return &idError{id: id, err: ErrNotExist}
		}
		return fmt.Errorf("container %q: %w", id, &os.PathError{Op: "lstat", Path: dir, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("container %q: %s is not a directory", id, dir)
	}
	return checkOwner("container directory", dir, &st)
}

// Read returns a container's state without taking its lock: state.json is
// replaced atomically, so a reader sees a whole one. For commands that only
// look (state) or signal through a pidfd (kill), so that a hook run while
// the container is locked can call them.
func (s Store) Read(id string) (*State, error) {
	dir, err := s.dir(id)
	if err != nil {
		return nil, err
	}
	// The same checks as Open: a real directory, and files, of the caller.
	if err := checkDir(id, dir); err != nil {
		return nil, err
	}
	var fi unix.Stat_t
	statePath := filepath.Join(dir, StateFile)
	if err := unix.Lstat(statePath, &fi); err == nil {
		if err := checkOwner("state file", statePath, &fi); err != nil {
			return nil, err
		}
	}
	st, err := readState(dir, id)
	if err != nil && errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Lstat(dir); derr != nil {
			return nil, &idError{id: id, err: ErrNotExist}
		}
	}
	return st, err
}

// IDs lists the container IDs only (no state is read), sorted.
func (s Store) IDs() ([]string, error) {
	ents, err := os.ReadDir(s.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if id := e.Name(); e.IsDir() && ValidateID(id) == nil {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (s Store) dir(id string) (string, error) {
	if s.Root == "" {
		return "", errors.New("state root directory is not set")
	}
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return filepath.Join(s.Root, id), nil
}

// ensureRoot creates the root directory (0700) if needed and checks that it
// is a directory owned by the current euid, tightening its mode to 0700.
func (s Store) ensureRoot() error {
	var st unix.Stat_t
	// An existing directory needs no MkdirAll (whose first step is this
	// stat); anything else gets MkdirAll's work and errors.
	if err := unix.Stat(s.Root, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := os.MkdirAll(s.Root, 0o700); err != nil {
			return fmt.Errorf("creating state root: %w", err)
		}
		if err := unix.Stat(s.Root, &st); err != nil {
			return &os.PathError{Op: "stat", Path: s.Root, Err: err}
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("state root %s is not a directory", s.Root)
	}
	if euid := geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("state root %s is owned by uid %d, not you (uid %d)", s.Root, st.Uid, euid)
	}
	if st.Mode&0o077 != 0 {
		if err := os.Chmod(s.Root, 0o700); err != nil {
			return fmt.Errorf("restricting state root: %w", err)
		}
	}
	return nil
}

// Create makes the directory of a new container, locked. It fails with an
// error wrapping ErrExist if the ID is taken. The directory is built under a
// temporary name, locked, and then renamed into place without replacing
// anything, so nobody can see (or lock) a new container before its creator.
func (s Store) Create(id string) (*Container, error) {
	dir, err := s.dir(id)
	if err != nil {
		return nil, err
	}
	if err := s.ensureRoot(); err != nil {
		return nil, err
	}
	tmp := s.takeFree()
	if tmp == "" {
		tmp, err = os.MkdirTemp(s.Root, ".new#*") // '#' keeps it from being a valid ID
		if err != nil {
			return nil, fmt.Errorf("creating container %q: %w", id, err)
		}
	}
	renamed := false
	defer func() {
		if !renamed {
			os.RemoveAll(tmp)
		}
	}()
	lock, err := OpenLock(filepath.Join(tmp, LockFile), true)
	if err != nil {
		return nil, fmt.Errorf("creating container %q: %w", id, err)
	}
	c := &Container{id: id, dir: dir, lock: lock}
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		renamed = true
		return c, nil
	case err == unix.EEXIST || err == unix.ENOTEMPTY:
		c.Close()
		return nil, &idError{id: id, err: ErrExist}
	case err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP:
		// Filesystem without RENAME_NOREPLACE: mkdir, then move the
		// (already locked) lock file in. An Open racing into the short
		// window in between notices the lock file changed and retries.
		if err := os.Mkdir(dir, 0o700); err != nil {
			c.Close()
			if errors.Is(err, os.ErrExist) {
				return nil, &idError{id: id, err: ErrExist}
			}
			return nil, fmt.Errorf("creating container %q: %w", id, err)
		}
		if err := os.Rename(filepath.Join(tmp, LockFile), filepath.Join(dir, LockFile)); err != nil {
			c.Close()
			os.Remove(dir)
			return nil, fmt.Errorf("creating container %q: %w", id, err)
		}
		return c, nil
	default:
		c.Close()
		return nil, fmt.Errorf("creating container %q: %w", id, &os.LinkError{Op: "rename", Old: tmp, New: dir, Err: err})
	}
}

// Open locks an existing container, waiting for whoever holds it. It fails
// with an error wrapping ErrNotExist if there is no such container, including
// when it was removed while waiting for the lock. It also refuses a
// container directory or state.json not owned by the current euid.
func (s Store) Open(id string) (*Container, error) {
	dir, err := s.dir(id)
	if err != nil {
		return nil, err
	}
	lockPath := filepath.Join(dir, LockFile)
	for attempt := 0; attempt < 100; attempt++ {
		if err := checkDir(id, dir); err != nil {
			return nil, err
		}
		var st unix.Stat_t
		lock, err := OpenLock(lockPath, false)
		if errors.Is(err, os.ErrNotExist) {
			// Damaged directory (or Create's fallback path mid-way):
			// recreate the lock file so the container can be handled.
			lock, err = OpenLock(lockPath, true)
			if errors.Is(err, os.ErrNotExist) {
				return nil, &idError{id: id, err: ErrNotExist}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("container %q: %w", id, err)
		}
		// While we waited, the container may have been removed (its
		// directory renamed away) or replaced: make sure the file we
		// locked is still the lock file at the path.
		var held, now unix.Stat_t
		if err := unix.Fstat(int(lock.Fd()), &held); err != nil {
			lock.Close()
			return nil, fmt.Errorf("container %q: %w", id, &os.PathError{Op: "fstat", Path: lockPath, Err: err})
		}
		err = unix.Lstat(lockPath, &now)
		if err != nil || now.Dev != held.Dev || now.Ino != held.Ino {
			lock.Close()
			if err != nil && err != unix.ENOENT && err != unix.ENOTDIR {
				return nil, fmt.Errorf("container %q: %w", id, &os.PathError{Op: "lstat", Path: lockPath, Err: err})
			}
			continue // gone (the next Lstat of dir says so) or replaced
		}
		c := &Container{id: id, dir: dir, lock: lock}
		statePath := filepath.Join(dir, StateFile)
		if err := unix.Lstat(statePath, &st); err == nil {
			if err := checkOwner("state file", statePath, &st); err != nil {
				c.Close()
				return nil, err
			}
		}
		return c, nil
	}
	return nil, fmt.Errorf("container %q: its lock file keeps changing", id)
}

// OpenLock opens (optionally creating) a lock file and takes an exclusive
// flock on it, blocking until it is available.
func OpenLock(path string, create bool) (*os.File, error) {
	flags := unix.O_RDWR | unix.O_CLOEXEC | unix.O_NOFOLLOW
	if create {
		flags |= unix.O_CREAT
	}
	fd, err := unix.Open(path, flags, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// msgError is an error with its own message that still matches err with
// errors.Is.
type msgError struct {
	msg string
	err error
}

func (e *msgError) Error() string { return e.msg }
func (e *msgError) Unwrap() error { return e.err }

func checkOwner(what, path string, st *unix.Stat_t) error {
	if euid := geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("%s %s is owned by uid %d, not you", what, path, st.Uid)
	}
	return nil
}

// ID returns the container's ID.
func (c *Container) ID() string { return c.id }

// Dir returns the container's state directory, ROOT/ID.
func (c *Container) Dir() string { return c.dir }

func (c *Container) errClosed() error {
	return fmt.Errorf("container %q: not locked (already closed or removed)", c.id)
}

// Save atomically replaces ROOT/ID/state.json (mode 0600) with st. st.ID must
// be the container's ID.
func (c *Container) Save(st *State) error {
	if c.lock == nil {
		return c.errClosed()
	}
	if st == nil {
		return fmt.Errorf("container %q: saving nil state", c.id)
	}
	if st.ID != c.id {
		return fmt.Errorf("container %q: refusing to save state of container %q", c.id, st.ID)
	}
	data, err := marshalState(st)
	if err != nil {
		return fmt.Errorf("container %q: encoding state: %w", c.id, err)
	}
	data = append(data, '\n')
	path := filepath.Join(c.dir, StateFile)
	// os.CreateTemp(c.dir, ".state.json.tmp*") (mode 0600), in plain
	// system calls.
	prefix := filepath.Join(c.dir, "."+StateFile+".tmp")
	var tmp string
	var fd int
	for try := 1; ; try++ {
		tmp = prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		fd, err = sysfile.Open(tmp, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL, 0o600)
		if !errors.Is(err, os.ErrExist) {
			break
		}
		if try == 10000 {
			err = &os.PathError{Op: "createtemp", Path: prefix + "*", Err: os.ErrExist}
			break
		}
	}
	if err != nil {
		return fmt.Errorf("writing state file %s: %w", path, err)
	}
	err = sysfile.WriteClose(fd, tmp, data)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing state file %s: %w", path, err)
	}
	return nil
}

// Load reads ROOT/ID/state.json.
func (c *Container) Load() (*State, error) {
	if c.lock == nil {
		return nil, c.errClosed()
	}
	return readState(c.dir, c.id)
}

// Remove deletes the container's directory, then unlocks. The directory is
// first renamed out of the way, so the ID disappears atomically and can be
// reused at once; anyone waiting in Open gets ErrNotExist. The container is
// unlocked even if Remove fails.
func (c *Container) Remove() error {
	if c.lock == nil {
		return c.errClosed()
	}
	defer c.Close()
	root := filepath.Dir(c.dir)
	// Out of the way first, under a name that is not an ID ('#'), so that
	// nobody finds a half-removed container. A fresh name each try:
	// renaming a directory onto an existing empty one, the fallback where
	// RENAME_NOREPLACE is missing, costs the kernel ten times as much.
	tomb := ""
	for try := 0; tomb == ""; try++ {
		name := filepath.Join(root, fmt.Sprintf(".rm#%d.%d", os.Getpid(), rand.Uint32()))
		switch err := unix.Renameat2(unix.AT_FDCWD, c.dir, unix.AT_FDCWD, name, unix.RENAME_NOREPLACE); {
		case err == nil:
			tomb = name
		case (err == unix.EEXIST || err == unix.ENOTEMPTY) && try < 8:
		case err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP:
			if tomb, err = renameOntoEmpty(root, c.dir); err != nil {
				return fmt.Errorf("removing container %q: %w", c.id, err)
			}
		default:
			return fmt.Errorf("removing container %q: %w", c.id, &os.LinkError{Op: "rename", Old: c.dir, New: name, Err: err})
		}
	}
	if err := removeFlat(tomb); err != nil {
		return fmt.Errorf("removing container %q: %w", c.id, err)
	}
	return nil
}

// renameOntoEmpty moves dir to a fresh empty directory in root: renaming a
// directory onto an empty one replaces it.
func renameOntoEmpty(root, dir string) (string, error) {
	tomb, err := os.MkdirTemp(root, ".rm#*")
	if err != nil {
		return "", err
	}
	// (os.Rename refuses an existing directory as destination.)
	if err := unix.Rename(dir, tomb); err != nil {
		os.Remove(tomb)
		return "", &os.LinkError{Op: "rename", Old: dir, New: tomb, Err: err}
	}
	return tomb, nil
}

// FreeDir, in the state root, keeps up to freeSlots empty container
// directories, named 0, 1, ...: Remove parks one there instead of removing
// it, and Create takes it again instead of making one. On some filesystems
// (ext4) making and removing a directory costs several times what two
// renames do, and both lie on the path of every foreground run. '#' keeps
// the name from being a container ID.
const FreeDir = "#free"

const freeSlots = 4

// takeFree moves a parked directory to a fresh staging name in the root and
// returns that name, or "" when none is parked.
func (s Store) takeFree() string {
	free := filepath.Join(s.Root, FreeDir)
	for k := 0; k < freeSlots; k++ {
		tmp := filepath.Join(s.Root, fmt.Sprintf(".new#%d.%d", os.Getpid(), rand.Uint32()))
		switch err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(free, strconv.Itoa(k)), unix.AT_FDCWD, tmp, unix.RENAME_NOREPLACE); err {
		case nil:
			// Parked by Remove, which empties a directory before it parks
			// it: a directory of the caller's, 0700.
			var st unix.Stat_t
			if unix.Lstat(tmp, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && int(st.Uid) == os.Geteuid() && st.Mode&0o7777 == 0o700 {
				return tmp
			}
			os.RemoveAll(tmp)
		case unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP:
			return "" // no RENAME_NOREPLACE: Remove parks nothing either
		}
	}
	return ""
}

// park moves the empty directory dir to a free slot of the root it is in;
// false if every slot is taken.
func park(dir string) bool {
	free := filepath.Join(filepath.Dir(dir), FreeDir)
	for k := 0; k < freeSlots; k++ {
		err := unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, filepath.Join(free, strconv.Itoa(k)), unix.RENAME_NOREPLACE)
		if err == unix.ENOENT && k == 0 { // no FreeDir yet
			if unix.Mkdir(free, 0o700) != nil {
				return false
			}
			err = unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, filepath.Join(free, "0"), unix.RENAME_NOREPLACE)
		}
		switch err {
		case nil:
			return true
		case unix.EEXIST, unix.ENOTEMPTY:
		default:
			return false
		}
	}
	return false
}

// removeFlat removes a container directory, which holds only files: each
// entry, then the directory (parked for reuse if a slot is free), with a
// third of os.RemoveAll's system calls. Anything else (a subdirectory) is
// left to os.RemoveAll.
func removeFlat(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return os.RemoveAll(dir)
	}
	f := os.NewFile(uintptr(fd), dir)
	names, err := f.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = unix.Unlinkat(fd, n, 0); err != nil {
				break
			}
		}
	}
	f.Close()
	if err == nil && park(dir) {
		return nil
	}
	if err == nil {
		if err = unix.Rmdir(dir); err == nil {
			return nil
		}
	}
	return os.RemoveAll(dir)
}

// Close unlocks the container. Closing twice is harmless.
func (c *Container) Close() error {
	if c.lock == nil {
		return nil
	}
	f := c.lock
	c.lock = nil
	return f.Close() // releases the flock
}

// List returns every container under the root, sorted by ID, without taking
// any lock. A container whose state cannot be read (being created, corrupt,
// not owned by the current euid...) has Err set instead of State. A missing
// root gives an empty list.
func (s Store) List() ([]Entry, error) {
	if s.Root == "" {
		return nil, errors.New("state root directory is not set")
	}
	ids, err := s.IDs()
	if err != nil {
		return nil, err
	}
	// Each entry is a few small reads: spread them over some goroutines so
	// that 1000 containers list quickly.
	slots := make([]Entry, len(ids))
	keep := make([]bool, len(ids))
	workers := min(len(ids), 4*runtime.NumCPU())
	var wg sync.WaitGroup
	next := make(chan int, len(ids))
	for i := range ids {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id := ids[i]
				dir := filepath.Join(s.Root, id)
				st, err := readState(dir, id)
				if err != nil && errors.Is(err, os.ErrNotExist) {
					if _, derr := os.Lstat(dir); derr != nil {
						continue // removed since ReadDir
					}
				}
				e := Entry{ID: id, State: st, Err: err}
				if st != nil {
					e.Current = st.Current()
				}
				slots[i], keep[i] = e, true
			}
		}()
	}
	wg.Wait()
	out := make([]Entry, 0, len(ids))
	for i, e := range slots {
		if keep[i] {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// readState reads and checks DIR/state.json. It never blocks (a FIFO planted
// there is refused) and only trusts a regular file owned by the current euid.
func readState(dir, id string) (*State, error) {
	path := filepath.Join(dir, StateFile)
	f, err := openRegular(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &msgError{
				msg: fmt.Sprintf("state file %s does not exist (container being created, or its creation failed)", path),
				err: os.ErrNotExist,
			}
		}
		return nil, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("state file %s: fstat: %w", path, err)
	}
	if err := checkOwner("state file", path, &st); err != nil {
		return nil, err
	}
	if st.Size == 0 {
		return nil, fmt.Errorf("state file %s is empty", path)
	}
	if st.Size > maxStateSize {
		return nil, fmt.Errorf("state file %s is too large (%d bytes)", path, st.Size)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading state file %s: %w", path, err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %v", path, err)
	}
	if s.ID != id {
		return nil, fmt.Errorf("state file %s is for container %q, not %q", path, s.ID, id)
	}
	return &s, nil
}

// openRegular opens path read-only without following a final symlink and
// without blocking, and checks that it is a regular file.
func openRegular(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		if err == unix.ELOOP {
			return nil, fmt.Errorf("%s is a symbolic link, refusing it", path)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return os.NewFile(uintptr(fd), path), nil
}
