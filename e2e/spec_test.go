package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// newEmptyDir makes an empty directory owned by the test user.
func newEmptyDir(t *testing.T) string {
	t.Helper()
	need(t)
	dir := filepath.Join(h.base, slug(t)+"-"+newID(t))
	if err := h.mkdirUser(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSpecDefaults checks the config written by "spec" against the contract.
func TestSpecDefaults(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		name := map[bool]string{false: "spec", true: "spec --rootless"}[rootless]
		t.Run(name, func(t *testing.T) {
			dir := newEmptyDir(t)
			args := []string{"spec", "--bundle", dir}
			if rootless {
				args = append(args, "--rootless")
			}
			mustOCI(t, args...)
			data, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var s specs.Spec
			dec := json.NewDecoder(bytes.NewReader(data))
			if err := dec.Decode(&s); err != nil {
				t.Fatalf("config.json: %v", err)
			}
			checkDefaultSpec(t, &s, rootless)
		})
	}
}

func checkDefaultSpec(t *testing.T, s *specs.Spec, rootless bool) {
	t.Helper()
	if s.Version == "" {
		t.Errorf("ociVersion is empty")
	}
	if s.Root == nil || s.Root.Path != "rootfs" {
		t.Errorf("root = %+v, want path rootfs", s.Root)
	}
	p := s.Process
	if p == nil {
		t.Fatalf("no process")
	}
	if !reflect.DeepEqual(p.Args, []string{"sh"}) || p.Cwd != "/" || p.Terminal || p.User.UID != 0 || p.User.GID != 0 {
		t.Errorf("process = args %q cwd %q terminal %v user %d:%d; want [sh] / false 0:0",
			p.Args, p.Cwd, p.Terminal, p.User.UID, p.User.GID)
	}
	var hasPath, hasTerm bool
	for _, e := range p.Env {
		hasPath = hasPath || strings.HasPrefix(e, "PATH=")
		hasTerm = hasTerm || e == "TERM=xterm"
	}
	if !hasPath || !hasTerm {
		t.Errorf("process.env = %q, want PATH=... and TERM=xterm", p.Env)
	}
	if s.Hostname != "bwrap-oci" {
		t.Errorf("hostname = %q, want bwrap-oci", s.Hostname)
	}
	wantCaps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	if c := p.Capabilities; c == nil {
		t.Errorf("no process.capabilities")
	} else {
		for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
			got := append([]string(nil), set...)
			sort.Strings(got)
			if !reflect.DeepEqual(got, wantCaps) {
				t.Errorf("capabilities.%s = %v, want %v", name, set, wantCaps)
			}
		}
	}
	var nofile bool
	for _, r := range p.Rlimits {
		if r.Type == "RLIMIT_NOFILE" && r.Hard == 1024 && r.Soft == 1024 {
			nofile = true
		}
	}
	if !nofile {
		t.Errorf("rlimits = %+v, want RLIMIT_NOFILE 1024", p.Rlimits)
	}

	mounts := map[string]string{}
	for _, m := range s.Mounts {
		mounts[m.Destination] = m.Type
	}
	for dest, typ := range map[string]string{
		"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
		"/dev/mqueue": "mqueue",
	} {
		if mounts[dest] != typ {
			t.Errorf("mount %s has type %q, want %q", dest, mounts[dest], typ)
		}
	}
	// /sys is an rbind of the host's, which brings /sys/fs/cgroup along:
	// bwrap cannot mount sysfs or cgroup file systems itself.
	if _, ok := mounts["/sys"]; !ok {
		t.Errorf("no /sys mount")
	}

	l := s.Linux
	if l == nil {
		t.Fatalf("no linux section")
	}
	ns := map[specs.LinuxNamespaceType]bool{}
	for _, n := range l.Namespaces {
		ns[n.Type] = true
	}
	for _, want := range []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "network", "user"} {
		if !ns[want] {
			t.Errorf("linux.namespaces lacks %s: %+v", want, l.Namespaces)
		}
	}
	if len(l.MaskedPaths) == 0 || len(l.ReadonlyPaths) == 0 {
		t.Errorf("maskedPaths %v / readonlyPaths %v: want runc-like defaults", l.MaskedPaths, l.ReadonlyPaths)
	}
	if rootless {
		if !hasMapping(l.UIDMappings, h.uid) || !hasMapping(l.GIDMappings, h.gid) {
			t.Errorf("--rootless: uidMappings %+v gidMappings %+v, want container 0 -> %d / %d",
				l.UIDMappings, l.GIDMappings, h.uid, h.gid)
		}
	}
}

func hasMapping(m []specs.LinuxIDMapping, host uint32) bool {
	for _, x := range m {
		if x.ContainerID == 0 && x.HostID == host && x.Size >= 1 {
			return true
		}
	}
	return false
}

// TestSpecRefusesOverwrite: spec keeps an existing config.json unless
// --force is given.
func TestSpecRefusesOverwrite(t *testing.T) {
	dir := newEmptyDir(t)
	cfg := filepath.Join(dir, "config.json")
	old := []byte(`{"ociVersion": "keep-me"}`)
	if err := h.writeFileUser(cfg, old, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"spec", "--bundle", dir},
		{"spec", "--rootless", "--bundle", dir},
	} {
		r := oci(t, args...)
		if r.code == 0 {
			t.Errorf("%q succeeded over an existing config.json", args)
		}
		if msg := strings.TrimSuffix(r.stderr, "\n"); msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%q: want one line on stderr, got %q", args, r.stderr)
		}
		if got, _ := os.ReadFile(cfg); !bytes.Equal(got, old) {
			t.Fatalf("%q overwrote config.json", args)
		}
	}
	mustOCI(t, "spec", "--rootless", "--bundle", dir, "--force")
	var s specs.Spec
	data, _ := os.ReadFile(cfg)
	if err := json.Unmarshal(data, &s); err != nil || s.Version == "keep-me" || s.Process == nil {
		t.Errorf("spec --force did not write a new config (err %v): %s", err, data)
	}
}

// TestVersionHelp: --version and --help exit 0 and print something.
func TestVersionHelp(t *testing.T) {
	need(t)
	for _, args := range [][]string{{"--version"}, {"--help"}, {"run", "--help"}} {
		r := oci(t, args...)
		if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
			t.Errorf("%q: want exit 0 and output on stdout, got %s", args, r.describe())
		}
	}
	r := oci(t, "no-such-command")
	if r.code == 0 {
		t.Errorf("an unknown command succeeded: %s", r.describe())
	}
}
