package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSeccomp runs containers under linux.seccomp filters through the real
// binary and bwrap: a rule denying mkdir with EACCES, a KILL_PROCESS rule,
// exec'd processes under the same filter, and Podman's default profile.
func TestSeccomp(t *testing.T) {
	errnoRet := uint(13) // EACCES
	deny := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errnoRet},
	}}
	t.Run("deny mkdir with EACCES", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			shell(s, "mkdir /tmp/x; echo rc=$?")
			s.Linux.Seccomp = deny
		})
		r := oci(t, "run", "--bundle", b.dir, newID(t))
		if r.code != 0 || !strings.Contains(r.stderr, "Permission denied") || !strings.Contains(r.stdout, "rc=1") {
			t.Errorf("want mkdir to fail with Permission denied: %s", r.describe())
		}
	})
	t.Run("kill process", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			shell(s, "echo before; cat /proc/self/status >/dev/null; getppid_is_called_by_echo=$PPID; echo after")
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getppid"}, Action: specs.ActKillProcess},
			}}
		})
		r := oci(t, "run", "--bundle", b.dir, newID(t))
		// sh calls getppid for $PPID at start-up: killed by SIGSYS.
		if r.code != 128+31 {
			t.Errorf("want exit 159 (128+SIGSYS): %s", r.describe())
		}
	})
	t.Run("exec runs under the filter", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			shell(s, "while :; do sleep 0.1; done")
			s.Linux.Seccomp = deny
		})
		id := newID(t)
		mustOCI(t, "run", "-d", "--bundle", b.dir, id)
		r := oci(t, "exec", id, "sh", "-c", "mkdir /tmp/y; echo rc=$?; grep Seccomp: /proc/self/status")
		if !strings.Contains(r.stdout, "rc=1") || !strings.Contains(r.stderr, "Permission denied") || !strings.Contains(r.stdout, "Seccomp:\t2") {
			t.Errorf("want the exec'd process filtered too: %s", r.describe())
		}
	})
	t.Run("Podman's default profile", func(t *testing.T) {
		data, err := os.ReadFile("/usr/share/containers/seccomp.json")
		if err != nil {
			msg := "Podman's default profile is not installed (apt-get install golang-github-containers-common): " + err.Error()
			if ciMode() {
				t.Fatal(msg + " (CI=true, so not skipping)")
			}
			t.Skip(msg)
		}
		b := newBundle(t)
		var caps []string
		b.edit(func(s *specs.Spec) { caps = s.Process.Capabilities.Bounding })
		profile, err := seccomp.FromProfile(data, seccomp.ProfileOptions{Caps: caps})
		if err != nil {
			t.Fatal(err)
		}
		b.edit(func(s *specs.Spec) {
			shell(s, "mkdir /tmp/ok && ls / >/dev/null && echo fine; grep Seccomp: /proc/self/status")
			s.Linux.Seccomp = profile
		})
		r := oci(t, "run", "--bundle", b.dir, newID(t))
		if r.code != 0 || !strings.Contains(r.stdout, "fine") || !strings.Contains(r.stdout, "Seccomp:\t2") {
			t.Errorf("a busybox container under Podman's profile: %s", r.describe())
		}
	})
}
