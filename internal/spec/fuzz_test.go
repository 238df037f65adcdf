package spec_test

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fuzzHost is a deterministic fake host: whether a path exists, and as what,
// follows from a hash of it, except for a few paths that always exist.
type fuzzHost struct{}

func (fuzzHost) Kind(p string) bwrap.Kind {
	switch p = filepath.Clean(p); p {
	case "/", "/bundle", "/bundle/rootfs", "/sys", "/proc", "/dev", "/sys/fs/cgroup":
		return bwrap.Dir
	case "/dev/null", "/dev/zero":
		return bwrap.File
	}
	h := fnv.New32a()
	h.Write([]byte(p))
	return bwrap.Kind(h.Sum32() % 3)
}

func (fuzzHost) InRoot(root, p string) (string, error) { return filepath.Join(root, p), nil }

func (fuzzHost) Device(p, typ string, major, minor int64) bool { return major == 1 && minor == 3 }

var fuzzMaps = []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}

func features() bwrap.Features {
	f := bwrap.Features{Version: "0.8.0", Options: map[string]bool{}, LastCap: 40}
	for _, o := range append(slices.Clone(bwrap.Required), "--tmpfs", "--bind", "--ro-bind", "--dev-bind", "--proc", "--dev") {
		f.Options[o] = true
	}
	return f
}

// translate runs the whole pure pipeline on data, checking the contracts of
// each step; it returns the plan, or nil when a step refused the config.
func translate(t *testing.T, data []byte, root bool) *bwrap.Plan {
	t.Helper()
	c, err := spec.Parse("config.json", data)
	if err != nil {
		var e *spec.Error
		if !errors.As(err, &e) || e.File != "config.json" || strings.Contains(err.Error(), "\n") {
			t.Fatalf("Parse error %q (%T) is not a one-line *spec.Error", err, err)
		}
		return nil
	}
	if !slices.IsSorted(c.Present) {
		t.Fatalf("Present is not sorted: %q", c.Present)
	}
	if err := spec.Validate(c); err != nil {
		var e *spec.Error
		if !errors.As(err, &e) || e.Field == "" {
			t.Fatalf("Validate error %q (%T) names no field", err, err)
		}
		return nil
	}
	in := bwrap.Input{
		Config: c, Bundle: "/bundle", Rootfs: spec.RootfsPath("/bundle", c.Spec),
		UID: 1000, GID: 1000, UIDMap: fuzzMaps, GIDMap: fuzzMaps,
		Host: fuzzHost{}, Features: features(),
	}
	if root {
		// Root maps its own ids to themselves (container.identityMaps).
		ident := []idmap.Mapping{{ContainerID: 0, HostID: 0, Size: 65536}}
		in.Root, in.UID, in.GID, in.UIDMap, in.GIDMap = true, 0, 0, ident, ident
	}
	p, err := bwrap.Translate(in)
	if err != nil {
		var e *spec.Error
		if !errors.As(err, &e) || e.Field == "" {
			t.Fatalf("Translate error %q (%T) names no field", err, err)
		}
		return nil
	}
	n := 0
	for _, o := range p.Opts {
		if !strings.HasPrefix(o.Name, "--") {
			t.Fatalf("option %q", o.Name)
		}
		n += 1 + len(o.Args)
	}
	if len(p.Args()) != n {
		t.Fatalf("Args() has %d words, want %d", len(p.Args()), n)
	}
	if !slices.Equal(p.Command, c.Spec.Process.Args) {
		t.Fatalf("Command = %q, want %q", p.Command, c.Spec.Process.Args)
	}
	for _, f := range p.Findings {
		if f.Field == "" || f.Msg == "" {
			t.Fatalf("empty finding %+v", f)
		}
	}
	_ = in.Features.Check(p)
	_ = bwrap.Quote(p.Args())
	return p
}

func seeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, rootless := range []bool{true, false} {
		s := spec.Default(rootless, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}})
		data, err := json.MarshalIndent(s, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "configs", "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	for _, s := range []string{
		"", "{}", "[]", "null", "{} {}", "{}}", `{"process": {"args": "sh"}}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "r"}, "mounts": [{"destination": "/t", "type": "tmpfs", "options": ["size=18446744073709551615k", "mode=7777777"]}]}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "r"}, "linux": {"maskedPaths": ["/", "/a/../.."], "readonlyPaths": ["/", "//"]}}`,
		`{"process": {"args": ["sh"], "cwd": "/", "capabilities": {"bounding": ["CAP_SYS_ADMIN"], "ambient": ["CAP_SYS_ADMIN"]}, "user": {"uid": 4294967295}}, "root": {"path": "r"}}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "r"}, "mounts": [{"destination": "/x/../..", "type": "bind", "source": "../.."}]}`,
		`{"Process": {"args": ["sh"], "cwd": "/"}, "ROOT": {"path": "r"}}`,
		`{"process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "r"}, "process": {"args": ["x"]}}`,
		"{\"a\": \"\xff\xfe\", \"b\": 1e999}",
		`{"ociVersion": "1.0.0", "process": {"args": ["\u0000"]}}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, root bool) {
		translate(t, data, root)
	})
}

// TestConfigs runs the configs in testdata/configs through the pipeline:
// valid-* translate, invalid-* are refused.
func TestConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "configs", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			valid := strings.HasPrefix(filepath.Base(file), "valid-")
			for _, root := range []bool{false, true} {
				if p := translate(t, data, root); (p != nil) != valid {
					t.Errorf("root=%v: translated = %v, want %v", root, p != nil, valid)
				}
			}
		})
	}
}

// TestKitchenSinkFindings checks that a config using every kind of field the
// translator cannot honour gets a finding for each, unknown properties
// flagged as such.
func TestKitchenSinkFindings(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "configs", "valid-kitchen-sink.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := translate(t, data, false)
	if p == nil {
		t.Fatal("not translated")
	}
	got := map[string]bool{}
	for _, f := range p.Findings {
		got[f.Field] = f.Unknown
	}
	// additionalGids make the credentials helper set groups and the exact
	// capability sets, so neither is a finding; linux.seccomp compiles.
	want := map[string]bool{
		"process.apparmorProfile": false, "process.noNewPrivileges": false,
		"process.selinuxLabel": false, "process.scheduler.policy": false, "process.scheduler.nice": false,
		"process.ioPriority.class": false, "process.x-unknown.deep": true,
		"domainname": false, "hooks.prestart": false,
		"mounts[1].options": false, "mounts[2].options": false, "mounts[4]": false, "mounts[6].type": false,
		"linux.namespaces[5]": false, "linux.devices[1]": false, "linux.sysctl.net.ipv4.ip_forward": false,
		"linux.resources": false, "linux.cgroupsPath": false, "linux.mountLabel": false,
		"linux.personality.domain": false, "linux.intelRdt.closID": false, "solaris.milestone": false,
		"mounts[5]": false, "mounts[7]": false, "linux.maskedPaths[1]": false, "linux.readonlyPaths[2]": false,
	}
	for f, unknown := range want {
		if u, ok := got[f]; !ok {
			t.Errorf("no finding on %s", f)
		} else if u != unknown {
			t.Errorf("%s: Unknown = %v, want %v", f, u, unknown)
		}
	}
	for f := range got {
		if _, ok := want[f]; !ok {
			t.Logf("also a finding on %s", f)
		}
	}
}
