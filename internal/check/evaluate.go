package check

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
)

// Status is the verdict of one check.
type Status string

const (
	OK   Status = "ok"   // nothing to do
	Warn Status = "warn" // some containers (or features) will not work
	Fail Status = "fail" // a rootless container cannot run (as asked)
)

// Result is one check's verdict.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Found  string `json:"found"`
	Fix    string `json:"fix,omitempty"` // a shell command; empty when there is none to give
}

// Check names, in the order Evaluate reports them.
const (
	NameUser        = "user"
	NameBwrap       = "bwrap"
	NameBwrapSetuid = "bwrap-setuid"
	NameUserNS      = "userns"
	NameUsernsClone = "userns-clone"
	NameAppArmor    = "apparmor-userns"
	NameSubUID      = "subuid"
	NameSubGID      = "subgid"
	NameNewUIDMap   = "newuidmap"
	NameNewGIDMap   = "newgidmap"
	NameRuntimeDir  = "xdg-runtime-dir"
	NameCgroup      = "cgroup"
	NameTun         = "tun"
	NameConfig      = "config"
	NameConfigIDs   = "config-ids"
	NameNamespaces  = "namespaces"
	NameSmoke       = "smoke"
)

// Defaults used in fixes.
const (
	defaultSubIDStart = 100000
	defaultSubIDCount = 65536
	defaultMaxUserNS  = 15000
	sysctlFile        = "/etc/sysctl.d/90-bwrap-oci.conf"
)

// OKAll reports whether no result is a failure: a rootless container (the
// bundle, if one was checked) can run.
func OKAll(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return false
		}
	}
	return true
}

// Evaluate turns facts into one result per check. It is pure.
func Evaluate(f Facts) []Result {
	needUID, needGID := needsHelpers(f)
	rs := []Result{
		evalUser(f),
		evalBwrap(f),
		evalBwrapSetuid(f, needUID || needGID),
		evalMaxUserNS(f),
		evalUsernsClone(f),
		evalAppArmor(f),
		evalSubID(f, "uid", f.SubUID),
		evalSubID(f, "gid", f.SubGID),
		evalHelper(f, "uid", f.NewUIDMap, needUID),
		evalHelper(f, "gid", f.NewGIDMap, needGID),
		evalRuntimeDir(f),
		evalCgroup(f),
		evalTun(f),
	}
	if f.Bundle != nil {
		rs = append(rs, evalConfig(f))
		if f.Bundle.Err == "" {
			rs = append(rs, evalConfigIDs(f), evalNamespaces(f))
		}
	}
	if f.Smoke != nil {
		rs = append(rs, evalSmoke(f, rs))
	}
	return rs
}

// needsHelpers says whether newuidmap and newgidmap are needed: to map the
// bundle's ids, or, without a bundle, the caller's subordinate ranges, as
// run does for a config without mappings.
func needsHelpers(f Facts) (uid, gid bool) {
	if f.User.Root {
		return false, false
	}
	if b := f.Bundle; b != nil && b.Err == "" {
		if !b.NewUserNS {
			return false, false
		}
		if b.MapErr == "" {
			return idmap.NeedsHelper(b.UIDMap, f.User.UID), idmap.NeedsHelper(b.GIDMap, f.User.GID)
		}
	}
	return len(f.SubUID.Ranges) > 0, len(f.SubGID.Ranges) > 0
}

func who(u User) string {
	if u.Name != "" {
		return u.Name
	}
	return strconv.FormatUint(uint64(u.UID), 10)
}

func sev(needed bool) Status {
	if needed {
		return Fail
	}
	return Warn
}

func evalUser(f Facts) Result {
	u := f.User
	r := Result{Name: NameUser, Status: OK, Found: fmt.Sprintf("%s (uid %d, gid %d)", who(u), u.UID, u.GID)}
	if !u.InitUserNS {
		r.Found += ", inside a user namespace"
	}
	if u.Root {
		r.Status = Warn
		r.Found += ": running as root, so these are not the checks of a rootless container; run bwrap-oci check as the user who will run containers"
	}
	return r
}

func evalBwrap(f Facts) Result {
	b := f.Bwrap
	r := Result{Name: NameBwrap}
	switch {
	case b.Path == "":
		r.Status, r.Found = Fail, fmt.Sprintf("%s not found", b.Name)
		if b.Err != "" {
			r.Found = b.Err
		}
		r.Fix = "sudo apt-get install bubblewrap"
	case b.Err != "":
		r.Status, r.Found, r.Fix = Fail, b.Err, "sudo apt-get install --reinstall bubblewrap"
	case len(b.Missing) > 0:
		r.Status = Fail
		r.Found = fmt.Sprintf("%s (bubblewrap %s) lacks %s: bwrap-oci needs bubblewrap 0.8.0 or newer", b.Path, b.Version, strings.Join(b.Missing, ", "))
		r.Fix = "sudo apt-get install bubblewrap"
	default:
		r.Status, r.Found = OK, fmt.Sprintf("%s (bubblewrap %s)", b.Path, b.Version)
	}
	return r
}

func evalBwrapSetuid(f Facts, multi bool) Result {
	b := f.Bwrap
	r := Result{Name: NameBwrapSetuid, Status: OK}
	switch {
	case b.Path == "":
		r.Found = "no bwrap to look at"
	case !b.Setuid:
		r.Found = b.Path + " is not setuid"
	case f.User.Root:
		r.Found = b.Path + " is setuid root (no matter: you are root)"
	default:
		r.Status = sev(multi)
		r.Found = b.Path + " is setuid root: it can map only your own uid and gid (newuidmap refuses a process owned by root)"
		if multi {
			r.Found += ", and more ids must be mapped"
		}
		r.Fix = "sudo chmod u-s " + shellQuote(b.Path)
	}
	return r
}

func sysctlFix(key string, val int) string {
	kv := fmt.Sprintf("%s=%d", key, val)
	return fmt.Sprintf("echo %s | sudo tee -a %s && sudo sysctl -w %s", kv, sysctlFile, kv)
}

func smokeENOSPC(f Facts) bool {
	return f.Smoke != nil && !f.Smoke.OK && (strings.Contains(f.Smoke.Err, "ENOSPC") || strings.Contains(f.Smoke.Err, "No space left on device"))
}

func evalMaxUserNS(f Facts) Result {
	k := f.MaxUserNS
	r := Result{Name: NameUserNS, Status: OK}
	where := ""
	if !f.User.InitUserNS {
		where = " in this user namespace"
	}
	switch {
	case !k.Present:
		r.Status, r.Found = Fail, "/proc/sys/user/max_user_namespaces does not exist: the kernel has no user namespaces (CONFIG_USER_NS)"
	case k.Err != "":
		r.Status, r.Found = Warn, k.Err
	case k.Value == 0:
		r.Status = Fail
		r.Found = "user.max_user_namespaces is 0" + where + ": no user namespace can be created"
		r.Fix = sysctlFix("user.max_user_namespaces", defaultMaxUserNS)
	case smokeENOSPC(f):
		r.Status = Fail
		r.Found = fmt.Sprintf("user.max_user_namespaces is %d%s, but bwrap hit a user namespace limit (ENOSPC): the limit is reached here or is lower in a parent user namespace", k.Value, where)
		r.Fix = sysctlFix("user.max_user_namespaces", max(defaultMaxUserNS, 2*k.Value))
	default:
		r.Found = fmt.Sprintf("user.max_user_namespaces is %d%s", k.Value, where)
	}
	return r
}

func evalUsernsClone(f Facts) Result {
	k := f.UsernsClone
	r := Result{Name: NameUsernsClone, Status: OK}
	switch {
	case !k.Present:
		r.Found = "kernel.unprivileged_userns_clone does not exist (no such restriction)"
	case k.Err != "":
		r.Status, r.Found = Warn, k.Err
	case k.Value == 0 && !f.User.Root:
		r.Status = Fail
		r.Found = "kernel.unprivileged_userns_clone is 0: unprivileged users may not create user namespaces"
		r.Fix = sysctlFix("kernel.unprivileged_userns_clone", 1)
	default:
		r.Found = fmt.Sprintf("kernel.unprivileged_userns_clone is %d", k.Value)
	}
	return r
}

func evalAppArmor(f Facts) Result {
	k := f.AppArmor
	r := Result{Name: NameAppArmor, Status: OK}
	switch {
	case !k.Present:
		r.Found = "kernel.apparmor_restrict_unprivileged_userns does not exist (no such restriction)"
	case k.Err != "":
		r.Status, r.Found = Warn, k.Err
	case k.Value == 0 || f.User.Root:
		r.Found = fmt.Sprintf("kernel.apparmor_restrict_unprivileged_userns is %d", k.Value)
	default:
		r.Found = fmt.Sprintf("kernel.apparmor_restrict_unprivileged_userns is %d", k.Value)
		switch {
		case f.Smoke == nil:
			r.Status = Warn
			r.Found += ": user namespaces get no capabilities unless an AppArmor profile allows bwrap (the smoke test was not run)"
		case f.Smoke.OK:
			r.Found += ", but bwrap may use user namespaces (an AppArmor profile allows it)"
		default:
			r.Status = Fail
			r.Found += ": user namespaces get no capabilities unless an AppArmor profile allows bwrap"
		}
		if r.Status != OK {
			r.Fix = sysctlFix("kernel.apparmor_restrict_unprivileged_userns", 0)
		}
	}
	return r
}

func spanText(start, end uint64) string { return fmt.Sprintf("%d-%d", start, end-1) }

func rangesText(rs []idmap.Range) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s (%d ids)", spanText(uint64(r.Start), uint64(r.Start)+uint64(r.Length)), r.Length))
	}
	return strings.Join(parts, ", ")
}

// freeStart is where a new subordinate range of n ids may start: after every
// range given to anyone in either file, and not below 100000.
func freeStart(f Facts, n uint64) (uint64, bool) {
	start := uint64(defaultSubIDStart)
	for _, all := range [][]Entry{f.SubUID.All, f.SubGID.All} {
		for _, e := range all {
			start = max(start, uint64(e.Start)+uint64(e.Length))
		}
	}
	return start, start+n <= math.MaxUint32
}

func evalSubID(f Facts, kind string, s SubIDs) Result {
	r := Result{Name: "sub" + kind, Status: OK}
	w := who(f.User)
	switch {
	case s.Err != "":
		r.Status, r.Found = Fail, s.Err
		r.Fix = "sudo chmod 0644 " + s.File
	case len(s.Ranges) > 0:
		r.Found = fmt.Sprintf("%s has %s in %s", w, rangesText(s.Ranges), s.File)
	case f.User.Root:
		r.Found = fmt.Sprintf("no range for %s in %s (no matter: root maps ids itself)", w, s.File)
	default:
		r.Status = Warn
		r.Found = fmt.Sprintf("no range for %s in %s: containers map only your own %s, so images with other users or files owned by them fail", w, s.File, kind)
		if start, ok := freeStart(f, defaultSubIDCount); ok {
			r.Fix = subIDCmd(f.User, []subChange{{kind: kind, add: []span{{start, start + defaultSubIDCount}}}})
		}
	}
	return r
}

func evalHelper(f Facts, kind string, h Helper, needed bool) Result {
	r := Result{Name: "new" + kind + "map", Status: OK}
	capName := "cap_set" + kind
	why := ""
	if !needed {
		why = " (needed only to map more than your own " + kind + ")"
	}
	switch {
	case f.User.Root:
		r.Found = "not needed as root"
		if h.Path != "" {
			r.Found = h.Path + ": " + r.Found
		}
		return r
	case h.Path == "":
		r.Status, r.Found, r.Fix = sev(needed), h.Name+" not found on PATH"+why, "sudo apt-get install uidmap"
		if h.Err != "" {
			r.Found = h.Err + why
		}
		return r
	case h.Err != "":
		r.Status, r.Found = sev(needed), h.Err+why
		return r
	}
	q := shellQuote(h.Path)
	switch {
	case !h.Exec:
		r.Status, r.Found, r.Fix = sev(needed), h.Path+" is not executable by you"+why, "sudo chmod 4755 "+q
	case h.NoSuid && (h.Setuid || h.Cap):
		r.Status = sev(needed)
		r.Found = h.Path + " is on a nosuid mount, so its setuid bit and file capabilities do not apply" + why
		r.Fix = fmt.Sprintf(`sudo mount -o remount,suid "$(findmnt -no TARGET -T %s)"`, q)
	case h.Setuid && h.OwnerUID == 0:
		r.Found = h.Path + " is setuid root"
	case h.Cap:
		r.Found = h.Path + " has the " + capName + " file capability"
	default:
		r.Status = sev(needed)
		owner := ""
		if h.Setuid {
			owner = fmt.Sprintf(" (setuid, but owned by uid %d)", h.OwnerUID)
		}
		r.Found = fmt.Sprintf("%s is not setuid root%s and has no %s file capability%s", h.Path, owner, capName, why)
		if h.CapErr != "" {
			r.Found += " (" + h.CapErr + ")"
		}
		if h.OwnerUID == 0 {
			r.Fix = "sudo chmod u+s " + q
		} else {
			r.Fix = fmt.Sprintf("sudo chown root:root %s && sudo chmod u+s %s", q, q)
		}
	}
	return r
}

func evalRuntimeDir(f Facts) Result {
	d := f.RuntimeDir
	u := f.User
	r := Result{Name: NameRuntimeDir, Status: OK}
	mkdir := fmt.Sprintf("sudo install -d -m 0700 -o %d -g %d ", u.UID, u.GID)
	switch {
	case d.RootFlag != "":
		r.Found = "not needed: state goes to --root " + d.RootFlag
	case u.Root && (u.InitUserNS || !d.Set):
		// state.DefaultRoot: root inside a user namespace uses
		// XDG_RUNTIME_DIR when it is set.
		r.Found = "not needed as root: state goes to /run/bwrap-oci"
	case !d.Set:
		r.Status, r.Found = Fail, "XDG_RUNTIME_DIR is not set: bwrap-oci keeps container state there (or in --root DIR)"
		if d.DefaultOK {
			r.Fix = "export XDG_RUNTIME_DIR=" + d.Default
		} else {
			r.Fix = mkdir + d.Default + " && export XDG_RUNTIME_DIR=" + d.Default
		}
	case !filepath.IsAbs(d.Path):
		r.Status, r.Found = Fail, fmt.Sprintf("XDG_RUNTIME_DIR=%q is not an absolute path", d.Path)
		r.Fix = "export XDG_RUNTIME_DIR=" + d.Default
	case d.Err != "":
		r.Status, r.Found = Fail, d.Err
	case !d.Exists:
		r.Status, r.Found = Fail, fmt.Sprintf("XDG_RUNTIME_DIR=%s does not exist", d.Path)
		r.Fix = mkdir + shellQuote(d.Path)
	case !d.IsDir:
		r.Status, r.Found = Fail, fmt.Sprintf("XDG_RUNTIME_DIR=%s is not a directory", d.Path)
		r.Fix = "export XDG_RUNTIME_DIR=" + d.Default
	case d.Owner != u.UID:
		r.Status, r.Found = Fail, fmt.Sprintf("XDG_RUNTIME_DIR=%s belongs to uid %d, not to you", d.Path, d.Owner)
		r.Fix = fmt.Sprintf("sudo chown %d:%d %s", u.UID, u.GID, shellQuote(d.Path))
	case d.Perm != 0o700:
		r.Status, r.Found = Warn, fmt.Sprintf("XDG_RUNTIME_DIR=%s has mode %04o, not 0700", d.Path, d.Perm)
		r.Fix = "chmod 0700 " + shellQuote(d.Path)
	default:
		r.Found = d.Path + " (yours, mode 0700)"
	}
	return r
}

func evalCgroup(f Facts) Result {
	c := f.Cgroup
	need := ""
	if b := f.Bundle; b != nil && b.Err == "" {
		need = b.Init
	}
	r := Result{Name: NameCgroup, Status: OK}
	bad := func(found string) {
		r.Status = sev(need != "")
		if need != "" {
			r.Found = found + " (needed: " + need + ")"
		} else {
			r.Found = found + " (needed only by containers that run an init such as systemd)"
		}
	}
	switch {
	case c.Err != "":
		bad(c.Err)
	case c.Mount == "":
		bad("no cgroup v2 hierarchy is mounted")
		r.Fix = "sudo mkdir -p /sys/fs/cgroup/unified && sudo mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified"
	case c.Path == "":
		bad("your process is in no cgroup v2 cgroup (no 0:: line in /proc/self/cgroup)")
	case !(c.DirW && c.Procs && c.SubtreeControl):
		var cannot []string
		if !c.DirW {
			cannot = append(cannot, "create cgroups in it")
		}
		if !c.Procs {
			cannot = append(cannot, "write cgroup.procs")
		}
		if !c.SubtreeControl {
			cannot = append(cannot, "write cgroup.subtree_control")
		}
		bad(fmt.Sprintf("your cgroup %s is not delegated to you: you cannot %s", c.Dir, strings.Join(cannot, ", ")))
		if f.Systemd {
			r.Fix = "systemd-run --user --scope -p Delegate=yes $SHELL"
		} else {
			dir := shellQuote(filepath.Join(c.Mount, who(f.User)))
			r.Fix = fmt.Sprintf("sudo mkdir -p %s && sudo chown -R %d:%d %s && echo $$ | sudo tee %s/cgroup.procs", dir, f.User.UID, f.User.GID, dir, dir)
		}
	default:
		r.Found = c.Dir + " is delegated to you (cgroup v2)"
		if need != "" {
			r.Found += " (needed: " + need + ")"
		}
	}
	return r
}

func evalTun(f Facts) Result {
	t := f.Tun
	r := Result{Name: NameTun, Status: OK}
	const why = " (needed only for rootless networking with slirp4netns or pasta)"
	switch {
	case t.Err != "":
		r.Status, r.Found = Warn, t.Err+why
	case !t.Exists:
		r.Status, r.Found, r.Fix = Warn, "/dev/net/tun does not exist"+why, "sudo modprobe tun"
	case !t.CharDev:
		r.Status, r.Found = Warn, "/dev/net/tun is not a character device"+why
	case !t.RW:
		r.Status, r.Found, r.Fix = Warn, "/dev/net/tun cannot be opened for reading and writing by you"+why, "sudo chmod 0666 /dev/net/tun"
	default:
		r.Found = "/dev/net/tun is usable"
	}
	return r
}

func evalConfig(f Facts) Result {
	b := f.Bundle
	r := Result{Name: NameConfig, Status: OK, Found: b.File}
	switch {
	case b.Err != "":
		r.Status, r.Found = Fail, b.Err
	case b.RootfsErr != "":
		r.Status, r.Found = Fail, b.RootfsErr
	default:
		r.Found = b.File + " is valid"
	}
	return r
}

func mapCount(ms []idmap.Mapping) uint64 {
	var n uint64
	for _, m := range ms {
		n += uint64(m.Size)
	}
	return n
}

func evalConfigIDs(f Facts) Result {
	b := f.Bundle
	r := Result{Name: NameConfigIDs, Status: OK}
	switch {
	case b.JoinUserNS != "":
		r.Found = "the config joins the user namespace " + b.JoinUserNS + ": no ids to map"
	case !b.NewUserNS:
		r.Found = "no new user namespace (running as root without one in the config)"
	case b.MapErr != "":
		r.Status, r.Found = Fail, b.MapErr
		r.Fix = configIDFix(f)
	default:
		r.Found = fmt.Sprintf("%d uids and %d gids are mapped; the process runs as %d:%d", mapCount(b.UIDMap), mapCount(b.GIDMap), b.ProcessUID, b.ProcessGID)
		if b.MapWarn != "" {
			r.Status, r.Found = Warn, b.MapWarn
			if start, ok := freeStart(f, defaultSubIDCount); ok && len(f.SubUID.Ranges) == 0 && len(f.SubGID.Ranges) == 0 {
				sp := []span{{start, start + defaultSubIDCount}}
				r.Fix = subIDCmd(f.User, []subChange{{kind: "uid", add: sp}, {kind: "gid", add: sp}})
			}
		}
	}
	return r
}

// kernelNS names the /proc/self/ns entry of a spec namespace type.
func kernelNS(t string) string {
	switch t {
	case "network":
		return "net"
	case "mount":
		return "mnt"
	}
	return t
}

func evalNamespaces(f Facts) Result {
	b := f.Bundle
	r := Result{Name: NameNamespaces, Status: OK}
	var names, problems []string
	for _, ns := range b.Namespaces {
		name := ns.Type
		if ns.Path != "" {
			name += " (join " + ns.Path + ")"
		}
		names = append(names, name)
		switch {
		case f.KernelNS != nil && !f.KernelNS[kernelNS(ns.Type)]:
			problems = append(problems, "the kernel has no "+ns.Type+" namespaces")
		case ns.Path != "" && (ns.Type == "mount" || ns.Type == "time"):
			problems = append(problems, fmt.Sprintf("bwrap-oci cannot join an existing %s namespace (%s)", ns.Type, ns.Path))
		case ns.PathErr != "":
			problems = append(problems, ns.PathErr)
		}
	}
	if len(problems) > 0 {
		r.Status, r.Found = Fail, strings.Join(problems, "; ")
		return r
	}
	if len(names) == 0 {
		r.Found = "the config asks for no namespaces"
	} else {
		r.Found = strings.Join(names, ", ") + ": available"
	}
	if b.NewUserNS && !hasNS(b.Namespaces, "user") {
		r.Found += " (plus a user namespace: an unprivileged container always has one)"
	}
	return r
}

func hasNS(nss []Namespace, t string) bool {
	for _, n := range nss {
		if n.Type == t {
			return true
		}
	}
	return false
}

func evalSmoke(f Facts, others []Result) Result {
	s := f.Smoke
	r := Result{Name: NameSmoke, Status: OK}
	how := "its own uid and gid"
	if s.Helpers {
		how = "newuidmap/newgidmap"
	}
	if s.OK {
		r.Found = fmt.Sprintf("bwrap started a user namespace with %d uids and %d gids mapped by %s (%s)", s.UIDs, s.GIDs, how, roundMS(s.Duration))
		return r
	}
	r.Status = Fail
	r.Found = "bwrap could not start a user namespace with " + how + ": " + s.Err
	for _, o := range others {
		if o.Status == Fail && o.Name != NameConfig && o.Name != NameConfigIDs && o.Name != NameNamespaces && o.Name != NameCgroup {
			r.Found += " (see " + o.Name + ")"
			r.Fix = o.Fix
			break
		}
	}
	return r
}

// ---------------------------------------------------------------------------
// Fixes for subordinate ids.

// span is the half-open id interval [start, end).
type span struct{ start, end uint64 }

func (s span) overlaps(o span) bool { return s.start < o.end && o.start < s.end }

func rangeSpan(r idmap.Range) span {
	return span{uint64(r.Start), uint64(r.Start) + uint64(r.Length)}
}

// subChange is what to remove from and add to one file.
type subChange struct {
	kind     string // "uid" or "gid"
	del, add []span
}

// subIDCmd is the command making the changes, or "" if there are none.
func subIDCmd(u User, cs []subChange) string {
	var args []string
	hasAdd := false
	for _, c := range cs {
		for _, d := range c.del {
			args = append(args, "--del-sub"+c.kind+"s", spanText(d.start, d.end))
		}
		for _, a := range c.add {
			args = append(args, "--add-sub"+c.kind+"s", spanText(a.start, a.end))
			hasAdd = true
		}
	}
	if !hasAdd {
		return ""
	}
	if u.Name != "" {
		return "sudo usermod " + strings.Join(args, " ") + " " + shellQuote(u.Name)
	}
	// No login name for usermod: append lines by uid (only additions).
	var cmds []string
	for _, c := range cs {
		if len(c.del) > 0 {
			return ""
		}
		for _, a := range c.add {
			cmds = append(cmds, fmt.Sprintf("echo %d:%d:%d | sudo tee -a /etc/sub%s", u.UID, a.start, a.end-a.start, c.kind))
		}
	}
	return strings.Join(cmds, " && ")
}

// coverChange works out how the caller gets, for each span in need, one
// subordinate range holding it entirely (idmap.Check wants each mapping
// inside one range): the caller's ranges overlapping what is needed are
// replaced by one range covering both. ok is false when that range would
// take ids that another user owns.
func coverChange(kind string, need []span, mine []idmap.Range, all []Entry, u User) (subChange, bool) {
	c := subChange{kind: kind}
	if len(need) == 0 {
		return c, true
	}
	set := append([]span(nil), need...)
	absorbed := make([]bool, len(mine))
	for changed := true; changed; {
		changed = false
		for i, r := range mine {
			if absorbed[i] {
				continue
			}
			rs := rangeSpan(r)
			for _, s := range set {
				if rs.overlaps(s) {
					absorbed[i], changed = true, true
					set = append(set, rs)
					c.del = append(c.del, rs)
					break
				}
			}
		}
		set = mergeSpans(set)
	}
	uid := strconv.FormatUint(uint64(u.UID), 10)
	for _, s := range set {
		if s.end > math.MaxUint32 {
			return c, false
		}
		for _, e := range all {
			if e.Owner == u.Name || e.Owner == uid {
				continue
			}
			if s.overlaps(span{uint64(e.Start), uint64(e.Start) + uint64(e.Length)}) {
				return c, false
			}
		}
	}
	sort.Slice(c.del, func(i, j int) bool { return c.del[i].start < c.del[j].start })
	c.add = set
	return c, true
}

func mergeSpans(ss []span) []span {
	sort.Slice(ss, func(i, j int) bool { return ss[i].start < ss[j].start })
	var out []span
	for _, s := range ss {
		if n := len(out); n > 0 && s.start < out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// uncovered lists the config's mappings whose host ids lie neither in the
// caller's own id nor inside one of its subordinate ranges.
func uncovered(ms []idmap.Mapping, own uint32, mine []idmap.Range) []span {
	var out []span
	for _, m := range ms {
		s := span{uint64(m.HostID), uint64(m.HostID) + uint64(m.Size)}
		if s.start == uint64(own) && s.end == uint64(own)+1 {
			continue
		}
		inside := false
		for _, r := range mine {
			rs := rangeSpan(r)
			if s.start >= rs.start && s.end <= rs.end {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, s)
		}
	}
	return out
}

// configIDFix is the command giving the caller the subordinate ids the
// bundle's config maps, or "" when the problem is the config itself (or the
// ids belong to someone else).
func configIDFix(f Facts) string {
	b := f.Bundle
	// Without mappings in the config, the rule maps whatever the caller
	// has: only the config's own mappings can ask for more.
	var cs []subChange
	for _, k := range []struct {
		kind string
		conf []idmap.Mapping
		own  uint32
		sub  SubIDs
	}{
		{"uid", b.ConfUIDs, f.User.UID, f.SubUID},
		{"gid", b.ConfGIDs, f.User.GID, f.SubGID},
	} {
		c, ok := coverChange(k.kind, uncovered(k.conf, k.own, k.sub.Ranges), k.sub.Ranges, k.sub.All, f.User)
		if !ok {
			return ""
		}
		cs = append(cs, c)
	}
	return subIDCmd(f.User, cs)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func roundMS(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
}
