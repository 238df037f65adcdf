package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hangTimeout only fails a test that would otherwise hang.
const hangTimeout = 30 * time.Second

func newStore(t testing.TB) Store {
	return Store{Root: filepath.Join(t.TempDir(), "root")}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func sampleState(id string) *State {
	return &State{
		OCIVersion:  "1.2.0",
		ID:          id,
		Bundle:      "/srv/bundles/" + id,
		Pid:         1234,
		PidStart:    987654321,
		MonitorPid:  1233,
		Created:     time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		Annotations: map[string]string{"org.example/key": "value"},
		Status:      StatusCreated,
		Owner:       1000,
		Extra:       map[string]string{"execFifo": "/run/x/exec.fifo"},
	}
}

func TestCreateTwice(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("abc")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.ID() != "abc" || c.Dir() != filepath.Join(s.Root, "abc") {
		t.Errorf("ID, Dir = %q, %q", c.ID(), c.Dir())
	}
	if m := mode(t, s.Root); m != os.ModeDir|0o700 {
		t.Errorf("root mode %v, want drwx------", m)
	}
	if m := mode(t, c.Dir()); m != os.ModeDir|0o700 {
		t.Errorf("container dir mode %v, want drwx------", m)
	}
	if m := mode(t, filepath.Join(c.Dir(), LockFile)); m != 0o600 {
		t.Errorf("lock file mode %v, want -rw-------", m)
	}
	if names := dirNames(t, s.Root); !slices.Equal(names, []string{"abc"}) {
		t.Errorf("root holds %q, want only abc (no temporary directory)", names)
	}

	c2, err := s.Create("abc")
	if err == nil {
		c2.Close()
		t.Fatal("second Create succeeded")
	}
	if !errors.Is(err, ErrExist) {
		t.Errorf("second Create: %v, want ErrExist", err)
	}
	if got, want := err.Error(), `container "abc" already exists`; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if names := dirNames(t, s.Root); !slices.Equal(names, []string{"abc"}) {
		t.Errorf("after failed Create root holds %q, want only abc", names)
	}

	if _, err := s.Create("a/b"); err == nil || !strings.Contains(err.Error(), "invalid container ID") {
		t.Errorf("Create(a/b) = %v, want invalid ID error", err)
	}
}

func TestCreateTightensRoot(t *testing.T) {
	s := newStore(t)
	if err := os.Mkdir(s.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := s.Create("x")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if m := mode(t, s.Root); m != os.ModeDir|0o700 {
		t.Errorf("root mode %v, want drwx------", m)
	}
}

func TestCreateRefusesForeignRoot(t *testing.T) {
	s := newStore(t)
	if err := os.Mkdir(s.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	setEUID(t, os.Geteuid()+1)
	c, err := s.Create("x")
	if err == nil {
		c.Close()
		t.Fatal("Create in a root owned by someone else succeeded")
	}
	if !strings.Contains(err.Error(), "is owned by uid") {
		t.Errorf("error %q", err)
	}
}

// Many concurrent Creates of one ID: exactly one wins.
func TestCreateRace(t *testing.T) {
	s := newStore(t)
	const n = 16
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			c, err := s.Create("race")
			if err == nil {
				defer c.Close()
				time.Sleep(10 * time.Millisecond)
			}
			results <- err
		})
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrExist):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d Creates succeeded, want 1", wins)
	}
	if names := dirNames(t, s.Root); !slices.Equal(names, []string{"race"}) {
		t.Errorf("root holds %q, want only race", names)
	}
}

func TestOpenUnknown(t *testing.T) {
	s := newStore(t)
	for _, root := range []bool{false, true} {
		if root {
			c, err := s.Create("other")
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		c, err := s.Open("nope")
		if err == nil {
			c.Close()
			t.Fatal("Open of unknown container succeeded")
		}
		if !errors.Is(err, ErrNotExist) {
			t.Errorf("Open: %v, want ErrNotExist", err)
		}
		if got, want := err.Error(), `container "nope" does not exist`; got != want {
			t.Errorf("error %q, want %q", got, want)
		}
	}
	if _, err := s.Open(".."); err == nil || errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), "invalid container ID") {
		t.Errorf(`Open("..") = %v, want invalid ID error`, err)
	}
}

func TestSaveLoad(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("rt")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := sampleState("rt")
	if err := c.Save(want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.Dir(), StateFile)
	if m := mode(t, path); m != 0o600 {
		t.Errorf("state file mode %v, want -rw-------", m)
	}
	got, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v\nwant %+v", got, want)
	}

	// Overwrite; still one state file and no temporary file.
	want.Status = StatusRunning
	want.Annotations = nil
	if err := c.Save(want); err != nil {
		t.Fatal(err)
	}
	if got, err = c.Load(); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load after 2nd Save = %+v, %v\nwant %+v", got, err, want)
	}
	if names := dirNames(t, c.Dir()); !slices.Equal(names, []string{LockFile, StateFile}) {
		t.Errorf("container dir holds %q, want only lock and state.json", names)
	}

	// Reopened by someone else.
	c.Close()
	c2, err := s.Open("rt")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got, err = c2.Load(); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load after Open = %+v, %v", got, err)
	}

	if err := c2.Save(sampleState("other")); err == nil {
		t.Error("Save of another container's state succeeded")
	}
	if err := c2.Save(nil); err == nil {
		t.Error("Save(nil) succeeded")
	}
	if _, err := c.Load(); err == nil {
		t.Error("Load on a closed container succeeded")
	}
	if err := c.Save(want); err == nil {
		t.Error("Save on a closed container succeeded")
	}
}

func TestLoadErrorsNamePath(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("bad")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	path := filepath.Join(c.Dir(), StateFile)
	for _, content := range []string{"", "{", `{"id":"bad"} trailing`, `{"id":"someone-else"}`, "null"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := c.Load()
		if err == nil {
			t.Errorf("Load of %q succeeded", content)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Load of %q: error %q does not name %s", content, err, path)
		}
	}
	os.Remove(path)
	if _, err := c.Load(); err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load without state file: %v", err)
	}
	// A symlink or a FIFO is refused (and the FIFO does not block).
	if err := os.Symlink("/etc/passwd", path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Load of a symlink: %v", err)
	}
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Load(); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Load of a FIFO: %v", err)
		}
	case <-time.After(hangTimeout):
		t.Fatal("Load of a FIFO hangs")
	}
}

func writeState(t *testing.T, s Store, id, content string, withFile bool) {
	t.Helper()
	dir := filepath.Join(s.Root, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if withFile {
		if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestList(t *testing.T) {
	s := newStore(t)
	if l, err := s.List(); err != nil || len(l) != 0 {
		t.Fatalf("List of missing root = %v, %v; want empty", l, err)
	}
	for _, id := range []string{"zeta", "alpha", "mid"} {
		c, err := s.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Save(sampleState(id)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	writeState(t, s, "corrupt", `{"ociVersion": "1.2.0", "id": "corr`, true)
	writeState(t, s, "empty", "", true)
	writeState(t, s, "missing", "", false)
	// Ignored: a plain file, a symlink to a container, temporary dirs.
	if err := os.WriteFile(filepath.Join(s.Root, "plainfile"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("alpha", filepath.Join(s.Root, "link")); err != nil {
		t.Fatal(err)
	}
	writeState(t, s, ".new#123", "{}", true)
	writeState(t, s, ".rm#456", "{}", true)

	// Hold a lock: List must not wait for it.
	held, err := s.Open("mid")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	type result struct {
		l   []Entry
		err error
	}
	done := make(chan result, 1)
	go func() { l, err := s.List(); done <- result{l, err} }()
	var r result
	select {
	case r = <-done:
	case <-time.After(hangTimeout):
		t.Fatal("List blocks on a locked container")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	var ids []string
	for _, e := range r.l {
		ids = append(ids, e.ID)
	}
	if want := []string{"alpha", "corrupt", "empty", "mid", "missing", "zeta"}; !slices.Equal(ids, want) {
		t.Fatalf("List IDs = %q, want %q", ids, want)
	}
	for _, e := range r.l {
		switch e.ID {
		case "alpha", "mid", "zeta":
			if e.Err != nil || e.State == nil || !reflect.DeepEqual(e.State, sampleState(e.ID)) {
				t.Errorf("entry %s: state %+v, err %v", e.ID, e.State, e.Err)
			}
		default:
			if e.Err == nil || e.State != nil {
				t.Errorf("entry %s: state %+v, err %v; want an error", e.ID, e.State, e.Err)
				continue
			}
			if path := filepath.Join(s.Root, e.ID, StateFile); !strings.Contains(e.Err.Error(), path) {
				t.Errorf("entry %s: error %q does not name %s", e.ID, e.Err, path)
			}
		}
	}
}

func TestForeignStateFile(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("foreign")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(sampleState("foreign")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	path := filepath.Join(s.Root, "foreign", StateFile)

	if os.Geteuid() == 0 {
		// Really give the file away.
		if err := os.Chown(path, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("state file %s is owned by uid 4242, not you", path)
		c, err := s.Open("foreign")
		if err == nil {
			c.Close()
			t.Error("Open trusted a foreign state file")
		} else if err.Error() != want {
			t.Errorf("Open: %q, want %q", err, want)
		}
		l, err := s.List()
		if err != nil || len(l) != 1 || l[0].Err == nil || l[0].Err.Error() != want {
			t.Errorf("List = %+v, %v; want one entry with error %q", l, err, want)
		}
		return
	}
	// Not root: pretend to be someone else.
	setEUID(t, os.Geteuid()+1)
	want := fmt.Sprintf("state file %s is owned by uid %d, not you", path, os.Geteuid())
	l, err := s.List()
	if err != nil || len(l) != 1 || l[0].Err == nil || l[0].Err.Error() != want {
		t.Errorf("List = %+v, %v; want one entry with error %q", l, err, want)
	}
	if c, err := s.Open("foreign"); err == nil {
		c.Close()
		t.Error("Open trusted a foreign container")
	}
}

func TestLockSerialisation(t *testing.T) {
	s := newStore(t)
	first, err := s.Create("locked")
	if err != nil {
		t.Fatal(err)
	}
	acquired := make(chan *Container, 1)
	errs := make(chan error, 1)
	go func() {
		c, err := s.Open("locked")
		if err != nil {
			errs <- err
			return
		}
		acquired <- c
	}()
	select {
	case c := <-acquired:
		c.Close()
		t.Fatal("second Open got the lock while the first holder still has it")
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case c := <-acquired:
		c.Close()
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(hangTimeout):
		t.Fatal("second Open still blocked after Close")
	}
}

func TestOpenWhileRemoved(t *testing.T) {
	s := newStore(t)
	first, err := s.Create("doomed")
	if err != nil {
		t.Fatal(err)
	}
	const waiters = 3
	errs := make(chan error, waiters)
	for range waiters {
		go func() {
			c, err := s.Open("doomed")
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	time.Sleep(200 * time.Millisecond) // let them block on the lock
	if err := first.Remove(); err != nil {
		t.Fatal(err)
	}
	for range waiters {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrNotExist) {
				t.Errorf("Open waiting during Remove: %v, want ErrNotExist", err)
			}
		case <-time.After(hangTimeout):
			t.Fatal("Open still blocked after Remove")
		}
	}
}

func TestRemove(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(sampleState("gone")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir(), "config.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(c.Dir(), "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	keep, err := s.Create("keep")
	if err != nil {
		t.Fatal(err)
	}
	keep.Close()

	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory still there: %v", err)
	}
	if names := dirNames(t, s.Root); !slices.Equal(names, []string{"keep"}) {
		t.Errorf("root holds %q, want only keep", names)
	}
	if err := c.Save(sampleState("gone")); err == nil {
		t.Error("Save after Remove succeeded")
	}
	if err := c.Remove(); err == nil {
		t.Error("second Remove succeeded")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after Remove: %v", err)
	}
	if _, err := s.Open("gone"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Open after Remove: %v, want ErrNotExist", err)
	}
	// The ID can be reused at once, and is not locked.
	c, err = s.Create("gone")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c, err = s.Open("gone"); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func BenchmarkList1000(b *testing.B) {
	s := newStore(b)
	for i := range 1000 {
		id := fmt.Sprintf("container-%04d", i)
		c, err := s.Create(id)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Save(sampleState(id)); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	for b.Loop() {
		l, err := s.List()
		if err != nil || len(l) != 1000 || l[999].Err != nil {
			b.Fatalf("List: %d entries, %v", len(l), err)
		}
	}
}

// TestRemoveParksCreateReuses: Remove parks an emptied container directory
// in FreeDir (up to freeSlots of them, the rest are removed) and Create takes
// one again; a parked directory is not a container, and never holds files.
func TestRemoveParksCreateReuses(t *testing.T) {
	s := newStore(t)
	ino := func(path string) uint64 {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	for i := 0; i < freeSlots+2; i++ {
		c, err := s.Create(fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Save(sampleState(c.ID())); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.Dir(), "config.json"), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	for i := 0; i < freeSlots+2; i++ {
		c, err := s.Open(fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Remove(); err != nil {
			t.Fatal(err)
		}
	}
	if names := dirNames(t, s.Root); !slices.Equal(names, []string{FreeDir}) {
		t.Errorf("root holds %q, want only %s", names, FreeDir)
	}
	free := filepath.Join(s.Root, FreeDir)
	parked := dirNames(t, free)
	if len(parked) != freeSlots {
		t.Fatalf("%s holds %q, want %d directories", FreeDir, parked, freeSlots)
	}
	inos := map[uint64]bool{}
	for _, n := range parked {
		if files := dirNames(t, filepath.Join(free, n)); len(files) != 0 {
			t.Errorf("parked %s holds %q", n, files)
		}
		inos[ino(filepath.Join(free, n))] = true
	}
	if ids, err := s.IDs(); err != nil || len(ids) != 0 {
		t.Errorf("IDs() = %q, %v; want none", ids, err)
	}
	// Create takes parked directories first, then makes new ones.
	for i := 0; i < freeSlots+1; i++ {
		c, err := s.Create(fmt.Sprintf("n%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if got := ino(c.Dir()); inos[got] != (i < freeSlots) {
			t.Errorf("Create n%d: reused %v, want %v", i, inos[got], i < freeSlots)
		}
		if files := dirNames(t, c.Dir()); !slices.Equal(files, []string{LockFile}) {
			t.Errorf("new container n%d holds %q, want only %s", i, files, LockFile)
		}
		if m := mode(t, c.Dir()); m != os.ModeDir|0o700 {
			t.Errorf("container dir mode %v, want drwx------", m)
		}
		c.Close()
	}
	if parked := dirNames(t, free); len(parked) != 0 {
		t.Errorf("%s still holds %q", FreeDir, parked)
	}
}

// TestCreateSkipsBadParked: a slot that is not a private directory of the
// caller's is not taken as a container directory.
func TestCreateSkipsBadParked(t *testing.T) {
	s := newStore(t)
	free := filepath.Join(s.Root, FreeDir)
	if err := os.MkdirAll(filepath.Join(free, "0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(free, "0"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := s.Create("x")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if m := mode(t, c.Dir()); m != os.ModeDir|0o700 {
		t.Errorf("container dir mode %v, want drwx------ (the 0755 slot was taken)", m)
	}
	if names := dirNames(t, s.Root); !slices.Equal(names, []string{FreeDir, "x"}) {
		t.Errorf("root holds %q", names)
	}
}
