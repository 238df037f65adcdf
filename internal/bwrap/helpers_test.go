package bwrap

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeHost answers Host's questions from maps.
type fakeHost struct {
	kinds   map[string]Kind   // host path -> kind; absent means Missing
	devices map[string]string // host path -> "c 1:3"
}

func (h fakeHost) Kind(p string) Kind { return h.kinds[filepath.Clean(p)] }

func (h fakeHost) InRoot(root, p string) (string, error) { return filepath.Join(root, p), nil }

func (h fakeHost) Device(p, typ string, major, minor int64) bool {
	return h.devices[p] == fmt.Sprintf("%s %d:%d", typ, major, minor)
}

const (
	testBundle = "/bundle"
	testRootfs = "/bundle/rootfs"
)

func newHost() fakeHost {
	h := fakeHost{kinds: map[string]Kind{}, devices: map[string]string{"/dev/fuse": "c 10:229", "/dev/null": "c 1:3"}}
	for _, d := range []string{
		testBundle, testRootfs, testRootfs + "/etc", testRootfs + "/usr", testBundle + "/data",
		"/proc", "/proc/acpi", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/scsi",
		"/sys", "/sys/fs/cgroup", "/sys/firmware", "/sys/devices/virtual/powercap", "/dev", "/home/u/src",
	} {
		h.kinds[d] = Dir
	}
	for _, f := range []string{
		testBundle + "/file.txt", testRootfs + "/etc/shadow",
		"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/sysrq-trigger",
		"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/fuse",
	} {
		h.kinds[f] = File
	}
	return h
}

// allOptions are bubblewrap 0.8.0's options with their argument counts.
var allOptions = map[string]int{
	"--unshare-user": 0, "--unshare-user-try": 0, "--unshare-ipc": 0, "--unshare-pid": 0, "--unshare-net": 0,
	"--unshare-uts": 0, "--unshare-cgroup": 0, "--unshare-cgroup-try": 0, "--unshare-all": 0, "--share-net": 0,
	"--as-pid-1": 0, "--clearenv": 0, "--new-session": 0, "--die-with-parent": 0, "--disable-userns": 0,
	"--assert-userns-disabled": 0,
	"--args":                   1, "--userns": 1, "--userns2": 1, "--pidns": 1, "--uid": 1, "--gid": 1, "--hostname": 1,
	"--chdir": 1, "--unsetenv": 1, "--lock-file": 1, "--sync-fd": 1, "--remount-ro": 1, "--exec-label": 1,
	"--file-label": 1, "--proc": 1, "--dev": 1, "--tmpfs": 1, "--mqueue": 1, "--dir": 1, "--seccomp": 1,
	"--add-seccomp-fd": 1, "--block-fd": 1, "--userns-block-fd": 1, "--info-fd": 1, "--json-status-fd": 1,
	"--cap-add": 1, "--cap-drop": 1, "--perms": 1, "--size": 1,
	"--setenv": 2, "--bind": 2, "--bind-try": 2, "--dev-bind": 2, "--dev-bind-try": 2, "--ro-bind": 2,
	"--ro-bind-try": 2, "--file": 2, "--bind-data": 2, "--ro-bind-data": 2,
	"--symlink": 2, "--chmod": 2, "--bind-fd": 2, "--ro-bind-fd": 2,
}

func allFeatures() Features {
	f := Features{Version: "0.8.0", Options: map[string]bool{}, LastCap: 40}
	for o := range allOptions {
		f.Options[o] = true
	}
	return f
}

// pairs parses a bwrap argument list into options with their arguments.
func pairs(args []string) ([]Opt, error) {
	var out []Opt
	for i := 0; i < len(args); {
		n, ok := allOptions[args[i]]
		if !ok {
			return nil, fmt.Errorf("argument %d: %q is not a bwrap option", i, args[i])
		}
		if i+1+n > len(args) {
			return nil, fmt.Errorf("option %s needs %d arguments", args[i], n)
		}
		out = append(out, Opt{Name: args[i], Args: append([]string{}, args[i+1:i+1+n]...)})
		i += 1 + n
	}
	return out, nil
}

var mountOps = map[string]bool{
	"--bind": true, "--ro-bind": true, "--dev-bind": true, "--tmpfs": true, "--proc": true,
	"--dev": true, "--mqueue": true, "--remount-ro": true,
}

// checkPlan asserts what must hold for every plan bwrap is to accept.
func checkPlan(t *testing.T, p *Plan) {
	t.Helper()
	got, err := pairs(p.Args())
	if err != nil {
		t.Fatalf("Args() does not parse: %v\n%q", err, p.Args())
	}
	norm := func(os []Opt) []Opt {
		out := make([]Opt, len(os))
		for i, o := range os {
			out[i] = Opt{Name: o.Name, Args: append([]string{}, o.Args...)}
		}
		return out
	}
	if !reflect.DeepEqual(got, norm(p.Opts)) {
		t.Errorf("Args() parses into\n  %v\nwant\n  %v", got, p.Opts)
	}
	firstMount, lastMount := -1, -1
	for i, o := range p.Opts {
		switch o.Name {
		case "--size", "--perms":
			// A modifier: the next non-modifier option must consume it.
			j := i + 1
			for j < len(p.Opts) && (p.Opts[j].Name == "--size" || p.Opts[j].Name == "--perms") {
				if p.Opts[j].Name == o.Name {
					t.Errorf("option %d: %s given twice for one operation", i, o.Name)
				}
				j++
			}
			if j == len(p.Opts) || p.Opts[j].Name != "--tmpfs" {
				t.Errorf("option %d: %s is not followed by --tmpfs", i, o.Name)
			}
		case "--setenv":
			if c := index(p, "--clearenv"); c < 0 || c > i {
				t.Errorf("--setenv %v at %d comes before --clearenv (%d)", o.Args, i, c)
			}
		case "--hostname":
			if !p.Has("--unshare-uts") {
				t.Errorf("--hostname without --unshare-uts")
			}
		case "--uid", "--gid":
			if !p.Has("--unshare-user") && p.Join["user"] == "" {
				t.Errorf("%s without a user namespace", o.Name)
			}
		case "--as-pid-1":
			if !p.Has("--unshare-pid") {
				t.Errorf("--as-pid-1 without --unshare-pid")
			}
		}
		if mountOps[o.Name] {
			if firstMount < 0 {
				firstMount = i
			}
			lastMount = i
		}
	}
	if firstMount >= 0 && !reflect.DeepEqual(p.Opts[firstMount], Opt{Name: "--bind", Args: []string{testRootfs, "/"}}) {
		t.Errorf("the first mount is %v, want --bind %s /", p.Opts[firstMount], testRootfs)
	}
	if i := index(p, "--remount-ro", "/"); i >= 0 && i != lastMount {
		t.Errorf("--remount-ro / at %d is not the last mount operation (%d: %v)", i, lastMount, p.Opts[lastMount])
	}
	for _, f := range p.Findings {
		if f.Field == "" || f.Msg == "" || strings.Contains(f.String(), "\n") {
			t.Errorf("malformed finding %+v", f)
		}
	}
}

// index returns the position of the first option name whose arguments start
// with args, or -1.
func index(p *Plan, name string, args ...string) int {
	for i, o := range p.Opts {
		if o.Name == name && len(o.Args) >= len(args) && slices.Equal(o.Args[:len(args)], args) {
			return i
		}
	}
	return -1
}

func fields(p *Plan) []string {
	var out []string
	for _, f := range p.Findings {
		out = append(out, f.Field)
	}
	return out
}

func finding(p *Plan, field string) (Finding, bool) {
	for _, f := range p.Findings {
		if f.Field == field {
			return f, true
		}
	}
	return Finding{}, false
}

// wantFindings asserts that the findings' fields are exactly want.
func wantFindings(t *testing.T, p *Plan, want ...string) {
	t.Helper()
	got := fields(p)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("findings on %q, want %q\n%v", got, want, p.Findings)
	}
}

var (
	testUIDMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	testGIDMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
)

func toIdmap(ms []specs.LinuxIDMapping) []idmap.Mapping {
	var out []idmap.Mapping
	for _, m := range ms {
		out = append(out, idmap.Mapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return out
}

// config turns s (with raw edits of its JSON form) into a parsed, validated
// Config, the way the runtime loads one.
func config(t *testing.T, s *specs.Spec, raw func(map[string]any)) *spec.Config {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if raw != nil {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		raw(m)
		if data, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	c, err := spec.Parse("config.json", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := spec.Validate(c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return c
}

// input is a rootless caller (uid 1000) with the test host and all features.
func input(c *spec.Config) Input {
	return Input{
		Config: c, Bundle: testBundle, Rootfs: testRootfs, UID: 1000, GID: 1000,
		UIDMap: toIdmap(testUIDMap), GIDMap: toIdmap(testGIDMap),
		Host: newHost(), Features: allFeatures(),
	}
}

// sub returns m[k] as an object, creating it.
func sub(m map[string]any, k string) map[string]any {
	if v, ok := m[k].(map[string]any); ok {
		return v
	}
	v := map[string]any{}
	m[k] = v
	return v
}
