// Package bwrap translates an OCI runtime config into a bubblewrap command
// line. Translate is pure: what it needs to know about the host comes in
// through Input (the Host interface and the probed Features), and what it
// cannot express is returned as Findings, never dropped.
package bwrap

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/seccomp"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Opt is one bwrap option with its arguments, e.g. {"--bind", ["/a", "/b"]}.
type Opt struct {
	Name string
	Args []string
}

// Finding is a config field that bwrap-oci does not honour exactly.
type Finding struct {
	Field   string // JSON path
	Msg     string
	Unknown bool // a property the runtime spec does not define: never an error, even with --strict
}

func (f Finding) String() string { return f.Field + ": " + f.Msg }

// Kind is what a path is.
type Kind int

// Kinds of path.
const (
	Missing Kind = iota
	Dir
	File // anything that is not a directory
)

// Host answers the translator's questions about the host. The real one
// stats files; tests use a map.
type Host interface {
	// Kind of a host path, following symlinks.
	Kind(hostPath string) Kind
	// InRoot resolves a container path inside the root directory root the
	// way the kernel would inside the container (symlinks cannot escape).
	InRoot(root, containerPath string) (string, error)
	// Device tells whether hostPath is a device node of that type ('c' or
	// 'b') and numbers.
	Device(hostPath string, typ string, major, minor int64) bool
}

// Features are what the bwrap binary supports (see Probe).
type Features struct {
	Version string
	Options map[string]bool // "--size", "--perms", ...
	Setuid  bool            // the binary is setuid root
	LastCap int             // /proc/sys/kernel/cap_last_cap
}

// Input is everything Translate needs.
type Input struct {
	Config   *spec.Config
	Bundle   string // absolute
	Rootfs   string // absolute host path of root.path
	UID, GID uint32 // the caller's ids
	Root     bool   // the caller is root in its user namespace
	HostRoot bool   // the caller is root in the initial user namespace
	// UIDMap and GIDMap are the id mappings the edge will apply to a new
	// user namespace (nil when the config joins one or has none).
	UIDMap, GIDMap []idmap.Mapping
	Host           Host
	Features       Features
}

// Rlimit is a resource limit to apply to the container's process before it
// runs, so that it is inherited by everything in the container.
type Rlimit struct {
	Field      string
	Resource   int
	Soft, Hard uint64
}

// Plan is a translated config: the bwrap options, the command, and what the
// runtime must do itself around bwrap.
type Plan struct {
	Opts    []Opt
	Command []string
	// NewUserNS: bwrap creates a user namespace whose maps the runtime
	// writes (UIDMap, GIDMap), through --userns-block-fd.
	NewUserNS      bool
	UIDMap, GIDMap []idmap.Mapping
	// NeedsHelper: the maps hold more than the caller's own ids, so they
	// need newuidmap/newgidmap (or privilege).
	NeedsHelper bool
	// Creds is set when bwrap cannot give the process its ids: bwrap only
	// sets ids through the maps it writes itself, so with the maps the
	// runtime writes the process runs as whatever id the caller's maps to.
	// Then a sealed copy of bwrap-oci runs first inside the container
	// (with every capability) and sets the ids, supplementary groups and
	// the exact five capability sets before it executes the process.
	Creds *Creds
	// ProcMounted: the container has proc at /proc (the init helper runs
	// from /proc/self/fd).
	ProcMounted bool
	// Seccomp is the compiled linux.seccomp filter (struct sock_filter
	// array) for bwrap's --seccomp FD, nil without one.
	Seccomp []byte
	// Join maps namespace types to paths to join: "user" and "pid" through
	// bwrap's --userns FD and --pidns FD; "network", "ipc", "uts" and
	// "cgroup" by the runtime on the thread that starts bwrap.
	Join        map[string]string
	Rlimits     []Rlimit
	OOMScoreAdj *int
	Umask       *uint32
	Terminal    bool
	PIDNS       bool // the container has a PID namespace of its own; the process is its PID 1
	// Init is "systemd" when the process is an init system that manages
	// cgroups and powers off through reboot(2): detected from the
	// executable (its resolved name is "systemd"), or set by the annotation
	// InitAnnotation ("systemd", or "none" to turn detection off).
	Init string
	// CgroupMount is where the runtime binds the container's own cgroup
	// (a new directory below the caller's delegated cgroup, which becomes
	// the root of the container's cgroup namespace), for an init.
	CgroupMount   string
	CgroupMountRO bool
	Findings      []Finding
}

// InitAnnotation names the container's init system ("systemd" or "none").
const InitAnnotation = "org.bwrap-oci.init"

// Creds are the credentials the init helper sets (capability numbers).
type Creds struct {
	UID, GID                                             uint32
	Groups                                               []uint32
	SetGroups                                            bool // set the supplementary groups (else keep them)
	Bounding, Effective, Permitted, Inheritable, Ambient []int
}

// Args flattens the options.
func (p *Plan) Args() []string {
	var out []string
	for _, o := range p.Opts {
		out = append(out, o.Name)
		out = append(out, o.Args...)
	}
	return out
}

// Values returns the arguments of every occurrence of option name.
func (p *Plan) Values(name string) [][]string {
	var out [][]string
	for _, o := range p.Opts {
		if o.Name == name {
			out = append(out, o.Args)
		}
	}
	return out
}

// Has reports whether option name occurs.
func (p *Plan) Has(name string) bool { return len(p.Values(name)) > 0 }

type translator struct {
	in       Input
	s        *specs.Spec
	plan     Plan
	handled  []string // JSON paths honoured or reported
	mounts   []planned
	devTmpfs bool // /dev is bwrap's --dev
	ns       map[specs.LinuxNamespaceType]specs.LinuxNamespace
	resolved map[[2]string]inRoot // Host.InRoot's answers, by root and path
}

// inRoot is an answer of Host.InRoot.
type inRoot struct {
	path string
	err  error
}

// inRoot asks Host.InRoot once per root and path: resolving a path in the
// rootfs walks it with a system call per component, and the translator
// resolves most mount destinations twice (resolve, then inContainer) and the
// process's executable twice (isInit).
func (t *translator) inRoot(root, p string) (string, error) {
	k := [2]string{root, p}
	if r, ok := t.resolved[k]; ok {
		return r.path, r.err
	}
	h, err := t.in.Host.InRoot(root, p)
	if t.resolved == nil {
		t.resolved = map[[2]string]inRoot{}
	}
	t.resolved[k] = inRoot{h, err}
	return h, err
}

// planned is a mount in the container, for resolving container paths.
type planned struct {
	dest string
	host string // host path the mount shows ("" when it is new, e.g. a tmpfs)
	kind string // "rootfs", "bind", "proc", "tmpfs", "dev", "mqueue"
}

// Translate turns a validated config into a Plan.
func Translate(in Input) (*Plan, error) {
	t := &translator{in: in, s: in.Config.Spec, ns: map[specs.LinuxNamespaceType]specs.LinuxNamespace{}}
	if t.s.Linux != nil {
		for _, n := range t.s.Linux.Namespaces {
			t.ns[n.Type] = n
		}
	}
	t.handle("ociVersion", "root.path", "annotations")
	steps := []func() error{t.namespaces, t.env, t.root, t.mountsAll, t.devices, t.readonlyPaths, t.maskedPaths, t.rootReadonly, t.process, t.capabilities, t.linuxRest, t.others}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	t.plan.Command = append([]string(nil), t.s.Process.Args...)
	t.handle("process.args")
	t.detectInit()
	t.unhandled()
	return &t.plan, nil
}

func (t *translator) add(name string, args ...string) {
	t.plan.Opts = append(t.plan.Opts, Opt{Name: name, Args: args})
}

func (t *translator) handle(paths ...string) { t.handled = append(t.handled, paths...) }

// present reports whether the config has a non-empty value at or below p.
func (t *translator) present(p string) bool {
	for _, q := range t.in.Config.Present {
		if spec.Covers(p, q) {
			return true
		}
	}
	return false
}

func (t *translator) report(field, format string, a ...any) {
	t.plan.Findings = append(t.plan.Findings, Finding{Field: field, Msg: fmt.Sprintf(format, a...)})
	t.handle(field)
}

func (t *translator) errorf(field, format string, a ...any) error {
	return &spec.Error{File: t.in.Config.File, Field: field, Msg: fmt.Sprintf(format, a...)}
}

// unhandled reports every field present in the config that no step handled.
func (t *translator) unhandled() {
	reported := map[string]bool{}
	handled := newCoverSet(t.handled)
	for _, p := range t.in.Config.Present {
		if handled.covers(p) {
			continue
		}
		// Report a field once, at its nearest object-level name.
		f := p
		if i := strings.IndexByte(f, '['); i > 0 {
			f = f[:i]
		}
		if reported[f] {
			continue
		}
		reported[f] = true
		t.plan.Findings = append(t.plan.Findings, Finding{Field: f, Msg: "not supported by bwrap-oci: ignored", Unknown: !spec.Known(p)})
	}
}

// coverSet answers whether any of a set of JSON paths covers a path
// (spec.Covers) by looking up the path's own prefixes (up to each '.' or
// '['), instead of trying every path of the set.
type coverSet map[string]bool

func newCoverSet(paths []string) coverSet {
	s := make(coverSet, len(paths))
	for _, p := range paths {
		s[p] = true
	}
	return s
}

func (s coverSet) covers(p string) bool {
	if s[p] {
		return true
	}
	for i := 0; i < len(p); i++ {
		if (p[i] == '.' || p[i] == '[') && s[p[:i]] {
			return true
		}
	}
	return false
}

func (t *translator) namespaces() error {
	t.handle("linux.namespaces")
	user, hasUser := t.ns[specs.UserNamespace]
	switch {
	case hasUser && user.Path != "":
		t.plan.Join = map[string]string{"user": user.Path}
	case hasUser:
		t.plan.NewUserNS = true
		t.add("--unshare-user")
	default:
		// No user namespace in the config. bwrap needs one to set the
		// process's ids, so bwrap-oci creates it: unprivileged, mapping
		// only the caller's own ids; as root (also root inside another
		// user namespace, as under rootless Podman), mapping every id it
		// has to itself, so the container sees the same ids.
		switch {
		case !t.in.Root:
			t.report("linux.namespaces", "no user namespace in the config, but an unprivileged container always has one: bwrap-oci creates it, mapped by linux.uidMappings/gidMappings or the mapping rule")
			t.handle("linux.uidMappings", "linux.gidMappings")
		case t.in.HostRoot:
			t.report("linux.namespaces", "no user namespace in the config: bwrap-oci creates one mapping every id to itself, so the container's root has no privileges over the host")
		}
		if t.in.Root {
			t.ignoredMappings("ignored: the config has no user namespace to map")
		}
		t.plan.NewUserNS = true
		t.add("--unshare-user")
	}
	if t.plan.NewUserNS {
		t.plan.UIDMap, t.plan.GIDMap = t.in.UIDMap, t.in.GIDMap
		t.plan.NeedsHelper = idmap.NeedsHelper(t.in.UIDMap, t.in.UID) || idmap.NeedsHelper(t.in.GIDMap, t.in.GID)
		u := t.s.Process.User
		hu, okU := idmap.HostOf(t.in.UIDMap, u.UID)
		hg, okG := idmap.HostOf(t.in.GIDMap, u.GID)
		extraGroups := len(u.AdditionalGids) > 0 && !(len(u.AdditionalGids) == 1 && u.AdditionalGids[0] == u.GID)
		if !okU || hu != t.in.UID || !okG || hg != t.in.GID || extraGroups {
			t.plan.Creds = &Creds{UID: u.UID, GID: u.GID, Groups: u.AdditionalGids, SetGroups: extraGroups || t.plan.NeedsHelper || t.in.Root}
		}
		if hasUser {
			t.handle("linux.uidMappings", "linux.gidMappings")
		}
	} else {
		t.ignoredMappings("ignored: the config joins an existing user namespace or has none")
	}
	if u := t.s.Process.User; t.plan.NewUserNS || t.plan.Join != nil {
		t.add("--uid", strconv.FormatUint(uint64(u.UID), 10))
		t.add("--gid", strconv.FormatUint(uint64(u.GID), 10))
	}
	if pid, ok := t.ns[specs.PIDNamespace]; ok {
		if pid.Path != "" {
			if t.plan.Join == nil {
				t.plan.Join = map[string]string{}
			}
			t.plan.Join["pid"] = pid.Path
		} else {
			t.add("--unshare-pid")
			t.add("--as-pid-1")
			t.plan.PIDNS = true
		}
	}
	simple := []struct {
		typ  specs.LinuxNamespaceType
		flag string
	}{{specs.NetworkNamespace, "--unshare-net"}, {specs.IPCNamespace, "--unshare-ipc"}, {specs.UTSNamespace, "--unshare-uts"}, {specs.CgroupNamespace, "--unshare-cgroup"}}
	for _, n := range simple {
		ns, ok := t.ns[n.typ]
		if !ok {
			continue
		}
		if ns.Path != "" {
			// bwrap cannot join these: the runtime joins them on the
			// thread that starts bwrap, which then inherits them.
			if t.plan.Join == nil {
				t.plan.Join = map[string]string{}
			}
			t.plan.Join[string(n.typ)] = ns.Path
			continue
		}
		t.add(n.flag)
	}
	if ns, ok := t.ns[specs.MountNamespace]; ok && ns.Path != "" {
		return t.errorf(nsField(t.s, specs.MountNamespace)+".path", "bwrap cannot join an existing mount namespace")
	} else if !ok {
		t.report("linux.namespaces", "no mount namespace in the config, but bwrap always creates one")
	}
	if ns, ok := t.ns[specs.TimeNamespace]; ok {
		if ns.Path != "" {
			return t.errorf(nsField(t.s, specs.TimeNamespace)+".path", "bwrap cannot join a time namespace")
		}
		t.report(nsField(t.s, specs.TimeNamespace), "time namespaces are not supported by bwrap: the container shares the host's clocks")
	}
	if t.s.Hostname != "" {
		if t.ns[specs.UTSNamespace].Path != "" {
			// bwrap's --hostname needs --unshare-uts.
			t.report("hostname", "bwrap sets the hostname only in a uts namespace of its own: not set in the joined one")
		} else {
			t.add("--hostname", t.s.Hostname)
			t.handle("hostname")
		}
	}
	return nil
}

// ignoredMappings reports each of the config's id mappings, which apply to
// no user namespace that bwrap-oci creates.
func (t *translator) ignoredMappings(msg string) {
	if t.s.Linux == nil {
		return
	}
	if len(t.s.Linux.UIDMappings) > 0 {
		t.report("linux.uidMappings", "%s", msg)
	}
	if len(t.s.Linux.GIDMappings) > 0 {
		t.report("linux.gidMappings", "%s", msg)
	}
}

func nsField(s *specs.Spec, typ specs.LinuxNamespaceType) string {
	for i, n := range s.Linux.Namespaces {
		if n.Type == typ {
			return fmt.Sprintf("linux.namespaces[%d]", i)
		}
	}
	return "linux.namespaces"
}

func (t *translator) env() error {
	t.add("--clearenv")
	for _, e := range t.s.Process.Env {
		k, v, _ := strings.Cut(e, "=")
		t.add("--setenv", k, v)
	}
	t.handle("process.env")
	return nil
}

func (t *translator) root() error {
	t.add("--bind", t.in.Rootfs, "/")
	t.mounts = append(t.mounts, planned{dest: "/", host: t.in.Rootfs, kind: "rootfs"})
	if t.s.Linux != nil && t.s.Linux.RootfsPropagation != "" {
		switch t.s.Linux.RootfsPropagation {
		case "slave", "rslave":
			// bwrap makes every mount a slave of the host's.
			t.handle("linux.rootfsPropagation")
		case "private", "rprivate", "unbindable", "runbindable":
			t.report("linux.rootfsPropagation", "%q is approximated: bwrap makes the container's mounts slaves of the host's, so nothing propagates to the host but new host mounts propagate in", t.s.Linux.RootfsPropagation)
		default:
			t.report("linux.rootfsPropagation", "%q is not supported: bwrap makes the container's mounts slaves of the host's", t.s.Linux.RootfsPropagation)
		}
	}
	return nil
}

func (t *translator) rootReadonly() error {
	t.handle("root.readonly")
	if t.s.Root.Readonly {
		t.add("--remount-ro", "/")
	}
	return nil
}

// Mount options bwrap-oci honours, per mount kind. Options not listed are
// reported.
var (
	bindOK  = set("bind", "rbind", "ro", "rw", "nosuid", "nodev", "dev", "exec", "slave", "rslave")
	tmpfsOK = set("ro", "rw", "nosuid", "nodev", "exec")
	procOK  = set("ro", "rw", "nosuid", "nodev", "noexec")
)

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func (t *translator) mountsAll() error {
	for i, m := range t.s.Mounts {
		if err := t.mount(i, m); err != nil {
			return err
		}
	}
	return nil
}

func (t *translator) mount(i int, m specs.Mount) error {
	f := fmt.Sprintf("mounts[%d]", i)
	t.handle(f+".destination", f+".type", f+".source", f+".options")
	dest, err := t.inContainer(m.Destination)
	if err != nil {
		return t.errorf(f+".destination", "%v", err)
	}
	if clean := path.Clean(m.Destination); (clean == "/dev" || clean == "/proc" || clean == "/sys") && dest != clean {
		return t.errorf(f+".destination", "%s is a symlink in the rootfs (to %s): bwrap-oci mounts %s only on a directory", clean, dest, clean)
	}
	if dest == "/" {
		return t.errorf(f+".destination", "%q leads to the container's root through a symlink in the rootfs", m.Destination)
	}
	opts := map[string]bool{}
	for _, o := range m.Options {
		opts[o] = true
	}
	ro := opts["ro"]
	isBind := m.Type == "bind" || opts["bind"] || opts["rbind"]
	unsupported := func(ok map[string]bool, extra ...string) {
		var bad []string
		for _, o := range m.Options {
			k, _, _ := strings.Cut(o, "=")
			if ok[o] || ok[k+"="] {
				continue
			}
			skip := false
			for _, e := range extra {
				skip = skip || e == k
			}
			if !skip {
				bad = append(bad, o)
			}
		}
		if len(bad) > 0 {
			t.report(f+".options", "not supported for a %s mount by bwrap: %s (ignored)", mountKind(m, isBind), strings.Join(bad, ","))
		}
	}
	switch {
	case isBind:
		src := m.Source
		if src == "" {
			return t.errorf(f+".source", "a bind mount needs a source")
		}
		if !filepath.IsAbs(src) {
			src = filepath.Join(t.in.Bundle, src)
		}
		kind := t.in.Host.Kind(src)
		if kind == Missing {
			return t.errorf(f+".source", "%s does not exist", src)
		}
		op := "--bind"
		switch {
		case ro:
			op = "--ro-bind"
			if opts["dev"] {
				t.report(f+".options", "bwrap cannot keep devices usable on a read-only bind: mounted ro,nodev")
			}
		case opts["dev"]:
			op = "--dev-bind"
		}
		t.add(op, src, dest)
		t.mounts = append(t.mounts, planned{dest: dest, host: src, kind: "bind"})
		unsupported(bindOK)
		if opts["bind"] && !opts["rbind"] && kind == Dir {
			t.report(f+".options", "\"bind\" is non-recursive, but bwrap binds directories recursively (submounts of %s are visible)", src)
		}
	case m.Type == "tmpfs" && dest == "/dev":
		// bwrap's --dev: a tmpfs with the standard devices, /dev/pts
		// (a private devpts instance), /dev/shm and the std* links.
		t.add("--dev", "/dev")
		t.devTmpfs = true
		t.mounts = append(t.mounts, planned{dest: dest, kind: "dev"})
		var bad []string
		for _, o := range m.Options {
			switch {
			case o == "nosuid" || o == "mode=755" || o == "mode=0755" || o == "rw" || o == "exec":
			default:
				bad = append(bad, o)
			}
		}
		if len(bad) > 0 {
			t.report(f+".options", "bwrap's /dev is a tmpfs with mode 0755, nosuid, nodev and no size limit: %s not honoured", strings.Join(bad, ","))
		}
	case m.Type == "tmpfs":
		// As with mount(2), the last size= and mode= count (bwrap refuses
		// --size or --perms given twice).
		var size, perms string
		for _, o := range m.Options {
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "size":
				n, err := parseSize(v)
				if err != nil {
					return t.errorf(f+".options", "size=%s: %v", v, err)
				}
				size = ""
				if n > 0 { // size=0 is tmpfs's "no limit": bwrap's default
					size = strconv.FormatUint(n, 10)
				}
			case "mode":
				mode, err := strconv.ParseUint(v, 8, 32)
				if err != nil || mode > 0o7777 {
					return t.errorf(f+".options", "mode=%s is not an octal file mode", v)
				}
				perms = fmt.Sprintf("%04o", mode)
			}
		}
		if size != "" {
			t.add("--size", size)
		}
		if perms != "" {
			t.add("--perms", perms)
		}
		t.add("--tmpfs", dest)
		if ro {
			t.add("--remount-ro", dest)
		}
		t.mounts = append(t.mounts, planned{dest: dest, kind: "tmpfs"})
		unsupported(tmpfsOK, "size", "mode")
	case m.Type == "proc":
		if _, ok := t.ns[specs.PIDNamespace]; !ok {
			t.add("--ro-bind", "/proc", dest)
			t.mounts = append(t.mounts, planned{dest: dest, host: "/proc", kind: "bind"})
			t.report(f, "without a pid namespace of its own a container in a new user namespace cannot mount proc: the host's /proc is bound read-only instead")
			break
		}
		t.add("--proc", dest)
		if ro {
			t.add("--remount-ro", dest)
		}
		t.mounts = append(t.mounts, planned{dest: dest, host: "/proc", kind: "proc"})
		unsupported(procOK)
	case m.Type == "devpts":
		if t.devTmpfs && dest == "/dev/pts" {
			// bwrap's --dev mounts devpts with newinstance,ptmxmode=0666,mode=620.
			var bad []string
			for _, o := range m.Options {
				switch o {
				case "nosuid", "noexec", "newinstance", "ptmxmode=0666", "ptmxmode=666", "mode=0620", "mode=620", "rw":
				default:
					bad = append(bad, o)
				}
			}
			if len(bad) > 0 {
				t.report(f+".options", "bwrap's devpts is mounted with newinstance,ptmxmode=0666,mode=620: %s not honoured", strings.Join(bad, ","))
			}
			break
		}
		t.report(f, "bwrap can mount devpts only at /dev/pts inside a /dev tmpfs: ignored")
	case m.Type == "mqueue":
		if _, ok := t.ns[specs.IPCNamespace]; !ok {
			t.report(f, "an mqueue mount needs an ipc namespace: ignored")
			break
		}
		t.add("--mqueue", dest)
		if ro {
			t.add("--remount-ro", dest)
		}
		t.mounts = append(t.mounts, planned{dest: dest, kind: "mqueue"})
		// nosuid, nodev and noexec change nothing on mqueue, which holds
		// neither programs nor devices.
		unsupported(procOK)
	case m.Type == "sysfs":
		op := "--bind"
		if ro {
			op = "--ro-bind"
		}
		t.add(op, "/sys", dest)
		t.mounts = append(t.mounts, planned{dest: dest, host: "/sys", kind: "bind"})
		t.report(f, "bwrap cannot mount a new sysfs: the host's /sys is bound instead")
	case (m.Type == "cgroup" || m.Type == "cgroup2") && t.isInit() && t.newCgroupNS():
		// systemd needs a cgroup of its own, writable: the runtime creates
		// it and binds it here (see Plan.CgroupMount).
		t.plan.CgroupMount, t.plan.CgroupMountRO = dest, ro
		t.mounts = append(t.mounts, planned{dest: dest, kind: "cgroup"})
	case m.Type == "cgroup" || m.Type == "cgroup2":
		op := "--bind"
		if ro {
			op = "--ro-bind"
		}
		t.add(op, "/sys/fs/cgroup", dest)
		t.mounts = append(t.mounts, planned{dest: dest, host: "/sys/fs/cgroup", kind: "bind"})
		t.report(f, "bwrap cannot mount a new cgroup file system: the host's /sys/fs/cgroup is bound instead (with a cgroup namespace, paths are relative to the container's cgroup)")
	default:
		t.report(f+".type", "mount type %q is not supported by bwrap: not mounted", m.Type)
	}
	return nil
}

func mountKind(m specs.Mount, isBind bool) string {
	if isBind {
		return "bind"
	}
	return m.Type
}

// parseSize parses tmpfs sizes: bytes or with a k, m or g suffix.
func parseSize(v string) (uint64, error) {
	mult := uint64(1)
	switch {
	case strings.HasSuffix(v, "%"):
		return 0, fmt.Errorf("a size relative to memory is not supported by bwrap")
	case strings.HasSuffix(v, "k"), strings.HasSuffix(v, "K"):
		mult = 1 << 10
	case strings.HasSuffix(v, "m"), strings.HasSuffix(v, "M"):
		mult = 1 << 20
	case strings.HasSuffix(v, "g"), strings.HasSuffix(v, "G"):
		mult = 1 << 30
	}
	if mult != 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a size in bytes (e.g. 65536k)")
	}
	if n > (1<<63)/mult {
		return 0, fmt.Errorf("too large")
	}
	return n * mult, nil
}

// defaultDevices are the devices the runtime spec says every container has.
var defaultDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

func (t *translator) devices() error {
	if !t.devTmpfs {
		// No /dev tmpfs: bind the default devices over the rootfs's own.
		for _, d := range defaultDevices {
			if t.in.Host.Kind(d) != Missing {
				t.add("--dev-bind", d, d)
			}
		}
	}
	if t.s.Linux == nil {
		return nil
	}
	t.handle("linux.devices")
	for i, d := range t.s.Linux.Devices {
		f := fmt.Sprintf("linux.devices[%d]", i)
		isDefault := false
		for _, def := range defaultDevices {
			isDefault = isDefault || def == d.Path
		}
		if isDefault {
			// bwrap's --dev has it, or it was bound above.
			continue
		}
		if (d.Type == "c" || d.Type == "b" || d.Type == "u") && t.in.Host.Device(d.Path, d.Type, d.Major, d.Minor) {
			t.add("--dev-bind", d.Path, d.Path)
			if d.FileMode != nil || d.UID != nil || d.GID != nil {
				t.report(f, "the host's %s is bound: its mode and owner are the host's, not fileMode/uid/gid", d.Path)
			}
			continue
		}
		t.report(f, "an unprivileged container cannot create device nodes, and the host has no %s %d:%d at %s to bind: not created", d.Type, d.Major, d.Minor, d.Path)
	}
	return nil
}

// inContainer resolves a container path through the rootfs's symlinks the
// way the kernel will inside the container, so that a symlink such as
// /data -> ../../.. or -> /etc cannot send a mount or the working directory
// outside the container's root: bwrap follows them from its own temporary
// root. Paths inside mounts made earlier are left as they are (the rootfs
// does not show what is in them).
func (t *translator) inContainer(p string) (string, error) {
	p = path.Clean(p)
	if m, _ := t.resolve(p); m.kind != "rootfs" {
		return p, nil
	}
	h, err := t.inRoot(t.in.Rootfs, p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(t.in.Rootfs, h)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%q resolves outside the rootfs", p)
	}
	return path.Join("/", filepath.ToSlash(rel)), nil
}

// resolve finds the mount a container path is on and the host path that
// shows the same file, if there is one.
func (t *translator) resolve(p string) (planned, string) {
	best := -1
	for i, m := range t.mounts {
		if m.dest == "/" || p == m.dest || strings.HasPrefix(p, m.dest+"/") {
			if best < 0 || len(m.dest) >= len(t.mounts[best].dest) {
				best = i
			}
		}
	}
	m := t.mounts[best]
	if m.host == "" {
		return m, ""
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p, m.dest), "/")
	if m.kind == "rootfs" {
		h, err := t.inRoot(m.host, p)
		if err != nil {
			return m, ""
		}
		return m, h
	}
	if rel == "" {
		return m, m.host
	}
	return m, filepath.Join(m.host, rel)
}

func (t *translator) readonlyPaths() error {
	if t.s.Linux == nil {
		return nil
	}
	t.handle("linux.readonlyPaths")
	for i, p := range t.s.Linux.ReadonlyPaths {
		p = path.Clean(p)
		m, host := t.resolve(p)
		switch {
		case m.dest == p && m.kind != "rootfs":
			t.add("--remount-ro", p)
		case host == "":
			t.report(fmt.Sprintf("linux.readonlyPaths[%d]", i), "%s is inside a new %s mount and cannot be made read-only by bwrap", p, m.kind)
		case t.in.Host.Kind(host) == Missing:
			// Nothing there to protect, as runc does.
		case t.mountBelow(p) != "":
			// A new bind of p would cover what is mounted below it.
			t.report(fmt.Sprintf("linux.readonlyPaths[%d]", i), "%s cannot be made read-only by bwrap without hiding the mount at %s below it: left writable", p, t.mountBelow(p))
		default:
			t.add("--ro-bind", host, p)
		}
	}
	return nil
}

// mountBelow returns the destination of a mount already in the plan that
// lies strictly below the container path p, or "".
func (t *translator) mountBelow(p string) string {
	for _, o := range t.plan.Opts {
		var dest string
		switch o.Name {
		case "--bind", "--ro-bind", "--dev-bind":
			dest = o.Args[1]
		case "--tmpfs", "--proc", "--dev", "--mqueue":
			dest = o.Args[0]
		default:
			continue
		}
		if dest != p && (p == "/" || strings.HasPrefix(dest, p+"/")) {
			return dest
		}
	}
	return ""
}

func (t *translator) maskedPaths() error {
	if t.s.Linux == nil {
		return nil
	}
	t.handle("linux.maskedPaths")
	for i, p := range t.s.Linux.MaskedPaths {
		p = path.Clean(p)
		m, host := t.resolve(p)
		kind := Missing
		switch {
		case host != "":
			kind = t.in.Host.Kind(host)
		case m.dest != p:
			t.report(fmt.Sprintf("linux.maskedPaths[%d]", i), "%s is inside a new %s mount: bwrap-oci cannot tell what it is, not masked", p, m.kind)
			continue
		default:
			kind = Dir // the mount point of a new tmpfs, /dev or mqueue
		}
		switch kind {
		case Missing:
		case Dir:
			t.add("--tmpfs", p)
			t.add("--remount-ro", p)
		default:
			t.add("--dev-bind", "/dev/null", p)
		}
	}
	return nil
}

func (t *translator) process() error {
	p := t.s.Process
	cwd, err := t.inContainer(p.Cwd)
	if err != nil {
		return t.errorf("process.cwd", "%v", err)
	}
	if m, _ := t.resolve(cwd); m.kind == "proc" || m.host == "/proc" || m.host == "/sys" {
		// /proc/self/fd/N names descriptors bwrap holds while it changes
		// directory, one of them the host's /proc: a way out of the
		// container (the class of CVE-2024-21626).
		return t.errorf("process.cwd", "%q is inside %s, where a working directory can lead out of the container: use a directory of the rootfs", p.Cwd, m.dest)
	}
	t.add("--chdir", cwd)
	t.handle("process.cwd", "process.user.uid", "process.user.gid")
	if !p.Terminal {
		// A new session: the container cannot push input into the
		// caller's terminal (TIOCSTI).
		t.add("--new-session")
	}
	t.plan.Terminal = p.Terminal
	t.handle("process.terminal")
	if p.ConsoleSize != nil {
		if p.Terminal {
			t.report("process.consoleSize", "the container uses your terminal at its own size: not applied")
		} else {
			t.handle("process.consoleSize") // meaningless without a terminal, as the spec says
		}
	}
	if len(p.User.AdditionalGids) > 0 && t.plan.Creds == nil && !(len(p.User.AdditionalGids) == 1 && p.User.AdditionalGids[0] == p.User.GID) {
		t.report("process.user.additionalGids", "bwrap cannot set supplementary groups: the process keeps your own (unmapped ones show as nogroup)")
	} else {
		t.handle("process.user.additionalGids")
	}
	t.plan.ProcMounted = t.procMounted()
	if t.plan.Creds != nil && !t.plan.ProcMounted {
		return t.errorf("process.user", "running the process as uid %d, gid %d needs bwrap-oci's helper, which runs from /proc/self/fd: mount proc at /proc", p.User.UID, p.User.GID)
	}
	if cr := t.plan.Creds; cr != nil && len(cr.Groups) > 0 {
		for i, g := range cr.Groups {
			if !idmap.Maps(t.plan.GIDMap, g) {
				return t.errorf(fmt.Sprintf("process.user.additionalGids[%d]", i), "gid %d is not mapped into the container", g)
			}
		}
		if !t.in.Root && !t.plan.NeedsHelper {
			// Maps written without newgidmap deny setgroups.
			return t.errorf("process.user.additionalGids", "supplementary groups need a subordinate gid range (an entry for you in /etc/subgid)")
		}
	}
	if p.User.Umask != nil {
		t.plan.Umask = p.User.Umask
		t.handle("process.user.umask")
	}
	if p.User.Username != "" {
		t.report("process.user.username", "a Windows-only field: ignored")
	}
	if p.NoNewPrivileges {
		t.handle("process.noNewPrivileges")
	} else {
		t.report("process.noNewPrivileges", "false is not honoured: bwrap always sets no_new_privs (setuid binaries do not gain privileges)")
	}
	for i, r := range p.Rlimits {
		t.plan.Rlimits = append(t.plan.Rlimits, Rlimit{Field: fmt.Sprintf("process.rlimits[%d]", i), Resource: spec.Rlimits[r.Type], Soft: r.Soft, Hard: r.Hard})
	}
	t.handle("process.rlimits")
	if p.OOMScoreAdj != nil {
		t.plan.OOMScoreAdj = p.OOMScoreAdj
		t.handle("process.oomScoreAdj")
	}
	if p.ApparmorProfile != "" {
		t.report("process.apparmorProfile", "AppArmor profiles are not supported: not applied")
	}
	if p.SelinuxLabel != "" {
		t.report("process.selinuxLabel", "SELinux labels are not supported: not applied")
	}
	return nil
}

// capSets are the five capability sets of a process.
type capSets struct{ bnd, eff, prm, inh, amb map[int]bool }

func (t *translator) capabilities() error {
	t.handle("process.capabilities")
	c := t.s.Process.Capabilities
	if c == nil {
		c = &specs.LinuxCapabilities{}
	}
	conv := func(field string, names []string) map[int]bool {
		out := map[int]bool{}
		var beyond []string
		for _, n := range names {
			cp, _ := spec.Capability(n)
			if t.in.Features.LastCap > 0 && int(cp) > t.in.Features.LastCap {
				beyond = append(beyond, n)
				continue
			}
			out[int(cp)] = true
		}
		if len(beyond) > 0 {
			t.report("process.capabilities."+field, "not known to this kernel, skipped: %s", strings.Join(beyond, ","))
		}
		return out
	}
	cfg := capSets{conv("bounding", c.Bounding), conv("effective", c.Effective), conv("permitted", c.Permitted), conv("inheritable", c.Inheritable), conv("ambient", c.Ambient)}
	if cr := t.plan.Creds; cr != nil {
		// The helper sets the five sets exactly; it needs them all to
		// change ids first.
		cr.Bounding, cr.Effective, cr.Permitted = capList(cfg.bnd), capList(cfg.eff), capList(cfg.prm)
		cr.Inheritable, cr.Ambient = capList(cfg.inh), capList(cfg.amb)
		if t.in.Root {
			t.add("--cap-drop", "ALL")
		}
		t.add("--cap-add", "ALL")
		return nil
	}
	want := expectedCaps(cfg, t.s.Process.User.UID)
	// bwrap gives its one set to all five: choose the effective set the
	// config leads to, so that what the process can do is exactly that.
	give := want.eff
	if t.in.Root {
		// bwrap run by uid 0 starts from every capability and --cap-add
		// only adds: drop them all first.
		t.add("--cap-drop", "ALL")
	}
	for _, n := range sortedCaps(give) {
		t.add("--cap-add", n)
	}
	for _, d := range []struct {
		name      string
		want, got map[int]bool
	}{{"bounding", want.bnd, give}, {"inheritable", want.inh, give}, {"ambient", want.amb, give}} {
		if !sameCaps(d.want, d.got) {
			t.plan.Findings = append(t.plan.Findings, Finding{Field: "process.capabilities." + d.name,
				Msg: fmt.Sprintf("bwrap sets every capability set to the effective one [%s]; the config leads to [%s]", strings.Join(sortedCaps(d.got), " "), strings.Join(sortedCaps(d.want), " "))})
		}
	}
	return nil
}

// expectedCaps is what a process started as the config says holds after its
// execve, by the kernel's rules (capabilities(7)), as runc leaves it. The
// ambient set keeps only what is also permitted and inheritable. For uid 0
// the file's sets count as full, so permitted and effective become
// bounding|inheritable|ambient; for other uids only the ambient set
// survives into permitted and effective.
func expectedCaps(c capSets, uid uint32) capSets {
	amb := map[int]bool{}
	for k := range c.amb {
		if c.prm[k] && c.inh[k] && c.bnd[k] {
			amb[k] = true
		}
	}
	out := capSets{bnd: c.bnd, inh: c.inh, amb: amb, prm: amb}
	if uid == 0 {
		out.prm = union(union(c.bnd, c.inh), amb)
	}
	out.eff = out.prm
	return out
}

func capList(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// procMounted reports whether the container has a proc file system at /proc.
func (t *translator) procMounted() bool {
	for _, m := range t.mounts {
		if m.dest == "/proc" && (m.kind == "proc" || m.host == "/proc") {
			return true
		}
	}
	return false
}

func union(a, b map[int]bool) map[int]bool {
	out := map[int]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func sameCaps(a, b map[int]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sortedCaps(m map[int]bool) []string {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = spec.CapName(capOf(k))
	}
	return out
}

func capOf(k int) capability.Cap { return capability.Cap(k) }

func (t *translator) linuxRest() error {
	l := t.s.Linux
	if l == nil {
		return nil
	}
	keys := make([]string, 0, len(l.Sysctl))
	for k := range l.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.report("linux.sysctl."+k, "bwrap cannot set sysctls: not set")
	}
	if len(l.NetDevices) > 0 {
		t.report("linux.netDevices", "moving network devices into the container is not supported: not moved")
	}
	if len(l.TimeOffsets) > 0 {
		t.report("linux.timeOffsets", "time namespaces are not supported by bwrap: offsets not applied")
	}
	if t.present("linux.resources") {
		t.report("linux.resources", "cgroup resource limits are not applied by bwrap-oci (no cgroup manager): not enforced")
	}
	if l.CgroupsPath != "" {
		t.report("linux.cgroupsPath", "bwrap-oci does not place containers in cgroups: ignored")
	}
	if l.Seccomp != nil {
		prog, findings, err := seccomp.Compile(l.Seccomp)
		if err != nil {
			return &spec.Error{File: t.in.Config.File, Msg: err.Error()}
		}
		t.plan.Seccomp = prog
		for _, f := range findings {
			t.report(f.Field, "%s", f.Msg)
		}
		t.handle("linux.seccomp")
	}
	if l.MountLabel != "" {
		t.report("linux.mountLabel", "SELinux mount labels are not supported: ignored")
	}
	return nil
}

func (t *translator) others() error {
	if t.s.Domainname != "" {
		t.report("domainname", "bwrap cannot set the NIS domain name: not set")
	}
	if h := t.s.Hooks; h != nil {
		// Run by the runtime (internal/hooks); bwrap mounts everything
		// after the runtime lets it go, so two points are approximated.
		t.handle("hooks")
		if len(h.Prestart) > 0 {
			t.report("hooks.prestart", "run once the container's namespaces exist and its id maps are written, before bwrap mounts anything")
		}
		if len(h.CreateRuntime) > 0 {
			t.report("hooks.createRuntime", "run once the container's namespaces exist and its id maps are written, before bwrap mounts anything")
		}
		if len(h.CreateContainer) > 0 {
			t.report("hooks.createContainer", "runs after bwrap has mounted everything and switched to the rootfs (there is no point before pivot_root): its path is opened on the host, but a script's interpreter resolves in the container")
		}
	}
	return nil
}

// isInit tells whether the process is an init system (see Plan.Init).
func (t *translator) isInit() bool {
	if v, ok := t.s.Annotations[InitAnnotation]; ok {
		return v == "systemd"
	}
	if len(t.s.Process.Args) == 0 || !path.IsAbs(t.s.Process.Args[0]) {
		return false
	}
	h, err := t.inRoot(t.in.Rootfs, t.s.Process.Args[0])
	return err == nil && filepath.Base(h) == "systemd"
}

func (t *translator) newCgroupNS() bool {
	ns, ok := t.ns[specs.CgroupNamespace]
	return ok && ns.Path == ""
}

func (t *translator) detectInit() {
	if t.isInit() && t.plan.PIDNS {
		t.plan.Init = "systemd"
	}
}
