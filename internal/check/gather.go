package check

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/bwrap-oci/bwrap-oci/internal/passwd"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// MappingsFunc decides the id mappings of a config's new user namespace the
// way run does, for the calling user (container.Mappings).
type MappingsFunc func(s *specs.Spec) (uids, gids []idmap.Mapping, warning string, err error)

// Options say what to check.
type Options struct {
	Bwrap  string // bwrap name or path (default "bwrap")
	Root   string // --root, if given
	Bundle string // bundle directory; empty: no bundle checks
	Config string // config file (default BUNDLE/config.json)
	// Smoke runs bwrap in a new user namespace and maps ids into it.
	Smoke bool
	// Mappings decides a bundle's mappings; needed with Bundle.
	Mappings MappingsFunc

	// For tests; default /etc/subuid, /etc/subgid and /proc.
	SubUIDFile, SubGIDFile, Proc string
}

func (o *Options) defaults() {
	if o.Bwrap == "" {
		o.Bwrap = "bwrap"
	}
	if o.SubUIDFile == "" {
		o.SubUIDFile = "/etc/subuid"
	}
	if o.SubGIDFile == "" {
		o.SubGIDFile = "/etc/subgid"
	}
	if o.Proc == "" {
		o.Proc = "/proc"
	}
}

// Run gathers the facts and evaluates them.
func Run(o Options) []Result {
	return Evaluate(Gather(o))
}

// Gather reads the host. It runs bwrap --version and --help (unless their
// answer is cached in the state root), and with o.Smoke the smoke test.
func Gather(o Options) Facts {
	o.defaults()
	var f Facts
	f.User = gatherUser(o.Proc)
	f.Bwrap = gatherBwrap(o)
	f.MaxUserNS = readKnob(filepath.Join(o.Proc, "sys/user/max_user_namespaces"))
	f.UsernsClone = readKnob(filepath.Join(o.Proc, "sys/kernel/unprivileged_userns_clone"))
	f.AppArmor = readKnob(filepath.Join(o.Proc, "sys/kernel/apparmor_restrict_unprivileged_userns"))
	f.SubUID = gatherSubIDs(o.SubUIDFile, f.User.Name, f.User.UID)
	f.SubGID = gatherSubIDs(o.SubGIDFile, f.User.Name, f.User.GID) // by gid, as container.Mappings looks it up
	f.NewUIDMap = gatherHelper("newuidmap", 7)                     // CAP_SETUID
	f.NewGIDMap = gatherHelper("newgidmap", 6)                     // CAP_SETGID
	f.RuntimeDir = gatherRuntimeDir(o.Root, f.User.UID)
	f.Cgroup = gatherCgroup(o.Proc)
	_, err := os.Stat("/run/systemd/system")
	f.Systemd = err == nil
	f.Tun = gatherTun()
	f.KernelNS = gatherKernelNS(o.Proc)
	if o.Bundle != "" {
		f.Bundle = gatherBundle(o, f.User)
	}
	if o.Smoke && f.Bwrap.Path != "" {
		f.Smoke = runSmoke(f)
	}
	return f
}

func gatherUser(proc string) User {
	u := User{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Root: os.Geteuid() == 0}
	if pw, ok := passwd.Lookup(u.UID); ok {
		u.Name = pw.Name
	}
	data, _ := os.ReadFile(filepath.Join(proc, "self/uid_map"))
	u.InitUserNS = isIdentityMap(string(data))
	return u
}

// isIdentityMap reports whether a uid_map is the initial user namespace's.
func isIdentityMap(text string) bool {
	f := strings.Fields(text)
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}

func gatherBwrap(o Options) Bwrap {
	b := Bwrap{Name: o.Bwrap}
	path, err := bwrap.Find(o.Bwrap)
	if err != nil {
		b.Err = err.Error()
		return b
	}
	b.Path = path
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil {
		b.Setuid = st.Mode&unix.S_ISUID != 0 && st.Uid == 0
	}
	// Reuse run's probe cache when the state root exists; never create it here.
	cache := ""
	root := o.Root
	if root == "" {
		root, _ = state.DefaultRoot()
	}
	if root != "" {
		if fi, err := os.Stat(root); err == nil && fi.IsDir() && unix.Access(root, unix.W_OK) == nil {
			cache = filepath.Join(root, ".bwrap-features.json")
		}
	}
	feat, err := bwrap.Probe(path, cache)
	if err != nil {
		b.Err = err.Error()
		return b
	}
	b.Version = feat.Version
	for _, opt := range bwrap.Required {
		if !feat.Options[opt] {
			b.Missing = append(b.Missing, opt)
		}
	}
	return b
}

func readKnob(path string) Knob {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Knob{}
	}
	if err != nil {
		return Knob{Present: true, Err: err.Error()}
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return Knob{Present: true, Err: fmt.Sprintf("%s: %q is not a number", path, strings.TrimSpace(string(data)))}
	}
	return Knob{Present: true, Value: v}
}

func gatherSubIDs(file, name string, id uint32) SubIDs {
	s := SubIDs{File: file}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return s
	}
	if err != nil {
		s.Err = "reading subordinate ids: " + err.Error()
		return s
	}
	s.Ranges = idmap.ParseSubID(bytes.NewReader(data), name, id)
	s.All = parseEntries(data)
	return s
}

// parseEntries returns every valid line of an /etc/subuid-format file.
func parseEntries(data []byte) []Entry {
	var out []Entry
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || f[0] == "" {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		n, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || n == 0 || strings.ContainsAny(f[1]+f[2], "+-") {
			continue
		}
		out = append(out, Entry{Owner: f[0], Start: uint32(start), Length: uint32(n)})
	}
	return out
}

func gatherHelper(name string, capBit uint) Helper {
	h := Helper{Name: name}
	path, err := exec.LookPath(name)
	if err != nil {
		return h
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	h.Path = path
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		h.Err = err.Error()
		return h
	}
	h.OwnerUID = st.Uid
	h.Setuid = st.Mode&unix.S_ISUID != 0
	h.Exec = unix.Access(path, unix.X_OK) == nil
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err == nil {
		h.NoSuid = sfs.Flags&unix.ST_NOSUID != 0
	}
	buf := make([]byte, 64)
	n, err := unix.Getxattr(path, "security.capability", buf)
	switch {
	case err == nil:
		h.Cap, err = hasFileCap(buf[:n], capBit)
		if err != nil {
			h.CapErr = err.Error()
		}
	case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
	default:
		h.CapErr = "reading security.capability: " + err.Error()
	}
	return h
}

// vfs_cap_data (linux/capability.h).
const (
	vfsCapRevisionMask = 0xFF000000
	vfsCapFlagsEffect  = 0x000001
	vfsCapRevision1    = 0x01000000
	vfsCapRevision2    = 0x02000000
	vfsCapRevision3    = 0x03000000
)

// hasFileCap reports whether a security.capability value grants capability
// bit capBit, permitted and effective, in the initial user namespace.
func hasFileCap(data []byte, capBit uint) (bool, error) {
	if len(data) < 4 {
		return false, fmt.Errorf("security.capability: %d bytes is too short", len(data))
	}
	magic := binary.LittleEndian.Uint32(data)
	var words int
	switch magic & vfsCapRevisionMask {
	case vfsCapRevision1:
		words = 1
	case vfsCapRevision2, vfsCapRevision3:
		words = 2
	default:
		return false, fmt.Errorf("security.capability: unknown revision %#x", magic&vfsCapRevisionMask)
	}
	if len(data) < 4+8*words {
		return false, fmt.Errorf("security.capability: %d bytes is too short", len(data))
	}
	if magic&vfsCapRevisionMask == vfsCapRevision3 {
		if len(data) < 4+8*words+4 {
			return false, fmt.Errorf("security.capability: %d bytes is too short", len(data))
		}
		if rootid := binary.LittleEndian.Uint32(data[4+8*words:]); rootid != 0 {
			return false, nil // a namespaced capability: not for the host
		}
	}
	word := int(capBit / 32)
	if word >= words {
		return false, nil
	}
	permitted := binary.LittleEndian.Uint32(data[4+8*word:])
	return magic&vfsCapFlagsEffect != 0 && permitted&(1<<(capBit%32)) != 0, nil
}

func gatherRuntimeDir(root string, uid uint32) RuntimeDir {
	d := RuntimeDir{RootFlag: root, Default: fmt.Sprintf("/run/user/%d", uid)}
	var st unix.Stat_t
	if unix.Stat(d.Default, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Uid == uid {
		d.DefaultOK = true
	}
	d.Path, d.Set = os.LookupEnv("XDG_RUNTIME_DIR")
	if d.Set && d.Path == "" {
		d.Set = false
	}
	if !d.Set || !filepath.IsAbs(d.Path) {
		return d
	}
	err := unix.Stat(d.Path, &st)
	switch {
	case errors.Is(err, unix.ENOENT):
	case err != nil:
		d.Err = fmt.Sprintf("XDG_RUNTIME_DIR=%s: %v", d.Path, err)
	default:
		d.Exists = true
		d.IsDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
		d.Owner = st.Uid
		d.Perm = st.Mode & 0o7777
	}
	return d
}

func gatherCgroup(proc string) Cgroup {
	var c Cgroup
	cg, err := os.ReadFile(filepath.Join(proc, "self/cgroup"))
	if err != nil {
		c.Err = err.Error()
		return c
	}
	mi, err := os.ReadFile(filepath.Join(proc, "self/mountinfo"))
	if err != nil {
		c.Err = err.Error()
		return c
	}
	c.Path = parseProcCgroup(string(cg))
	mount, root := parseCgroup2Mount(string(mi))
	c.Mount = mount
	if c.Mount == "" || c.Path == "" {
		return c
	}
	c.Dir = cgroupDir(mount, root, c.Path)
	c.DirW = unix.Access(c.Dir, unix.W_OK) == nil
	c.Procs = unix.Access(filepath.Join(c.Dir, "cgroup.procs"), unix.W_OK) == nil
	c.SubtreeControl = unix.Access(filepath.Join(c.Dir, "cgroup.subtree_control"), unix.W_OK) == nil
	return c
}

// parseProcCgroup returns the cgroup v2 path in /proc/self/cgroup ("0::/x").
func parseProcCgroup(text string) string {
	for _, line := range strings.Split(text, "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return strings.TrimSpace(p)
		}
	}
	return ""
}

// parseCgroup2Mount returns the mount point and root of the first cgroup2
// mount in mountinfo text.
func parseCgroup2Mount(text string) (mount, root string) {
	for _, line := range strings.Split(text, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 1 || qf[0] != "cgroup2" {
			continue
		}
		return unescapeMount(pf[4]), unescapeMount(pf[3])
	}
	return "", ""
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupDir is the directory of cgroup path under a cgroup2 mount whose
// root is root.
func cgroupDir(mount, root, path string) string {
	if root != "/" && root != "" {
		if rel, ok := strings.CutPrefix(path, root); ok && (rel == "" || rel[0] == '/') {
			path = rel
		}
	}
	return filepath.Join(mount, path)
}

func gatherTun() Tun {
	var t Tun
	var st unix.Stat_t
	err := unix.Stat("/dev/net/tun", &st)
	switch {
	case errors.Is(err, unix.ENOENT):
		return t
	case err != nil:
		t.Err = "/dev/net/tun: " + err.Error()
		return t
	}
	t.Exists = true
	t.CharDev = st.Mode&unix.S_IFMT == unix.S_IFCHR
	t.RW = unix.Access("/dev/net/tun", unix.R_OK|unix.W_OK) == nil
	return t
}

func gatherKernelNS(proc string) map[string]bool {
	ents, err := os.ReadDir(filepath.Join(proc, "self/ns"))
	if err != nil {
		return nil
	}
	m := map[string]bool{}
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

func gatherBundle(o Options, u User) *Bundle {
	dir, err := filepath.Abs(o.Bundle)
	b := &Bundle{Dir: dir}
	if err != nil {
		b.Err = err.Error()
		return b
	}
	b.File = o.Config
	if b.File == "" {
		b.File = filepath.Join(dir, "config.json")
	} else if b.File, err = filepath.Abs(b.File); err != nil {
		b.Err = err.Error()
		return b
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		b.Err = dir + ": bundle directory does not exist"
		return b
	}
	cfg, err := spec.Load(b.File)
	if err == nil {
		err = spec.Validate(cfg)
	}
	if err != nil {
		b.Err = err.Error()
		return b
	}
	s := cfg.Spec
	if rootfs := spec.RootfsPath(dir, s); rootfs != "" {
		if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
			b.RootfsErr = fmt.Sprintf("%s: root.path: directory %s does not exist", b.File, rootfs)
		}
	}
	conv := func(ms []specs.LinuxIDMapping) []idmap.Mapping {
		var out []idmap.Mapping
		for _, m := range ms {
			out = append(out, idmap.Mapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
		}
		return out
	}
	if s.Linux != nil {
		for _, ns := range s.Linux.Namespaces {
			n := Namespace{Type: string(ns.Type), Path: ns.Path}
			if ns.Path != "" {
				if fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
					n.PathErr = fmt.Sprintf("%s namespace %s: %v", ns.Type, ns.Path, err)
				} else {
					unix.Close(fd)
				}
			}
			b.Namespaces = append(b.Namespaces, n)
		}
		b.ConfUIDs, b.ConfGIDs = conv(s.Linux.UIDMappings), conv(s.Linux.GIDMappings)
	}
	b.ProcessUID, b.ProcessGID = s.Process.User.UID, s.Process.User.GID
	userNS, ok := spec.Namespace(s, specs.UserNamespace)
	switch {
	case ok && userNS.Path != "":
		b.JoinUserNS = userNS.Path
	case ok || !u.Root:
		b.NewUserNS = true
	}
	if b.NewUserNS && o.Mappings != nil {
		var err error
		b.UIDMap, b.GIDMap, b.MapWarn, err = o.Mappings(s)
		if err != nil {
			b.MapErr = err.Error()
		}
	}
	b.Init = initReason(s)
	return b
}

// initReason says why a config's process looks like an init that manages
// cgroups itself (and so needs a delegated cgroup v2 subtree): its
// process.args[0] is named systemd or init. Empty if it does not.
func initReason(s *specs.Spec) string {
	if s.Process == nil || len(s.Process.Args) == 0 {
		return ""
	}
	switch base := filepath.Base(s.Process.Args[0]); base {
	case "systemd", "init":
		return fmt.Sprintf("process.args[0] %s is an init", s.Process.Args[0])
	}
	return ""
}
