package container

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestEarlyFits(t *testing.T) {
	u := func(m uint32) *uint32 { return &m }
	hook := []specs.Hook{{Path: "/bin/true"}}
	for _, c := range []struct {
		name string
		edit func(*specs.Spec, *RunOptions)
		want bool
	}{
		{"plain", func(*specs.Spec, *RunOptions) {}, true},
		{"the runtime's umask", func(s *specs.Spec, _ *RunOptions) { s.Process.User.Umask = u(0o22) }, true},
		{"another umask", func(s *specs.Spec, _ *RunOptions) { s.Process.User.Umask = u(0o77) }, false},
		{"console socket", func(_ *specs.Spec, o *RunOptions) { o.ConsoleSocket = "/run/x.sock" }, false},
		{"detached", func(_ *specs.Spec, o *RunOptions) { o.Detach = true }, false},
		{"createContainer hook", func(s *specs.Spec, _ *RunOptions) { s.Hooks = &specs.Hooks{CreateContainer: hook} }, false},
		{"startContainer hook", func(s *specs.Spec, _ *RunOptions) { s.Hooks = &specs.Hooks{StartContainer: hook} }, false},
		{"prestart and poststart hooks", func(s *specs.Spec, _ *RunOptions) {
			s.Hooks = &specs.Hooks{Prestart: hook, CreateRuntime: hook, Poststart: hook, Poststop: hook}
		}, true},
		{"a namespace to join", func(s *specs.Spec, _ *RunOptions) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"})
		}, false},
		{"new namespaces", func(s *specs.Spec, _ *RunOptions) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &specs.Spec{Process: &specs.Process{Args: []string{"true"}}, Linux: &specs.Linux{}}
			o := RunOptions{ID: "x"}
			c.edit(s, &o)
			if got := earlyFits(s, &o, 0o22); got != c.want {
				t.Errorf("earlyFits = %v, want %v", got, c.want)
			}
		})
	}
}
