package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFileErrors: ReadFile reads a config, and words a missing or
// unreadable one as a one-line *Error naming the file.
func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "config.json")
	if err := os.WriteFile(ok, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(ok); err != nil || string(data) != "{}" {
		t.Errorf("ReadFile(%s) = %q, %v", ok, data, err)
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file (write one with `bwrap-oci spec`)"},
		{dir, "is a directory"},
	} {
		_, err := ReadFile(c.path)
		var se *Error
		if !errors.As(err, &se) || se.File != c.path || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ReadFile(%s) = %v, want an *Error naming the file with %q", c.path, err, c.want)
		}
	}
}
