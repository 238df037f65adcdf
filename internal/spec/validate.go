package spec

import (
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bwrap-oci/bwrap-oci/internal/hooks"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// NamespaceTypes are the namespace types of the runtime spec, in a stable order.
var NamespaceTypes = []specs.LinuxNamespaceType{
	specs.UserNamespace, specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace,
	specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace, specs.TimeNamespace,
}

// Rlimits maps the spec's rlimit type names to Linux resource numbers.
var Rlimits = map[string]int{
	"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
	"RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
	"RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
	"RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

// Capability returns the capability named name ("CAP_KILL"); ok is false for unknown names.
func Capability(name string) (capability.Cap, bool) {
	if !strings.HasPrefix(name, "CAP_") {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return 0, false
		}
	}
	c, ok := capsByName()[name]
	return c, ok
}

// capsByName maps the spec's name of each capability the capability
// package knows to it, built on first use: Validate and the translator look
// up every name of the five sets, and a scan of the list for each (with a
// lower-cased copy of the name) took three times as long.
var capsByName = sync.OnceValue(func() map[string]capability.Cap {
	known := capability.ListKnown()
	m := make(map[string]capability.Cap, len(known))
	for _, c := range known {
		n := CapName(c)
		if _, dup := m[n]; !dup { // the first, as the scan found
			m[n] = c
		}
	}
	return m
})

// CapName is the spec's name of c, e.g. "CAP_KILL".
func CapName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }

// RootfsPath is the host path of the config's root.path (relative to bundle).
func RootfsPath(bundle string, s *specs.Spec) string {
	if s.Root == nil {
		return ""
	}
	if filepath.IsAbs(s.Root.Path) {
		return filepath.Clean(s.Root.Path)
	}
	return filepath.Join(bundle, s.Root.Path)
}

// Validate checks what must hold for bwrap-oci to run the config at all.
// It returns the first problem found, as an *Error naming the field.
func Validate(c *Config) error {
	s := c.Spec
	bad := func(field, format string, a ...any) error {
		return &Error{File: c.File, Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	if v := s.Version; v != "" && !strings.HasPrefix(v, "1.") {
		return bad("ociVersion", "unsupported version %q (bwrap-oci supports 1.x)", v)
	}
	if s.Root == nil || s.Root.Path == "" {
		return bad("root.path", "missing: say where the container's root filesystem is (usually \"rootfs\")")
	}
	if err := noNUL("root.path", s.Root.Path); err != nil {
		return bad("root.path", "%s", err)
	}
	if s.Process == nil {
		return bad("process", "missing: say what to run")
	}
	if err := hooks.Validate(s.Hooks); err != nil {
		var fe *hooks.FieldError
		if errors.As(err, &fe) {
			return bad(fe.Field, "%s", fe.Msg)
		}
		return err
	}
	p := s.Process
	if len(p.Args) == 0 {
		return bad("process.args", "must not be empty: give the command to run")
	}
	if p.Args[0] == "" {
		return bad("process.args[0]", "must not be empty")
	}
	total := 0
	for i, a := range p.Args {
		if err := noNUL("", a); err != nil {
			return bad(fmt.Sprintf("process.args[%d]", i), "%s", err)
		}
		if len(a) >= maxArgStrlen {
			return bad(fmt.Sprintf("process.args[%d]", i), "%d bytes: longer than the kernel takes for one argument (%d)", len(a), maxArgStrlen-1)
		}
		total += len(a) + 1 + 8
	}
	if p.User.UID == math.MaxUint32 {
		return bad("process.user.uid", "4294967295 is not a valid id ((uid_t)-1)")
	}
	if p.User.GID == math.MaxUint32 {
		return bad("process.user.gid", "4294967295 is not a valid id ((gid_t)-1)")
	}
	if p.Cwd == "" {
		return bad("process.cwd", "missing: give the working directory, an absolute path such as \"/\"")
	}
	if !path.IsAbs(p.Cwd) {
		return bad("process.cwd", "%q must be an absolute path", p.Cwd)
	}
	if err := noNUL("", p.Cwd); err != nil {
		return bad("process.cwd", "%s", err)
	}
	for i, e := range p.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return bad(fmt.Sprintf("process.env[%d]", i), "%q is not of the form KEY=VALUE", e)
		}
		if err := noNUL("", e); err != nil {
			return bad(fmt.Sprintf("process.env[%d]", i), "%s", err)
		}
		if len(e) >= maxArgStrlen {
			return bad(fmt.Sprintf("process.env[%d]", i), "%d bytes: longer than the kernel takes for one variable (%d)", len(e), maxArgStrlen-1)
		}
		total += len(e) + 1 + 8
	}
	if total > maxArgsTotal {
		return bad("process.args", "the command line and environment take %d bytes: more than the kernel takes for one exec (about %d)", total, maxArgsTotal)
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		return bad("process.oomScoreAdj", "%d is outside -1000..1000", *p.OOMScoreAdj)
	}
	if p.User.Umask != nil && *p.User.Umask > 0777 {
		return bad("process.user.umask", "%#o is not a file mode mask (0 to 0777)", *p.User.Umask)
	}
	seen := map[string]bool{}
	for i, r := range p.Rlimits {
		f := fmt.Sprintf("process.rlimits[%d]", i)
		if _, ok := Rlimits[r.Type]; !ok {
			return bad(f+".type", "unknown rlimit %q (expected RLIMIT_NOFILE, RLIMIT_NPROC, ...)", r.Type)
		}
		if seen[r.Type] {
			return bad(f+".type", "%s is given twice", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return bad(f, "soft limit %d is above the hard limit %d", r.Soft, r.Hard)
		}
	}
	if caps := p.Capabilities; caps != nil {
		for _, set := range []struct {
			name string
			list []string
		}{{"bounding", caps.Bounding}, {"effective", caps.Effective}, {"inheritable", caps.Inheritable}, {"permitted", caps.Permitted}, {"ambient", caps.Ambient}} {
			for i, n := range set.list {
				if _, ok := Capability(n); !ok {
					return bad(fmt.Sprintf("process.capabilities.%s[%d]", set.name, i), "unknown capability %q", n)
				}
			}
		}
	}
	if err := noNUL("", s.Hostname); err != nil {
		return bad("hostname", "%s", err)
	}
	for i, m := range s.Mounts {
		f := fmt.Sprintf("mounts[%d]", i)
		if m.Destination == "" {
			return bad(f+".destination", "missing")
		}
		if !path.IsAbs(m.Destination) {
			return bad(f+".destination", "%q must be an absolute path", m.Destination)
		}
		if path.Clean(m.Destination) == "/" {
			return bad(f+".destination", "cannot mount over \"/\": the root is root.path")
		}
		for _, v := range append([]string{m.Destination, m.Source, m.Type}, m.Options...) {
			if err := noNUL("", v); err != nil {
				return bad(f, "%s", err)
			}
		}
	}
	l := s.Linux
	if l == nil {
		if s.Hostname != "" {
			return bad("hostname", "setting the hostname needs a uts namespace (add {\"type\": \"uts\"} to linux.namespaces)")
		}
		return nil
	}
	have := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range l.Namespaces {
		f := fmt.Sprintf("linux.namespaces[%d]", i)
		known := false
		for _, t := range NamespaceTypes {
			known = known || ns.Type == t
		}
		if !known {
			return bad(f+".type", "unknown namespace type %q (expected one of user, pid, network, ipc, uts, mount, cgroup, time)", ns.Type)
		}
		if have[ns.Type] {
			return bad(f+".type", "namespace %q is given twice", ns.Type)
		}
		have[ns.Type] = true
		if ns.Path != "" && !path.IsAbs(ns.Path) {
			return bad(f+".path", "%q must be an absolute path", ns.Path)
		}
		if err := noNUL("", ns.Path); err != nil {
			return bad(f+".path", "%s", err)
		}
	}
	for k, v := range l.Sysctl {
		if noNUL("", k) != nil || noNUL("", v) != nil || k == "" {
			return bad("linux.sysctl", "%q: a name or value is empty or holds a NUL byte", k)
		}
	}
	if s.Hostname != "" && !have[specs.UTSNamespace] {
		return bad("hostname", "setting the hostname needs a uts namespace (add {\"type\": \"uts\"} to linux.namespaces)")
	}
	for _, list := range []struct {
		name  string
		paths []string
	}{{"linux.maskedPaths", l.MaskedPaths}, {"linux.readonlyPaths", l.ReadonlyPaths}} {
		for i, p := range list.paths {
			if !path.IsAbs(p) {
				return bad(fmt.Sprintf("%s[%d]", list.name, i), "%q must be an absolute path", p)
			}
			if path.Clean(p) == "/" && list.name == "linux.maskedPaths" {
				return bad(fmt.Sprintf("%s[%d]", list.name, i), "cannot be \"/\", the whole root")
			}
			if err := noNUL("", p); err != nil {
				return bad(fmt.Sprintf("%s[%d]", list.name, i), "%s", err)
			}
		}
	}
	for i, d := range l.Devices {
		f := fmt.Sprintf("linux.devices[%d]", i)
		if !path.IsAbs(d.Path) {
			return bad(f+".path", "%q must be an absolute path", d.Path)
		}
		switch d.Type {
		case "c", "b", "u", "p":
		default:
			return bad(f+".type", "unknown device type %q (expected c, b, u or p)", d.Type)
		}
	}
	for _, m := range []struct {
		name string
		ms   []specs.LinuxIDMapping
	}{{"linux.uidMappings", l.UIDMappings}, {"linux.gidMappings", l.GIDMappings}} {
		for i, e := range m.ms {
			if e.Size == 0 {
				return bad(fmt.Sprintf("%s[%d].size", m.name, i), "must be at least 1")
			}
		}
	}
	return nil
}

func noNUL(_, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("contains a NUL byte")
	}
	return nil
}

// The kernel's limits on execve: one string (MAX_ARG_STRLEN, 32 pages) and
// all of them with their pointers (a quarter of the default 8 MiB stack).
const (
	maxArgStrlen = 32 * 4096
	maxArgsTotal = 2 << 20
)

// Namespace returns the config's namespace of type t.
func Namespace(s *specs.Spec, t specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	if s.Linux == nil {
		return specs.LinuxNamespace{}, false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}
