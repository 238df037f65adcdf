package state

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// maxStatusSize bounds how much of status.json is read.
const maxStatusSize = 1 << 20

// ExitCode returns the exit code bwrap recorded in ROOT/ID/status.json, the
// file its --json-status-fd points at. bwrap appends one JSON object per
// line, e.g. `{ "child-pid": 2408, "cgroup-namespace": 4026532182 }` and,
// once the container's process has exited, `{ "exit-code": 0 }`. ok is false
// while there is no complete exit-code document (or no readable file owned
// by the current euid). Lines that are incomplete (bwrap writes some in
// several pieces) or not JSON objects are ignored.
func (c *Container) ExitCode() (code int, ok bool) {
	return readExitCode(filepath.Join(c.dir, StatusFile))
}

func readExitCode(path string) (code int, ok bool) {
	f, err := openRegular(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || checkOwner("status file", path, &st) != nil {
		return 0, false
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStatusSize))
	if err != nil {
		return 0, false
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		var doc struct {
			ExitCode *int `json:"exit-code"`
		}
		if json.Unmarshal(line, &doc) == nil && doc.ExitCode != nil {
			code, ok = *doc.ExitCode, true
		}
	}
	return code, ok
}
