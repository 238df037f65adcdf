// Package state keeps container state on disk: one directory per container
// under a root directory, holding a lock file, state.json and the
// container's copy of its config.
//
// Layout:
//
//	ROOT/                 0700
//	ROOT/ID/              0700
//	ROOT/ID/lock          0600, flock(2)ed exclusively by whoever works on ID
//	ROOT/ID/state.json    0600, replaced atomically by Save
//	ROOT/ID/config.json   0600, the config as it was read (container.FrozenConfig)
//	ROOT/#free/N/         0700, empty: a removed container's directory, kept for
//	                      the next Create (FreeDir)
//
// Names under ROOT that are not valid container IDs (such as the temporary
// directories used by Create and Remove, which contain '#') are ignored.
package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Status of a container.
type Status string

// The statuses of the OCI runtime specification.
const (
	StatusCreating Status = "creating"
	StatusCreated  Status = "created"
	StatusRunning  Status = "running"
	StatusStopped  Status = "stopped"
)

// State is what is saved in ROOT/ID/state.json.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`     // absolute
	Pid         int               `json:"pid"`        // host pid of the container's init (0 while creating)
	PidStart    uint64            `json:"pidStart"`   // start time (field 22 of /proc/PID/stat) of Pid
	MonitorPid  int               `json:"monitorPid"` // host pid of bwrap's outer monitor process
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Status      Status            `json:"status"` // as last recorded: creating/created/running
	Owner       int               `json:"owner"`  // uid that created it
	Extra       map[string]string `json:"extra,omitempty"`
}

// File names inside a container directory.
const (
	StateFile = "state.json"
	LockFile  = "lock"
)

// MaxIDLength is the longest container ID accepted. The ID is used as a
// directory name, so it is bounded by NAME_MAX (255) rather than a larger
// arbitrary limit that Create could never honour.
const MaxIDLength = 255

// geteuid is a variable so that tests can pretend to be another user.
var geteuid = os.Geteuid

// ValidateID checks a container ID against runc's rule ^[\w+\-.]+$ (ASCII
// letters, digits, '_', '+', '-', '.'), additionally refusing "." and "..",
// a leading '-' and IDs longer than MaxIDLength bytes.
func ValidateID(id string) error {
	bad := func(why string) error {
		return fmt.Errorf("invalid container ID %s: %s", quoteShort(id), why)
	}
	switch {
	case id == "":
		return bad("must not be empty")
	case len(id) > MaxIDLength:
		return bad(fmt.Sprintf("longer than %d bytes", MaxIDLength))
	case id == "." || id == "..":
		return bad(`must not be "." or ".."`)
	case id[0] == '-':
		return bad("must not start with '-'")
	}
	for i := 0; i < len(id); i++ {
		if !validIDByte(id[i]) {
			what := fmt.Sprintf("byte 0x%02x", id[i])
			if r, _ := utf8.DecodeRuneInString(id[i:]); r != utf8.RuneError {
				what = strconv.QuoteRune(r)
			}
			return bad("contains " + what + "; allowed are A-Z a-z 0-9 _ + - .")
		}
	}
	return nil
}

func validIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '+' || c == '-' || c == '.'
}

// quoteShort quotes s for an error message, eliding the middle of long ones.
func quoteShort(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max/2]) + "..." + strconv.Quote(s[len(s)-max/2:]) +
		" (" + strconv.Itoa(len(s)) + " bytes)"
}

// DefaultRoot returns the default state root: "/run/bwrap-oci" when running
// with euid 0, else $XDG_RUNTIME_DIR/bwrap-oci.
func DefaultRoot() (string, error) {
	euid := geteuid()
	// Root of the host uses /run; root inside a user namespace (as under
	// rootless Podman, which passes no --root) is a user's runtime.
	if euid == 0 && (initialUserNS() || os.Getenv("XDG_RUNTIME_DIR") == "") {
		return "/run/bwrap-oci", nil
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return "", fmt.Errorf("XDG_RUNTIME_DIR is not set: set it (e.g. to /run/user/%d) or pass --root", euid)
	}
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("XDG_RUNTIME_DIR=%q is not an absolute path: fix it (e.g. /run/user/%d) or pass --root", dir, euid)
	}
	return filepath.Join(dir, "bwrap-oci"), nil
}

// ErrNotExist and ErrExist are wrapped by the errors of Open and Create.
var (
	ErrNotExist = errors.New("container does not exist")
	ErrExist    = errors.New("container already exists")
)

// idError formats as `container "x" does not exist` and unwraps to the
// sentinel.
type idError struct {
	id  string
	err error
}

func (e *idError) Error() string {
	switch e.err {
	case ErrNotExist:
		return fmt.Sprintf("container %q does not exist", e.id)
	case ErrExist:
		return fmt.Sprintf("container %q already exists", e.id)
	}
	return fmt.Sprintf("container %q: %v", e.id, e.err)
}

func (e *idError) Unwrap() error { return e.err }

// initialUserNS reports whether this process is in the host's user
// namespace (its uid_map is the full identity map).
func initialUserNS() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return true
	}
	f := strings.Fields(string(data))
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}
