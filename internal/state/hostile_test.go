package state

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileIDs cannot name a container: each would reach outside the root,
// collide with the store's own names, or be unusable as a file name. A NUL
// byte cannot come through a command line; it can through an API caller.
var hostileIDs = []string{
	"", ".", "..", "../x", "../../x", "a/b", "a/../b", "/abs", "/", "x\x00", "\x00",
	"a\x00/../../x", "-rf", " x", "x ", "a\nb", "a\\b", ".new#1", ".rm#1", "é",
	strings.Repeat("a", MaxIDLength+1), strings.Repeat("b", 1<<16),
}

// TestHostileIDs: Create and Open refuse every hostile ID before touching
// the file system: nothing appears in the root or next to it.
func TestHostileIDs(t *testing.T) {
	s := newStore(t)
	parent := filepath.Dir(s.Root)
	ok, err := s.Create("ok")
	if err != nil {
		t.Fatal(err)
	}
	ok.Close()
	before := dirNames(t, parent)
	inRoot := dirNames(t, s.Root)
	for _, id := range hostileIDs {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%.40q) = nil", id)
		}
		if c, err := s.Create(id); err == nil {
			c.Remove()
			t.Errorf("Create(%.40q) succeeded", id)
		} else if strings.ContainsAny(err.Error(), "\n\x00") || len(err.Error()) > 300 {
			t.Errorf("Create(%.40q): error %.100q is not one short line", id, err)
		}
		if c, err := s.Open(id); err == nil {
			c.Close()
			t.Errorf("Open(%.40q) succeeded", id)
		}
	}
	if after := dirNames(t, parent); !slices.Equal(before, after) {
		t.Errorf("next to the root: before %q, after %q", before, after)
	}
	if after := dirNames(t, s.Root); !slices.Equal(inRoot, after) {
		t.Errorf("in the root: before %q, after %q", inRoot, after)
	}
}

// TestHostileStateDir: a container directory that is a symlink (to a
// directory with a forged state.json), or a state.json that is a symlink or
// a FIFO, is refused by Open or Load, and listed with an error.
func TestHostileStateDir(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("real")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	elsewhere := t.TempDir()
	data := []byte(`{"ociVersion":"1.2.0","id":"linked","pid":1,"status":"running"}`)
	if err := os.WriteFile(filepath.Join(elsewhere, StateFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(s.Root, "linked")); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Open("linked"); err == nil {
		c.Close()
		t.Error("Open followed a symlinked container directory")
	}
	// state.json as a symlink to a forged file, then as a FIFO.
	statePath := filepath.Join(s.Root, "real", StateFile)
	if err := os.Symlink(filepath.Join(elsewhere, StateFile), statePath); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Open("real"); err == nil {
		if st, err := c.Load(); err == nil {
			t.Errorf("Load followed a symlinked state.json: %+v", st)
		}
		c.Close()
	}
	os.Remove(statePath)
	if err := syscall.Mkfifo(statePath, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if c, err := s.Open("real"); err == nil {
			if _, err := c.Load(); err == nil {
				t.Error("Load read a FIFO")
			}
			c.Close()
		}
		l, err := s.List()
		if err != nil {
			t.Errorf("List: %v", err)
		}
		for _, e := range l {
			if e.ID == "real" && e.Err == nil {
				t.Error("List read a FIFO as state")
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(hangTimeout):
		t.Fatal("a FIFO as state.json blocks")
	}
	if _, err := os.Stat(filepath.Join(elsewhere, StateFile)); err != nil {
		t.Errorf("the forged file was touched: %v", err)
	}
}
