// Package check tells a user why rootless containers cannot run on their
// host, and how to fix it.
//
// It is split the usual way: Gather (gather.go, smoke.go) reads the host
// into Facts and may run a smoke test; Evaluate (evaluate.go) is a pure
// function from Facts to one Result per check; Diagnose (diagnose.go) uses
// the same checks to explain a failed run. The package does not import
// internal/container (container calls Diagnose): a bundle's id mappings are
// decided by the function passed in Options.Mappings.
package check

import (
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
)

// Facts is everything the checks look at, gathered from the host.
type Facts struct {
	User        User
	Bwrap       Bwrap
	MaxUserNS   Knob // /proc/sys/user/max_user_namespaces
	UsernsClone Knob // /proc/sys/kernel/unprivileged_userns_clone (Debian)
	AppArmor    Knob // /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu)
	SubUID      SubIDs
	SubGID      SubIDs
	NewUIDMap   Helper
	NewGIDMap   Helper
	RuntimeDir  RuntimeDir
	Cgroup      Cgroup
	Systemd     bool // systemd is the init (/run/systemd/system exists)
	Tun         Tun
	KernelNS    map[string]bool // entries of /proc/self/ns ("user", "net", ...)
	Smoke       *Smoke          // nil: not run
	Bundle      *Bundle         // nil: no bundle asked for
}

// User is who runs the checks.
type User struct {
	UID, GID   uint32
	Name       string // login name; empty if unknown
	Root       bool   // effective uid 0
	InitUserNS bool   // in the host's user namespace (uid_map is the identity)
}

// Bwrap is the bubblewrap binary.
type Bwrap struct {
	Name    string   // as asked for (--bwrap)
	Path    string   // resolved absolute path; empty if not found
	Err     string   // why it was not found or could not be probed
	Version string   // e.g. "0.8.0"
	Missing []string // required options it lacks
	Setuid  bool     // setuid root
}

// Knob is one /proc/sys file holding an integer.
type Knob struct {
	Present bool
	Value   int
	Err     string // present but unreadable
}

// Entry is one line of /etc/subuid or /etc/subgid, whoever owns it.
type Entry struct {
	Owner         string
	Start, Length uint32
}

// SubIDs are the subordinate ids of one kind.
type SubIDs struct {
	File   string
	Ranges []idmap.Range // the caller's (by name or uid)
	All    []Entry       // every valid line, to find free ids
	Err    string        // the file could not be read
}

// Helper is newuidmap or newgidmap as found on PATH.
type Helper struct {
	Name     string // "newuidmap"
	Path     string // empty if not found
	Err      string // lookup or stat error
	OwnerUID uint32
	Setuid   bool
	Exec     bool   // the caller may execute it
	NoSuid   bool   // on a nosuid mount: neither setuid nor file capabilities apply
	Cap      bool   // has the needed file capability (cap_setuid / cap_setgid, effective)
	CapErr   string // the security.capability xattr could not be parsed
}

// RuntimeDir is XDG_RUNTIME_DIR, where state goes by default.
type RuntimeDir struct {
	RootFlag string // --root, if given: XDG_RUNTIME_DIR is then not needed
	Set      bool
	Path     string
	Exists   bool
	IsDir    bool
	Owner    uint32
	Perm     uint32 // permission bits
	Err      string // stat error other than not-exist
	// Default is /run/user/UID; DefaultOK says it exists, is a directory
	// and belongs to the caller.
	Default   string
	DefaultOK bool
}

// Cgroup is the caller's cgroup v2 and what the caller may do with it.
type Cgroup struct {
	Mount          string // cgroup2 mount point; empty: no cgroup v2
	Path           string // the caller's cgroup, from /proc/self/cgroup ("/user.slice/...")
	Dir            string // Mount joined with Path
	DirW           bool   // may create sub-cgroups
	Procs          bool   // cgroup.procs writable
	SubtreeControl bool   // cgroup.subtree_control writable
	Err            string
}

// Tun is /dev/net/tun, which rootless networking (slirp4netns, pasta) needs.
type Tun struct {
	Exists  bool
	CharDev bool
	RW      bool
	Err     string
}

// Smoke is the outcome of actually starting bwrap in a new user namespace
// and mapping ids into it the way run does.
type Smoke struct {
	UIDs, GIDs uint64 // ids mapped
	Helpers    bool   // newuidmap/newgidmap were used
	OK         bool
	Err        string // what failed, with bwrap's or the helper's message
	Duration   time.Duration
}

// Namespace is one entry of the bundle's linux.namespaces.
type Namespace struct {
	Type    string // spec name: "network", "mount", ...
	Path    string
	PathErr string // the path cannot be opened
}

// Bundle is what a bundle's config needs from the host.
type Bundle struct {
	Dir, File string
	Err       string // loading or validating the config failed
	RootfsErr string // root.path is not a directory

	Namespaces []Namespace
	NewUserNS  bool   // a user namespace is created (and ids mapped)
	JoinUserNS string // path of a user namespace joined instead

	// The config's own mappings (empty: the mapping rule applies).
	ConfUIDs, ConfGIDs []idmap.Mapping
	ProcessUID         uint32
	ProcessGID         uint32

	// The mappings run would use, or why it refuses (Options.Mappings).
	UIDMap, GIDMap []idmap.Mapping
	MapErr         string
	MapWarn        string

	Init string // why the process looks like an init needing cgroup delegation; empty if not
}
