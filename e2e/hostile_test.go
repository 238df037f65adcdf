package e2e

// Hostile configs through the real binary: a varied subset of the table in
// internal/spec/hostile_test.go (and of the mappings in
// internal/container/hostile_test.go), each of which must fail with a
// non-zero exit and one line on stderr that names the config file and the
// field, leaving no state directory and no process behind. Each runs with a
// state root of its own, so that other tests running as the same user
// cannot disturb the checks.

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestHostileConfigs(t *testing.T) {
	cases := []struct {
		name  string
		field string // regexp for the field path
		edit  func(t *testing.T, b *bundle) string
	}{
		{"args is a string", `process\.args`, func(t *testing.T, b *bundle) string {
			b.editMap(func(m map[string]any) { m["process"].(map[string]any)["args"] = "sh" })
			return ""
		}},
		{"uid above 32 bits", `process\.user\.uid`, func(t *testing.T, b *bundle) string {
			b.editMap(func(m map[string]any) {
				m["process"].(map[string]any)["user"].(map[string]any)["uid"] = 4294967296
			})
			return ""
		}},
		{"negative mapping size", `linux\.uidMappings`, func(t *testing.T, b *bundle) string {
			b.editMap(func(m map[string]any) {
				m["linux"].(map[string]any)["uidMappings"] = []any{map[string]any{"containerID": 0, "hostID": h.uid, "size": -1}}
			})
			return ""
		}},
		{"overlapping mappings", index("linux.uidMappings", 1), func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) {
				s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.uid, Size: 1}, {ContainerID: 0, HostID: h.subuid.Start, Size: 10}}
			})
			return ""
		}},
		{"mapping outside the caller's range", index("linux.gidMappings", 1), func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) {
				s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.gid, Size: 1}, {ContainerID: 1, HostID: h.subgid.Start + h.subgid.Count, Size: 10}}
			})
			return ""
		}},
		{"absurd rlimit", index("process.rlimits", 0) + `\.hard`, func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) {
				s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1 << 40, Hard: 1 << 40}}
			})
			return ""
		}},
		{"unknown capability", index("process.capabilities.bounding", 3), func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) {
				c := s.Process.Capabilities
				c.Bounding = append(c.Bounding[:3:3], "CAP_BOGUS")
			})
			return ""
		}},
		{"duplicate namespace", `linux\.namespaces(\[\d+\]|\.\d+)\.type`, func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
			})
			return ""
		}},
		{"mount on /", `mounts(\[\d+\]|\.\d+)\.destination`, func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/", Type: "bind", Source: b.host, Options: []string{"rbind"}})
			})
			return ""
		}},
		{"NUL byte in args", index("process.args", 2), func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) { s.Process.Args = []string{"/bin/sh", "-c", "touch /host/ran\x00; exit 0"} })
			return ""
		}},
		{"negative tmpfs size", `mounts(\[\d+\]|\.\d+)\.options`, func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=-1k"}})
			})
			return ""
		}},
		{"zero-width space in a namespace type", `linux\.namespaces(\[\d+\]|\.\d+)\.type`, func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) { s.Linux.Namespaces[0].Type = "pid\u200b" })
			return ""
		}},
		{"10 MB args list", `process\.args`, func(t *testing.T, b *bundle) string {
			b.edit(func(s *specs.Spec) {
				args := []string{"/bin/sh", "-c", "touch /host/ran", "sh"}
				for i := 0; i < 100_000; i++ {
					args = append(args, strings.Repeat("x", 100))
				}
				s.Process.Args = args
			})
			return ""
		}},
		{"deeply nested JSON", `line 1\D.*col`, func(t *testing.T, b *bundle) string {
			b.writeRaw([]byte(`{"ociVersion": "1.2.0", "annotations": {"a": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`))
			return ""
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t)
			b.edit(func(s *specs.Spec) { b.hostMount(s); shell(s, "touch /host/ran") })
			c.edit(t, b)
			id := newID(t)
			root := hdRoot(t)
			r := hdExpectFailure(t, root, []string{id, b.dir}, []string{regexp.QuoteMeta(b.configPath()), c.field}, "run", "--bundle", b.dir, id)
			if len(r.stderr) > 4096 {
				t.Errorf("stderr is %d bytes long", len(r.stderr))
			}
			if exists(filepath.Join(root, id)) {
				t.Errorf("state dir %s left behind", filepath.Join(root, id))
			}
			if exists(filepath.Join(b.host, "ran")) {
				t.Errorf("the container ran")
			}
		})
	}
	// The same through create: nothing left behind either.
	t.Run("create", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			s.Process.Capabilities.Ambient = append(s.Process.Capabilities.Ambient, "CAP_NOPE")
		})
		id := newID(t)
		root := hdRoot(t)
		hdExpectFailure(t, root, []string{id, b.dir}, []string{regexp.QuoteMeta(b.configPath()), `process\.capabilities\.ambient`}, "create", "--bundle", b.dir, id)
		if exists(filepath.Join(root, id)) {
			t.Errorf("state dir %s left behind", filepath.Join(root, id))
		}
	})
}
