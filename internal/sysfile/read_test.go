package sysfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestReadFileLikeOS: ReadFile returns what os.ReadFile returns, errors
// included.
func TestReadFileLikeOS(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 5000)
	files := map[string][]byte{"empty": nil, "small": []byte("{}"), "511": big[:511], "512": big[:512], "big": big}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "noread"), []byte("x"), 0o200); err != nil {
		t.Fatal(err)
	}
	paths := []string{dir, filepath.Join(dir, "missing"), filepath.Join(dir, "small", "x"), "/proc/self/status", "/proc/self/mountinfo"}
	for name := range files {
		paths = append(paths, filepath.Join(dir, name))
	}
	if os.Geteuid() != 0 {
		paths = append(paths, filepath.Join(dir, "noread"))
	}
	for _, p := range paths {
		want, werr := os.ReadFile(p)
		got, gerr := ReadFile(p)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) || werr == nil && !bytes.Equal(got, want) && p[:6] != "/proc/" {
			t.Errorf("ReadFile(%s) = %d bytes, %v; os.ReadFile: %d bytes, %v", p, len(got), gerr, len(want), werr)
		}
	}
}
