package idmap

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/passwd"
	"github.com/bwrap-oci/bwrap-oci/internal/proc"
)

// HelperError is returned by Apply when newuidmap/newgidmap cannot be run or
// fails. Its message quotes the helper's stderr and adds a fix hint.
type HelperError struct {
	Helper string // as passed to Apply
	Stderr string // trimmed, on one line; may be empty
	Hint   string // may be empty
	Err    error  // underlying error (exec.ErrNotFound, *exec.ExitError, ...)
}

func (e *HelperError) Error() string {
	msg := e.Helper + " failed"
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *HelperError) Unwrap() error { return e.Err }

// Apply runs helper ("newuidmap" or "newgidmap", looked up on PATH, or an
// absolute path) with HelperArgs(pid, ms). On failure it returns a
// *HelperError quoting the helper's stderr with a fix hint.
func Apply(helper string, pid int, ms []Mapping) error {
	r, err := Start(helper, pid, ms)
	if err != nil {
		return err
	}
	return r.Wait()
}

// Running is a helper started by Start.
type Running struct {
	helper string
	cmd    *exec.Cmd
	out    bytes.Buffer
}

// Start starts what Apply runs, without waiting for it: newuidmap and
// newgidmap can run side by side, both started from one goroutine.
func Start(helper string, pid int, ms []Mapping) (*Running, error) {
	path := helper
	if !strings.ContainsRune(helper, '/') {
		p, err := exec.LookPath(helper)
		if err != nil {
			return nil, helperError(helper, "", err, "")
		}
		path = p
	}
	r := &Running{helper: helper, cmd: exec.Command(path, HelperArgs(pid, ms)...)}
	r.cmd.Stdout = &r.out
	r.cmd.Stderr = &r.out
	if err := r.cmd.Start(); err != nil {
		return nil, helperError(helper, "", err, currentUser())
	}
	return r, nil
}

// Wait waits for the helper and returns Apply's error.
func (r *Running) Wait() error {
	if err := proc.Wait(r.cmd); err != nil {
		return helperError(r.helper, r.out.String(), err, currentUser())
	}
	return nil
}

// currentUser describes the caller for hints: "user NAME (uid N)".
func currentUser() string {
	uid := os.Getuid()
	if e, ok := passwd.Lookup(uint32(uid)); ok && e.Name != "" {
		return fmt.Sprintf("user %s (uid %d)", e.Name, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// oneLine trims s and joins its non-empty lines with "; ", capped in length.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	out := strings.Join(parts, "; ")
	const maxLen = 500
	if len(out) > maxLen {
		out = out[:maxLen] + "..."
	}
	return out
}

// helperError builds the error for a failed helper run. who describes the
// calling user for the permission hint (e.g. "user alice (uid 1000)").
func helperError(helper, stderr string, err error, who string) error {
	e := &HelperError{Helper: helper, Stderr: oneLine(stderr), Err: err}
	base := filepath.Base(helper)
	subfile, capName := "/etc/subuid", "cap_setuid"
	if strings.Contains(base, "gid") {
		subfile, capName = "/etc/subgid", "cap_setgid"
	}
	low := strings.ToLower(e.Stderr + " " + errString(err))
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		e.Hint = "install the uidmap package (apt-get install uidmap)"
	case errors.Is(err, fs.ErrPermission) ||
		strings.Contains(low, "not allowed") ||
		strings.Contains(low, "not permitted") ||
		strings.Contains(low, "permission denied") ||
		strings.Contains(low, "could not set caps"):
		if who == "" {
			who = "your user"
		}
		e.Hint = fmt.Sprintf("check that %s has an entry for %s covering the requested host ids, "+
			"and that %s is setuid root (or has the %s file capability)", subfile, who, base, capName)
	}
	return e
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// WriteDirect writes ms to /proc/PID/<file> (file is "uid_map" or "gid_map")
// in a single write, as the kernel requires. It is for callers that are root
// or hold CAP_SETUID/CAP_SETGID; an unprivileged caller writing gid_map must
// first deny setgroups itself. The text must be shorter than one page.
func WriteDirect(pid int, file string, ms []Mapping) error {
	if file != "uid_map" && file != "gid_map" {
		return fmt.Errorf("idmap: WriteDirect: invalid map file %q (want uid_map or gid_map)", file)
	}
	path := fmt.Sprintf("/proc/%d/%s", pid, file)
	if len(ms) == 0 {
		return fmt.Errorf("writing %s: no mappings", path)
	}
	text := Format(ms)
	if len(text) >= os.Getpagesize() {
		return fmt.Errorf("writing %s: %d mappings take %d bytes, the kernel accepts less than %d", path, len(ms), len(text), os.Getpagesize())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(text)); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
