package spec

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var (
	testUIDMaps = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	testGIDMaps = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
)

func TestValidateDefault(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		c := &Config{File: "c.json", Spec: Default(rootless, testUIDMaps, testGIDMaps)}
		if err := Validate(c); err != nil {
			t.Errorf("Default(%v) does not validate: %v", rootless, err)
		}
	}
}

func TestDefault(t *testing.T) {
	s := Default(true, testUIDMaps, testGIDMaps)
	if _, ok := Namespace(s, specs.UserNamespace); !ok {
		t.Error("rootless default has no user namespace")
	}
	if len(s.Linux.UIDMappings) != 2 || len(s.Linux.GIDMappings) != 2 {
		t.Errorf("rootless default mappings = %v %v", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	s = Default(false, testUIDMaps, testGIDMaps)
	if _, ok := Namespace(s, specs.UserNamespace); ok {
		t.Error("root default has a user namespace")
	}
	if s.Linux.UIDMappings != nil {
		t.Error("root default has mappings")
	}
	// The capability sets must not alias each other (or DefaultCaps).
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	if s.Process.Capabilities.Effective[0] == "CAP_SYS_ADMIN" || DefaultCaps[0] == "CAP_SYS_ADMIN" {
		t.Error("capability sets share storage")
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *specs.Spec)
		field  string
		want   string
	}{
		{"ociVersion 2.0", func(s *specs.Spec) { s.Version = "2.0.0" }, "ociVersion", "unsupported version"},
		{"ociVersion 0.5", func(s *specs.Spec) { s.Version = "0.5" }, "ociVersion", "unsupported version"},
		{"no root", func(s *specs.Spec) { s.Root = nil }, "root.path", "missing"},
		{"empty root.path", func(s *specs.Spec) { s.Root.Path = "" }, "root.path", "missing"},
		{"NUL in root.path", func(s *specs.Spec) { s.Root.Path = "a\x00b" }, "root.path", "NUL"},
		{"no process", func(s *specs.Spec) { s.Process = nil }, "process", "missing"},
		{"empty args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args", "must not be empty"},
		{"empty args[0]", func(s *specs.Spec) { s.Process.Args = []string{""} }, "process.args[0]", "must not be empty"},
		{"NUL in args", func(s *specs.Spec) { s.Process.Args = []string{"sh", "-c", "a\x00"} }, "process.args[2]", "NUL"},
		{"no cwd", func(s *specs.Spec) { s.Process.Cwd = "" }, "process.cwd", "missing"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, "process.cwd", "absolute"},
		{"NUL in cwd", func(s *specs.Spec) { s.Process.Cwd = "/a\x00" }, "process.cwd", "NUL"},
		{"env without =", func(s *specs.Spec) { s.Process.Env = []string{"A=1", "B"} }, "process.env[1]", "KEY=VALUE"},
		{"env empty key", func(s *specs.Spec) { s.Process.Env = []string{"=x"} }, "process.env[0]", "KEY=VALUE"},
		{"NUL in env", func(s *specs.Spec) { s.Process.Env = []string{"A=\x00"} }, "process.env[0]", "NUL"},
		{"oomScoreAdj", func(s *specs.Spec) { v := 1001; s.Process.OOMScoreAdj = &v }, "process.oomScoreAdj", "outside"},
		{"umask", func(s *specs.Spec) { v := uint32(0o1000); s.Process.User.Umask = &v }, "process.user.umask", "mask"},
		{"unknown rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_FOO"})
		}, "process.rlimits[1].type", "unknown rlimit"},
		{"duplicate rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE"})
		}, "process.rlimits[1].type", "twice"},
		{"soft above hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 }, "process.rlimits[0]", "above the hard limit"},
		{"unknown capability", func(s *specs.Spec) {
			s.Process.Capabilities.Ambient = []string{"CAP_KILL", "CAP_FLY"}
		}, "process.capabilities.ambient[1]", "unknown capability"},
		{"capability without prefix", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = []string{"KILL"}
		}, "process.capabilities.bounding[0]", "unknown capability"},
		{"lower-case capability", func(s *specs.Spec) {
			s.Process.Capabilities.Permitted = []string{"cap_kill"}
		}, "process.capabilities.permitted[0]", "unknown capability"},
		{"NUL in hostname", func(s *specs.Spec) { s.Hostname = "a\x00" }, "hostname", "NUL"},
		{"mount without destination", func(s *specs.Spec) { s.Mounts[2].Destination = "" }, "mounts[2].destination", "missing"},
		{"relative mount destination", func(s *specs.Spec) { s.Mounts[1].Destination = "dev" }, "mounts[1].destination", "absolute"},
		{"mount on /", func(s *specs.Spec) { s.Mounts[3].Destination = "/" }, "mounts[3].destination", "cannot mount over"},
		{"mount on /.", func(s *specs.Spec) { s.Mounts[3].Destination = "/./" }, "mounts[3].destination", "cannot mount over"},
		{"NUL in mount option", func(s *specs.Spec) { s.Mounts[0].Options = []string{"ro\x00"} }, "mounts[0]", "NUL"},
		{"NUL in mount source", func(s *specs.Spec) { s.Mounts[0].Source = "\x00" }, "mounts[0]", "NUL"},
		{"unknown namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "foo"})
		}, "linux.namespaces[7].type", "unknown namespace type"},
		{"duplicate namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: "/proc/1/ns/pid"})
		}, "linux.namespaces[7].type", "twice"},
		{"relative namespace path", func(s *specs.Spec) { s.Linux.Namespaces[0].Path = "proc/1/ns/pid" }, "linux.namespaces[0].path", "absolute"},
		{"hostname without uts", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}
		}, "hostname", "uts namespace"},
		{"hostname without linux", func(s *specs.Spec) { s.Linux = nil }, "hostname", "uts namespace"},
		{"relative masked path", func(s *specs.Spec) { s.Linux.MaskedPaths[2] = "proc/kcore" }, "linux.maskedPaths[2]", "absolute"},
		{"NUL in masked path", func(s *specs.Spec) { s.Linux.MaskedPaths[0] = "/a\x00" }, "linux.maskedPaths[0]", "NUL"},
		{"relative readonly path", func(s *specs.Spec) { s.Linux.ReadonlyPaths[4] = "" }, "linux.readonlyPaths[4]", "absolute"},
		{"bad device type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c"}, {Path: "/dev/x", Type: "x"}}
		}, "linux.devices[1].type", "unknown device type"},
		{"relative device path", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/fuse", Type: "c"}}
		}, "linux.devices[0].path", "absolute"},
		{"uid mapping size 0", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000}}
		}, "linux.uidMappings[1].size", "at least 1"},
		{"gid mapping size 0", func(s *specs.Spec) {
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000}}
		}, "linux.gidMappings[0].size", "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Default(true, testUIDMaps, testGIDMaps)
			tt.mutate(s)
			err := Validate(&Config{File: "bundle/config.json", Spec: s})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate = %v (%T), want a *spec.Error", err, err)
			}
			if e.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", e.Field, tt.field, err)
			}
			if e.File != "bundle/config.json" {
				t.Errorf("File = %q", e.File)
			}
			if !strings.Contains(e.Msg, tt.want) {
				t.Errorf("Msg = %q, want it to contain %q", e.Msg, tt.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *specs.Spec)
	}{
		{"no ociVersion", func(s *specs.Spec) { s.Version = "" }},
		{"ociVersion 1.0.0-rc1", func(s *specs.Spec) { s.Version = "1.0.0-rc1" }},
		{"no linux, no hostname", func(s *specs.Spec) { s.Linux = nil; s.Hostname = "" }},
		{"env value with =", func(s *specs.Spec) { s.Process.Env = []string{"A=b=c", "B="} }},
		{"all namespaces", func(s *specs.Spec) {
			s.Linux.Namespaces = nil
			for _, n := range NamespaceTypes {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: n})
			}
		}},
		{"soft equals hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = s.Process.Rlimits[0].Hard }},
		{"every rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = nil
			for name := range Rlimits {
				s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: name, Soft: 1, Hard: 2})
			}
		}},
		{"device types", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/a", Type: "c"}, {Path: "/b", Type: "b"}, {Path: "/c", Type: "u"}, {Path: "/d", Type: "p"}}
		}},
		{"oomScoreAdj bounds", func(s *specs.Spec) { v := -1000; s.Process.OOMScoreAdj = &v }},
		{"umask 0777", func(s *specs.Spec) { v := uint32(0o777); s.Process.User.Umask = &v }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Default(true, testUIDMaps, testGIDMaps)
			tt.mutate(s)
			if err := Validate(&Config{Spec: s}); err != nil {
				t.Errorf("Validate = %v, want nil", err)
			}
		})
	}
}

func TestCapability(t *testing.T) {
	for _, name := range []string{"CAP_KILL", "CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"} {
		c, ok := Capability(name)
		if !ok {
			t.Errorf("Capability(%q) unknown", name)
			continue
		}
		if got := CapName(c); got != name {
			t.Errorf("CapName(Capability(%q)) = %q", name, got)
		}
	}
	for _, name := range []string{"", "CAP_", "KILL", "cap_kill", "CAP_FOO", " CAP_KILL"} {
		if _, ok := Capability(name); ok {
			t.Errorf("Capability(%q) known", name)
		}
	}
}

func TestRootfsPath(t *testing.T) {
	tests := []struct {
		bundle string
		root   *specs.Root
		want   string
	}{
		{"/b", nil, ""},
		{"/b", &specs.Root{Path: "rootfs"}, "/b/rootfs"},
		{"/b", &specs.Root{Path: "../r/"}, "/r"},
		{"/b", &specs.Root{Path: "/abs//r/"}, "/abs/r"},
	}
	for _, tt := range tests {
		if got := RootfsPath(tt.bundle, &specs.Spec{Root: tt.root}); got != tt.want {
			t.Errorf("RootfsPath(%q, %+v) = %q, want %q", tt.bundle, tt.root, got, tt.want)
		}
	}
}

func TestNamespace(t *testing.T) {
	s := Default(true, nil, nil)
	if ns, ok := Namespace(s, specs.UserNamespace); !ok || ns.Type != specs.UserNamespace {
		t.Errorf("Namespace(user) = %v, %v", ns, ok)
	}
	if _, ok := Namespace(s, specs.TimeNamespace); ok {
		t.Error("Namespace(time) found")
	}
	if _, ok := Namespace(&specs.Spec{}, specs.PIDNamespace); ok {
		t.Error("Namespace on a spec without linux found one")
	}
}
