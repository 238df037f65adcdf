package spec_test

// A table of malformed and hostile configs run through the whole pure
// pipeline (Parse, Validate, bwrap.Translate, Features.Check): each must be
// refused with a one-line *spec.Error naming the file and the JSON path of
// the field at fault, and nothing may panic. Mappings outside the caller's
// subordinate ranges are checked by container.Mappings: see
// internal/container/hostile_test.go. A subset runs through the real binary
// in e2e/hostile_test.go.

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
)

// hostileHost is a fixed fake host: the bundle, its rootfs with /bin/sh,
// and the usual device nodes.
type hostileHost struct{}

func (hostileHost) Kind(p string) bwrap.Kind {
	switch path.Clean(p) {
	case "/", "/bundle", "/bundle/rootfs", "/bundle/rootfs/bin", "/bundle/data", "/proc", "/sys", "/dev", "/sys/fs/cgroup", "/bundle/rootfs/proc":
		return bwrap.Dir
	case "/bundle/rootfs/bin/sh", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty":
		return bwrap.File
	}
	return bwrap.Missing
}

func (hostileHost) InRoot(root, p string) (string, error) {
	return path.Join(root, path.Clean("/"+p)), nil
}

func (hostileHost) Device(p, typ string, major, minor int64) bool { return false }

func hostileFeatures() bwrap.Features {
	f := bwrap.Features{Version: "0.8.0", Options: map[string]bool{}, LastCap: 40}
	for _, o := range []string{"--userns-block-fd", "--info-fd", "--json-status-fd", "--as-pid-1", "--args", "--cap-add",
		"--cap-drop", "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup",
		"--uid", "--gid", "--hostname", "--clearenv", "--setenv", "--bind", "--ro-bind", "--dev-bind", "--remount-ro",
		"--tmpfs", "--size", "--perms", "--proc", "--dev", "--mqueue", "--chdir", "--new-session", "--seccomp"} {
		f.Options[o] = true
	}
	return f
}

// pipeline runs data through everything bwrap-oci does to a config before
// it touches the host. root selects the caller: root (mapping every id to
// itself) or uid 1000 with its own id and a subordinate range.
func pipeline(data []byte, root bool) (err error) {
	c, err := spec.Parse("config.json", data)
	if err != nil {
		return err
	}
	if err := spec.Validate(c); err != nil {
		return err
	}
	in := bwrap.Input{
		Config: c, Bundle: "/bundle", Rootfs: spec.RootfsPath("/bundle", c.Spec),
		UID: 1000, GID: 1000,
		UIDMap: []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
		GIDMap: []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
		Host:   hostileHost{}, Features: hostileFeatures(),
	}
	if root {
		ident := []idmap.Mapping{{ContainerID: 0, HostID: 0, Size: idmap.MaxID + 1}}
		in.Root, in.HostRoot, in.UID, in.GID, in.UIDMap, in.GIDMap = true, true, 0, 0, ident, ident
	}
	p, err := bwrap.Translate(in)
	if err != nil {
		return err
	}
	return in.Features.Check(p)
}

// fieldOf is the JSON path an error names: its Field, or else the path
// that starts its message (the seccomp compiler reports "linux.seccomp...:
// msg" as the message of a whole-file error).
var leadingPath = regexp.MustCompile(`^((?:ociVersion|process|root|mounts|linux|hostname|hooks|annotations)[\w.\[\]]*): `)

func fieldOf(e *spec.Error) string {
	if e.Field != "" {
		return e.Field
	}
	if m := leadingPath.FindStringSubmatch(e.Msg); m != nil {
		return m[1]
	}
	return ""
}

// hostileBase is a valid rootless config as a generic JSON value.
func hostileBase() map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(`{
		"ociVersion": "1.2.0",
		"process": {
			"args": ["sh", "-c", "true"], "cwd": "/", "env": ["PATH=/bin"],
			"user": {"uid": 0, "gid": 0},
			"capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
			"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}],
			"noNewPrivileges": true
		},
		"root": {"path": "rootfs"},
		"hostname": "h",
		"mounts": [
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
			{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}
		],
		"linux": {
			"namespaces": [{"type": "user"}, {"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}],
			"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
			"gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
			"maskedPaths": ["/proc/kcore"],
			"readonlyPaths": ["/proc/sys"]
		}
	}`), &m); err != nil {
		panic(err)
	}
	return m
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

func proc(m map[string]any) map[string]any  { return obj(m, "process") }
func linux(m map[string]any) map[string]any { return obj(m, "linux") }

func addMount(m map[string]any, mount map[string]any) {
	m["mounts"] = append(m["mounts"].([]any), mount)
}

// nested returns depth arrays around a number.
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// hostileCase is one hostile config: either raw JSON or a change to
// hostileBase. field is the JSON path the error must name ("" for a
// whole-file problem, then msg must match).
type hostileCase struct {
	name  string
	raw   string
	mut   func(m map[string]any)
	root  bool   // run as root (identity maps) instead of uid 1000
	field string // exact JSON path named by the error
	msg   string // regexp the message must match (optional)
}

// hostileCases are shared with the e2e table (by name, see
// e2e/hostile_test.go, which keeps its own copies of the configs).
func hostileCases() []hostileCase {
	const mounts = 3 // hostileBase has three mounts: a new one is mounts[3]
	return []hostileCase{
		// --- wrong types
		{name: "args is a string", mut: func(m map[string]any) { proc(m)["args"] = "sh" }, field: "process.args", msg: "array of strings"},
		{name: "args element is a number", mut: func(m map[string]any) { proc(m)["args"] = []any{"sh", 7} }, field: "process.args", msg: "string"},
		{name: "uid is a string", mut: func(m map[string]any) { obj(proc(m), "user")["uid"] = "0" }, field: "process.user.uid", msg: "integer"},
		{name: "terminal is a string", mut: func(m map[string]any) { proc(m)["terminal"] = "yes" }, field: "process.terminal", msg: "true or false"},
		{name: "mounts is an object", mut: func(m map[string]any) { m["mounts"] = map[string]any{"destination": "/x"} }, field: "mounts", msg: "array"},
		{name: "namespaces is a string", mut: func(m map[string]any) { linux(m)["namespaces"] = "pid" }, field: "linux.namespaces", msg: "array"},
		{name: "env is an object", mut: func(m map[string]any) { proc(m)["env"] = map[string]any{"PATH": "/bin"} }, field: "process.env", msg: "array"},
		{name: "root is an array", mut: func(m map[string]any) { m["root"] = []any{"rootfs"} }, field: "root", msg: "object"},
		{name: "annotation value is a number", mut: func(m map[string]any) { m["annotations"] = map[string]any{"a": 1} }, field: "annotations", msg: "string"},
		{name: "mapping size is a string", mut: func(m map[string]any) {
			linux(m)["uidMappings"] = []any{map[string]any{"containerID": 0, "hostID": 1000, "size": "1"}}
		}, field: "linux.uidMappings.size", msg: "integer"},
		{name: "process is null", mut: func(m map[string]any) { m["process"] = nil }, field: "process", msg: "missing"},

		// --- huge values
		{name: "uid above 32 bits", raw: `{"process": {"args": ["sh"], "cwd": "/", "user": {"uid": 4294967296}}, "root": {"path": "rootfs"}}`, field: "process.user.uid", msg: `uint32`},
		{name: "uid 1e40", raw: `{"process": {"args": ["sh"], "cwd": "/", "user": {"uid": 1e40}}, "root": {"path": "rootfs"}}`, field: "process.user.uid"},
		{name: "uid 2^32-1 (the invalid id -1) as root", root: true, mut: func(m map[string]any) {
			obj(proc(m), "user")["uid"] = 4294967295
			delete(linux(m), "uidMappings")
			delete(linux(m), "gidMappings")
			linux(m)["namespaces"] = []any{map[string]any{"type": "pid"}, map[string]any{"type": "mount"}, map[string]any{"type": "uts"}}
		}, field: "process.user.uid"},
		{name: "mapping size above 32 bits", mut: func(m map[string]any) {
			linux(m)["uidMappings"] = []any{map[string]any{"containerID": 0, "hostID": 1000, "size": 99999999999}}
		}, field: "linux.uidMappings.size", msg: "uint32"},
		{name: "rlimit above 64 bits", raw: `{"process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 18446744073709551616}]}, "root": {"path": "rootfs"}}`, field: "process.rlimits.hard", msg: "uint64"},
		{name: "oomScoreAdj 5000", mut: func(m map[string]any) { proc(m)["oomScoreAdj"] = 5000 }, field: "process.oomScoreAdj", msg: "-1000..1000"},
		{name: "umask 07777", mut: func(m map[string]any) { obj(proc(m), "user")["umask"] = 0o7777 }, field: "process.user.umask"},
		{name: "tmpfs size=2^64k", mut: func(m map[string]any) {
			addMount(m, map[string]any{"destination": "/big", "type": "tmpfs", "options": []any{"size=18446744073709551615k"}})
		}, field: fmt.Sprintf("mounts[%d].options", mounts), msg: "too large"},
		{name: "seccomp errnoRet 2^31", mut: func(m map[string]any) {
			linux(m)["seccomp"] = map[string]any{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []any{
				map[string]any{"names": []any{"mkdir"}, "action": "SCMP_ACT_ERRNO", "errnoRet": 2147483648}}}
		}, field: "linux.seccomp.syscalls[0].errnoRet"},

		// --- negative sizes and zero
		{name: "mapping size -1", mut: func(m map[string]any) {
			linux(m)["uidMappings"] = []any{map[string]any{"containerID": 0, "hostID": 1000, "size": -1}}
		}, field: "linux.uidMappings.size", msg: "non-negative"},
		{name: "mapping size 0", mut: func(m map[string]any) {
			linux(m)["gidMappings"] = []any{map[string]any{"containerID": 0, "hostID": 1000, "size": 0}}
		}, field: "linux.gidMappings[0].size"},
		{name: "tmpfs size=-1k", mut: func(m map[string]any) {
			addMount(m, map[string]any{"destination": "/neg", "type": "tmpfs", "options": []any{"size=-1k"}})
		}, field: fmt.Sprintf("mounts[%d].options", mounts), msg: "size"},
		{name: "rlimit soft -5", mut: func(m map[string]any) {
			proc(m)["rlimits"] = []any{map[string]any{"type": "RLIMIT_NOFILE", "soft": -5, "hard": 10}}
		}, field: "process.rlimits.soft", msg: "non-negative"},
		{name: "consoleSize height -1", mut: func(m map[string]any) {
			proc(m)["consoleSize"] = map[string]any{"height": -1, "width": 80}
		}, field: "process.consoleSize.height"},

		// --- absurd rlimits
		{name: "unknown rlimit", mut: func(m map[string]any) {
			proc(m)["rlimits"] = []any{map[string]any{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}}
		}, field: "process.rlimits[0].type", msg: "RLIMIT_BOGUS"},
		{name: "rlimit soft above hard", mut: func(m map[string]any) {
			proc(m)["rlimits"] = []any{map[string]any{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 1024}}
		}, field: "process.rlimits[0]", msg: "above the hard limit"},
		{name: "rlimit given twice", mut: func(m map[string]any) {
			proc(m)["rlimits"] = []any{map[string]any{"type": "RLIMIT_NPROC", "soft": 1, "hard": 1}, map[string]any{"type": "RLIMIT_NPROC", "soft": 2, "hard": 2}}
		}, field: "process.rlimits[1].type", msg: "twice"},
		{name: "rlimit type in lower case", mut: func(m map[string]any) {
			proc(m)["rlimits"] = []any{map[string]any{"type": "rlimit_nofile", "soft": 1, "hard": 1}}
		}, field: "process.rlimits[0].type"},

		// --- capabilities
		{name: "unknown capability", mut: func(m map[string]any) { obj(proc(m), "capabilities")["bounding"] = []any{"CAP_KILL", "CAP_BOGUS"} }, field: "process.capabilities.bounding[1]", msg: "CAP_BOGUS"},
		{name: "capability in lower case", mut: func(m map[string]any) { obj(proc(m), "capabilities")["effective"] = []any{"cap_kill"} }, field: "process.capabilities.effective[0]"},
		{name: "capability without CAP_", mut: func(m map[string]any) { obj(proc(m), "capabilities")["ambient"] = []any{"KILL"} }, field: "process.capabilities.ambient[0]"},
		{name: "empty capability", mut: func(m map[string]any) { obj(proc(m), "capabilities")["permitted"] = []any{""} }, field: "process.capabilities.permitted[0]"},

		// --- namespaces
		{name: "pid namespace twice", mut: func(m map[string]any) {
			linux(m)["namespaces"] = append(linux(m)["namespaces"].([]any), map[string]any{"type": "pid"})
		}, field: "linux.namespaces[5].type", msg: "twice"},
		{name: "unknown namespace", mut: func(m map[string]any) {
			linux(m)["namespaces"] = append(linux(m)["namespaces"].([]any), map[string]any{"type": "pidx"})
		}, field: "linux.namespaces[5].type", msg: "unknown"},
		{name: "relative namespace path", mut: func(m map[string]any) {
			linux(m)["namespaces"] = append(linux(m)["namespaces"].([]any), map[string]any{"type": "network", "path": "proc/1/ns/net"})
		}, field: "linux.namespaces[5].path"},
		{name: "join a mount namespace", mut: func(m map[string]any) {
			linux(m)["namespaces"].([]any)[2] = map[string]any{"type": "mount", "path": "/proc/1/ns/mnt"}
		}, field: "linux.namespaces[2].path", msg: "mount namespace"},
		{name: "hostname without uts namespace", mut: func(m map[string]any) {
			linux(m)["namespaces"] = linux(m)["namespaces"].([]any)[:3]
		}, field: "hostname", msg: "uts"},

		// --- mounts on / and bad destinations
		{name: "mount on /", mut: func(m map[string]any) { addMount(m, map[string]any{"destination": "/", "type": "tmpfs"}) }, field: fmt.Sprintf("mounts[%d].destination", mounts)},
		{name: "mount on /a/..", mut: func(m map[string]any) {
			addMount(m, map[string]any{"destination": "/a/..", "type": "bind", "source": "/bundle/data"})
		}, field: fmt.Sprintf("mounts[%d].destination", mounts)},
		{name: "mount on //", mut: func(m map[string]any) { addMount(m, map[string]any{"destination": "//", "type": "tmpfs"}) }, field: fmt.Sprintf("mounts[%d].destination", mounts)},
		{name: "relative mount destination", mut: func(m map[string]any) { addMount(m, map[string]any{"destination": "data", "type": "tmpfs"}) }, field: fmt.Sprintf("mounts[%d].destination", mounts)},
		{name: "empty mount destination", mut: func(m map[string]any) { addMount(m, map[string]any{"destination": "", "type": "tmpfs"}) }, field: fmt.Sprintf("mounts[%d].destination", mounts)},
		{name: "bind without source", mut: func(m map[string]any) { addMount(m, map[string]any{"destination": "/data", "type": "bind"}) }, field: fmt.Sprintf("mounts[%d].source", mounts)},
		{name: "bind of a missing source", mut: func(m map[string]any) {
			addMount(m, map[string]any{"destination": "/data", "type": "bind", "source": "/no/such/dir"})
		}, field: fmt.Sprintf("mounts[%d].source", mounts), msg: "does not exist"},
		{name: "tmpfs mode=99999", mut: func(m map[string]any) {
			addMount(m, map[string]any{"destination": "/m", "type": "tmpfs", "options": []any{"mode=99999"}})
		}, field: fmt.Sprintf("mounts[%d].options", mounts), msg: "mode"},
		{name: "tmpfs size=abc", mut: func(m map[string]any) {
			addMount(m, map[string]any{"destination": "/m", "type": "tmpfs", "options": []any{"size=abc"}})
		}, field: fmt.Sprintf("mounts[%d].options", mounts)},
		{name: "masked /", mut: func(m map[string]any) { linux(m)["maskedPaths"] = []any{"/proc/kcore", "/"} }, field: "linux.maskedPaths[1]"},
		{name: "relative readonly path", mut: func(m map[string]any) { linux(m)["readonlyPaths"] = []any{"proc/sys"} }, field: "linux.readonlyPaths[0]"},
		{name: "relative device path", mut: func(m map[string]any) {
			linux(m)["devices"] = []any{map[string]any{"path": "dev/fuse", "type": "c", "major": 10, "minor": 229}}
		}, field: "linux.devices[0].path"},
		{name: "unknown device type", mut: func(m map[string]any) {
			linux(m)["devices"] = []any{map[string]any{"path": "/dev/x", "type": "z", "major": 1, "minor": 1}}
		}, field: "linux.devices[0].type"},

		// --- NUL bytes in strings
		{name: "NUL in args", mut: func(m map[string]any) { proc(m)["args"] = []any{"sh", "-c", "true\x00; rm -rf /"} }, field: "process.args[2]", msg: "NUL"},
		{name: "NUL in env", mut: func(m map[string]any) { proc(m)["env"] = []any{"PATH=/bin\x00:/evil"} }, field: "process.env[0]", msg: "NUL"},
		{name: "NUL in cwd", mut: func(m map[string]any) { proc(m)["cwd"] = "/tmp\x00/x" }, field: "process.cwd", msg: "NUL"},
		{name: "NUL in root.path", mut: func(m map[string]any) { obj(m, "root")["path"] = "rootfs\x00/../../" }, field: "root.path", msg: "NUL"},
		{name: "NUL in hostname", mut: func(m map[string]any) { m["hostname"] = "h\x00x" }, field: "hostname", msg: "NUL"},
		{name: "NUL in mount source", mut: func(m map[string]any) {
			addMount(m, map[string]any{"destination": "/data", "type": "bind", "source": "/bundle/data\x00/etc"})
		}, field: fmt.Sprintf("mounts[%d]", mounts), msg: "NUL"},
		{name: "NUL in masked path", mut: func(m map[string]any) { linux(m)["maskedPaths"] = []any{"/proc/kcore\x00"} }, field: "linux.maskedPaths[0]", msg: "NUL"},
		{name: "NUL in a namespace path", mut: func(m map[string]any) {
			linux(m)["namespaces"] = append(linux(m)["namespaces"].([]any), map[string]any{"type": "network", "path": "/proc/1/ns/net\x00x"})
		}, field: "linux.namespaces[5].path", msg: "NUL"},
		{name: "NUL in a sysctl name", mut: func(m map[string]any) { linux(m)["sysctl"] = map[string]any{"net.ipv4.ip_forward\x00": "1"} }, field: "linux.sysctl"},

		{name: "NUL in a mount option", mut: func(m map[string]any) {
			addMount(m, map[string]any{"destination": "/o", "type": "tmpfs", "options": []any{"nosuid\x00,dev"}})
		}, field: fmt.Sprintf("mounts[%d]", mounts), msg: "NUL"},

		// --- other malformed processes and environments
		{name: "env without =", mut: func(m map[string]any) { proc(m)["env"] = []any{"PATH=/bin", "JUNK"} }, field: "process.env[1]", msg: "KEY=VALUE"},
		{name: "env with empty key", mut: func(m map[string]any) { proc(m)["env"] = []any{"=x"} }, field: "process.env[0]"},
		{name: "empty args[0]", mut: func(m map[string]any) { proc(m)["args"] = []any{""} }, field: "process.args[0]"},
		{name: "relative cwd", mut: func(m map[string]any) { proc(m)["cwd"] = "tmp" }, field: "process.cwd"},
		{name: "no root", mut: func(m map[string]any) { delete(m, "root") }, field: "root.path"},
		{name: "10 MB args list", mut: func(m map[string]any) {
			args := make([]any, 0, 100_001)
			args = append(args, "sh")
			for i := 0; i < 100_000; i++ {
				args = append(args, strings.Repeat("x", 100))
			}
			proc(m)["args"] = args
		}, field: "process.args"},
		{name: "10 MB env", mut: func(m map[string]any) {
			proc(m)["env"] = []any{"BIG=" + strings.Repeat("y", 10<<20)}
		}, field: "process.env[0]"},

		// --- unicode junk
		{name: "ociVersion 2", mut: func(m map[string]any) { m["ociVersion"] = "2.0.0" }, field: "ociVersion"},
		{name: "ociVersion with RTL override", mut: func(m map[string]any) { m["ociVersion"] = "\u202e1.0.2" }, field: "ociVersion"},
		{name: "namespace with zero-width space", mut: func(m map[string]any) {
			linux(m)["namespaces"].([]any)[1] = map[string]any{"type": "pid\u200b"}
		}, field: "linux.namespaces[1].type"},
		{name: "capability with dotted I", mut: func(m map[string]any) { obj(proc(m), "capabilities")["bounding"] = []any{"CAP_K\u0130LL"} }, field: "process.capabilities.bounding[0]"},
		{name: "seccomp unknown action", mut: func(m map[string]any) {
			linux(m)["seccomp"] = map[string]any{"defaultAction": "SCMP_ACT_ALL\u00d6W"}
		}, field: "linux.seccomp.defaultAction"},

		// --- whole-file problems: no field, a position
		{name: "byte order mark", raw: "\ufeff{}", msg: `line 1, column 1: invalid JSON`},
		{name: "deeply nested JSON", raw: `{"annotations": {"a": ` + nested(20000) + `}}`, msg: `line 1, column \d+: invalid JSON: .*depth`},
		{name: "truncated", raw: `{"process": {"args": ["sh"`, msg: `unexpected end of file`},
		{name: "top-level array", raw: `[{"process": {}}]`, msg: `top level must be a JSON object`},
		{name: "invalid UTF-8 outside strings", raw: "{\"process\": \xff}", msg: `line 1, column 13: invalid JSON`},
		{name: "NaN", raw: `{"process": {"oomScoreAdj": NaN}}`, msg: `invalid JSON`},
	}
}

func (c hostileCase) data(t testing.TB) []byte {
	if c.raw != "" {
		return []byte(c.raw)
	}
	m := hostileBase()
	c.mut(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	return data
}

func TestHostileBaseIsValid(t *testing.T) {
	for _, root := range []bool{false, true} {
		if err := pipeline(hostileCase{mut: func(map[string]any) {}}.data(t), root); err != nil {
			t.Fatalf("root=%v: the base config is refused: %v", root, err)
		}
	}
}

// TestHostileConfigs: each hostile config is refused by the pure pipeline
// with a one-line error naming config.json and the field.
func TestHostileConfigs(t *testing.T) {
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("case %q twice", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			data := c.data(t)
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				err = pipeline(data, c.root)
			}()
			if err == nil {
				t.Fatalf("accepted; want an error naming %q", c.field)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error spans lines: %q", msg)
			}
			if len(msg) > 1000 {
				t.Errorf("error is %d bytes long (it should quote a value in short): %.200q...", len(msg), msg)
			}
			var e *spec.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %q is %T, not a *spec.Error", msg, err)
			}
			if e.File != "config.json" {
				t.Errorf("error %q names file %q, want config.json", msg, e.File)
			}
			if got := fieldOf(e); got != c.field {
				t.Errorf("error %q names field %q, want %q", shorten(msg), got, c.field)
			}
			if c.msg != "" && !regexp.MustCompile(c.msg).MatchString(e.Msg) {
				t.Errorf("message %q does not match %q", shorten(e.Msg), c.msg)
			}
		})
	}
}

// TestHostileNoPanic: configs that are odd but may be accepted (or refused)
// never panic, and a refusal is a one-line *spec.Error.
func TestHostileNoPanic(t *testing.T) {
	inputs := []string{
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "x-ext": ` + nested(5000) + `}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "process": {"args": ["x"], "cwd": "/x"}}`,
		"{\"process\": {\"args\": [\"\xff\xfe\"], \"cwd\": \"/\"}, \"root\": {\"path\": \"rootfs\"}, \"hostname\": \"\xc0\xaf\"}",
		`{"process": {"args": ["sh"], "cwd": "/", "user": {"additionalGids": [4294967295, 0, 0, 0]}}, "root": {"path": "rootfs"}}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "mounts": [{"destination": "/a/../../../../x", "type": "bind", "source": "../../.."}]}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "linux": {"uidMappings": [{"containerID": 4294967295, "hostID": 4294967295, "size": 4294967295}]}}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL", "args": [{"index": 18446744073709551615, "value": 1, "op": "SCMP_CMP_EQ"}]}]}}}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "mounts": [` + strings.Repeat(`{"destination": "/t", "type": "tmpfs", "options": ["size=1k", "mode=1777"]},`, 2000) + `{"destination": "/u", "type": "tmpfs"}]}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "linux": {"maskedPaths": ["/proc/../../../..", "/\u2028"], "readonlyPaths": ["/..", "/proc/self/fd/3"]}}`,
		`{"process": {"args": ["sh"], "cwd": "/", "capabilities": {"bounding": [` + strings.Repeat(`"CAP_SYS_ADMIN",`, 5000) + `"CAP_KILL"]}}, "root": {"path": "rootfs"}}`,
	}
	for i, in := range inputs {
		for _, root := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/root=%v", i, root), func(t *testing.T) {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic on %.200q: %v", in, r)
					}
				}()
				err := pipeline([]byte(in), root)
				if err == nil {
					return
				}
				var e *spec.Error
				if !errors.As(err, &e) || strings.ContainsAny(err.Error(), "\n\r") {
					t.Errorf("refusal %q (%T) is not a one-line *spec.Error", shorten(err.Error()), err)
				}
			})
		}
	}
}

func shorten(s string) string {
	if len(s) <= 300 {
		return s
	}
	return s[:150] + "..." + s[len(s)-150:]
}
