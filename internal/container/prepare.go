// Package container is the imperative shell of bwrap-oci: it reads the
// bundle, asks the pure translator for a plan, and runs bwrap, newuidmap and
// the state files around it.
package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/check"
	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/keeper"
	"github.com/bwrap-oci/bwrap-oci/internal/passwd"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Runtime holds the global settings of one invocation.
type Runtime struct {
	Root   string // state root
	Bwrap  string // bwrap binary as given (name or path)
	Strict bool
	Warn   func(msg string)
	// NoKeeper makes bwrap create every user namespace, mapped by
	// newuidmap and newgidmap, instead of taking it from a keeper
	// (internal/keeper); KeeperIdle is a new keeper's idle time.
	NoKeeper   bool
	KeeperIdle time.Duration
	// Early is set when Prepare is for a foreground run with these
	// options: a running keeper is then asked for the container's user
	// namespace as soon as the maps are known, and bwrap is started as
	// soon as it is known what it gets (see early), while the rest is
	// prepared. The Prepared must then be run.
	Early *RunOptions

	configs map[string]*specs.Spec // created configs loaded (createdConfig)
}

// Prepared is a bundle translated into a plan, ready to run.
type Prepared struct {
	Bundle   string
	Rootfs   string
	Config   *spec.Config
	Data     []byte // the config file as read: the container keeps it (freezeConfig)
	Plan     *bwrap.Plan
	BwrapBin string
	Features bwrap.Features

	asked chan kept // the keeper's answer and an early bwrap (Runtime.Early)
}

// Caller is who runs bwrap-oci.
type Caller struct {
	UID, GID uint32
	Name     string
	Root     bool
}

// CurrentCaller describes this process's user.
func CurrentCaller() Caller {
	c := Caller{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Root: os.Geteuid() == 0}
	c.Name = userName(c.UID)
	return c
}

// userName finds the login name for uid in /etc/passwd.
func userName(uid uint32) string {
	if e, ok := passwd.Lookup(uid); ok {
		return e.Name
	}
	return ""
}

// Prepare loads, validates and translates the bundle's config. A failure
// that the host's set-up explains carries the diagnosis of `bwrap-oci
// check` and its fix.
func (rt *Runtime) Prepare(bundle, configFile string) (*Prepared, error) {
	p, err := rt.prepare(bundle, configFile)
	return p, check.Explain(err, check.Options{Bwrap: rt.Bwrap, Root: rt.Root})
}

func (rt *Runtime) prepare(bundle, configFile string) (p *Prepared, err error) {
	trace("prepare")
	defer trace("prepared")
	var asked chan kept
	defer func() {
		if err != nil && asked != nil {
			(<-asked).drop()
		}
	}()
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, &spec.Error{File: abs, Msg: "bundle directory does not exist"}
	}
	if !fi.IsDir() {
		return nil, &spec.Error{File: abs, Msg: "bundle is not a directory"}
	}
	if configFile == "" {
		configFile = filepath.Join(abs, "config.json")
	} else if configFile, err = filepath.Abs(configFile); err != nil {
		return nil, err
	}
	data, err := spec.ReadFile(configFile)
	if err != nil {
		return nil, err
	}
	cfg, err := spec.Parse(configFile, data)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(cfg); err != nil {
		return nil, err
	}
	trace("loaded+validated")
	s := cfg.Spec
	rootfs := spec.RootfsPath(abs, s)
	if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return nil, &spec.Error{File: configFile, Field: "root.path", Msg: fmt.Sprintf("directory %s does not exist", rootfs)}
	}
	if rootfs, err = filepath.EvalSymlinks(rootfs); err != nil {
		return nil, &spec.Error{File: configFile, Field: "root.path", Msg: err.Error()}
	}
	caller := CurrentCaller()
	askKeeper, umask := false, 0
	if rt.Early != nil {
		umask = currentUmask() // before any goroutine creates a file
	}
	trace("caller")
	in := bwrap.Input{Config: cfg, Bundle: abs, Rootfs: rootfs, UID: caller.UID, GID: caller.GID, Root: caller.Root, Host: bwrap.RealHost{}}
	in.HostRoot = caller.Root && isInitialUserNS()
	switch userNS, ok := spec.Namespace(s, specs.UserNamespace); {
	case ok && userNS.Path != "":
	case !ok && caller.Root:
		if in.UIDMap, in.GIDMap, err = identityMaps(); err != nil {
			return nil, err
		}
	default:
		var warn string
		in.UIDMap, in.GIDMap, warn, err = Mappings(caller, s, "/etc/subuid", "/etc/subgid")
		if err != nil {
			return nil, &spec.Error{File: configFile, Msg: err.Error()}
		}
		if warn != "" {
			rt.warn(warn)
		}
		askKeeper = rt.Early != nil && !rt.NoKeeper && rt.Root != "" && !caller.Root &&
			(idmap.NeedsHelper(in.UIDMap, caller.UID) || idmap.NeedsHelper(in.GIDMap, caller.GID))
	}
	bin, err := bwrap.Find(rt.Bwrap)
	trace("mappings")
	if err != nil {
		return nil, err
	}
	if startBwrap := rt.Early != nil && earlyFits(s, rt.Early, umask); askKeeper || startBwrap {
		asked = make(chan kept, 1)
		go func(o keeper.Options, seccomp bool) {
			var k kept
			if askKeeper {
				if k.f, k.err = keeper.Ask(o); k.f == nil {
					asked <- k // create starts a keeper, then bwrap
					return
				}
			}
			if startBwrap {
				k.early, _ = startEarly(bin, s.Process.Args, *rt.Early, k.f, seccomp, umask)
			}
			asked <- k
		}(rt.keeperOptions(in.UIDMap, in.GIDMap), s.Linux != nil && s.Linux.Seccomp != nil)
	}
	// The probe's answer is cached in the state root, but only in one that
	// is the caller's own and private: a cache others can write is not
	// trusted (nor written).
	cache := ""
	if rt.Root != "" {
		var st unix.Stat_t
		if err := unix.Stat(rt.Root, &st); err == nil && int(st.Uid) == os.Geteuid() && st.Mode&0o022 == 0 {
			cache = filepath.Join(rt.Root, ".bwrap-features.json")
		}
	}
	feat, err := bwrap.Probe(bin, cache)
	if err != nil {
		return nil, err
	}
	in.Features = feat
	trace("probed")
	plan, err := bwrap.Translate(in)
	if err != nil {
		return nil, err
	}
	if err := feat.Check(plan); err != nil {
		return nil, err
	}
	trace("translated")
	for _, f := range plan.Findings {
		msg := configFile + ": " + f.String()
		if rt.Strict && !f.Unknown {
			return nil, errors.New(msg + " (an error with --strict)")
		}
		rt.warn(msg)
	}
	mounted := func(p string) bool {
		for _, m := range s.Mounts {
			if d := filepath.Clean(m.Destination); p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
	if err := lookPath(rootfs, s.Process.Cwd, s.Process.Args[0], s.Process.Env, configFile, mounted); err != nil {
		return nil, err
	}
	if err := checkRlimits(configFile, plan.Rlimits, caller.Root); err != nil {
		return nil, err
	}
	return &Prepared{Bundle: abs, Rootfs: rootfs, Config: cfg, Data: data, Plan: plan, BwrapBin: bin, Features: feat, asked: asked}, nil
}

func (rt *Runtime) warn(msg string) {
	if rt.Warn != nil {
		rt.Warn(msg)
	}
}

// Mappings decides the id mappings of a new user namespace: the config's,
// checked against what the caller may map, or the project's rule.
func Mappings(c Caller, s *specs.Spec, subuid, subgid string) (uids, gids []idmap.Mapping, warning string, err error) {
	u := s.Process.User
	conv := func(ms []specs.LinuxIDMapping) []idmap.Mapping {
		out := make([]idmap.Mapping, len(ms))
		for i, m := range ms {
			out[i] = idmap.Mapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}
		}
		return out
	}
	uidRanges, err := idmap.LookupSubID(subuid, c.Name, c.UID)
	if err != nil {
		return nil, nil, "", err
	}
	// /etc/subgid is keyed by user too: by name or by uid, as newgidmap reads it.
	gidRanges, err := idmap.LookupSubID(subgid, c.Name, c.UID)
	if err != nil {
		return nil, nil, "", err
	}
	var l specs.Linux
	if s.Linux != nil {
		l = *s.Linux
	}
	if len(l.UIDMappings) > 0 {
		uids = conv(l.UIDMappings)
		// Root may map any host ids, but the mappings must still be sound
		// (no overlaps, no wrap-around).
		own, ranges := c.UID, uidRanges
		if c.Root {
			ranges = []idmap.Range{{Start: 0, Length: idmap.MaxID + 1}}
		}
		if err := idmap.Check("linux.uidMappings", uids, own, ranges); err != nil {
			return nil, nil, "", err
		}
	}
	if len(l.GIDMappings) > 0 {
		gids = conv(l.GIDMappings)
		// Root may map any host ids, but the mappings must still be sound
		// (no overlaps, no wrap-around).
		own, ranges := c.GID, gidRanges
		if c.Root {
			ranges = []idmap.Range{{Start: 0, Length: idmap.MaxID + 1}}
		}
		if err := idmap.Check("linux.gidMappings", gids, own, ranges); err != nil {
			return nil, nil, "", err
		}
	}
	var missing []string
	if uids == nil {
		if len(uidRanges) > 0 {
			uids = idmap.Rule(u.UID, c.UID, uidRanges[0])
		} else {
			uids = idmap.Single(u.UID, c.UID)
			missing = append(missing, subuid)
		}
	}
	if gids == nil {
		if len(gidRanges) > 0 {
			gids = idmap.Rule(u.GID, c.GID, gidRanges[0])
		} else {
			gids = idmap.Single(u.GID, c.GID)
			missing = append(missing, subgid)
		}
	}
	if !idmap.Maps(uids, u.UID) {
		return nil, nil, "", fmt.Errorf("process.user.uid: %d is not mapped by linux.uidMappings", u.UID)
	}
	if !idmap.Maps(gids, u.GID) {
		return nil, nil, "", fmt.Errorf("process.user.gid: %d is not mapped by linux.gidMappings", u.GID)
	}
	if len(missing) > 0 {
		warning = fmt.Sprintf("no subordinate id range for %s in %v: only your own uid and gid are mapped into the container (add one with `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s`)", who(c), missing, who(c))
	}
	return uids, gids, warning, nil
}

func who(c Caller) string {
	if c.Name != "" {
		return c.Name
	}
	return strconv.FormatUint(uint64(c.UID), 10)
}

// checkRlimits refuses limits that cannot be set without privilege before
// anything is started.
func checkRlimits(file string, rl []bwrap.Rlimit, root bool) error {
	if root {
		return nil
	}
	for _, r := range rl {
		var cur unix.Rlimit
		if err := unix.Getrlimit(r.Resource, &cur); err != nil {
			continue
		}
		if r.Hard > cur.Max {
			return &spec.Error{File: file, Field: r.Field + ".hard", Msg: fmt.Sprintf("%d is above your own hard limit %d, which only a privileged user can raise", r.Hard, cur.Max)}
		}
	}
	return nil
}

// identityMaps maps every id of the caller's user namespace to itself.
func identityMaps() (uids, gids []idmap.Mapping, err error) {
	read := func(file string) ([]idmap.Mapping, error) {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		ms, err := idmap.Parse(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		var out []idmap.Mapping
		for _, m := range ms {
			n := uint64(m.Size)
			if uint64(m.ContainerID)+n > idmap.MaxID+1 {
				n = idmap.MaxID + 1 - uint64(m.ContainerID)
			}
			out = append(out, idmap.Mapping{ContainerID: m.ContainerID, HostID: m.ContainerID, Size: uint32(n)})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s maps no ids", file)
		}
		return out, nil
	}
	if uids, err = read("/proc/self/uid_map"); err != nil {
		return nil, nil, err
	}
	gids, err = read("/proc/self/gid_map")
	return uids, gids, err
}

// isInitialUserNS reports whether this process is in the host's user
// namespace (its uid_map is the full identity map).
func isInitialUserNS() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}
