package sysfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileLikeOS: WriteFile writes and fails as os.WriteFile does.
func TestWriteFileLikeOS(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("x"), 100000)
	for _, name := range []string{"new", "dir", "missing/x", "ro"} {
		p := filepath.Join(dir, name)
		setup := func() {
			os.RemoveAll(p)
			switch name {
			case "dir":
				os.Mkdir(p, 0o700)
			case "ro":
				os.WriteFile(p, []byte("old content"), 0o400)
			}
		}
		setup()
		werr := os.WriteFile(p, data, 0o600)
		want, _ := os.ReadFile(p)
		wfi, _ := os.Lstat(p)
		setup()
		gerr := WriteFile(p, data, 0o600)
		got, _ := os.ReadFile(p)
		gfi, _ := os.Lstat(p)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !bytes.Equal(got, want) || (wfi == nil) != (gfi == nil) || wfi != nil && wfi.Mode() != gfi.Mode() {
			t.Errorf("%s: WriteFile: %v, %d bytes; os.WriteFile: %v, %d bytes", name, gerr, len(got), werr, len(want))
		}
	}
}
