package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCapEff checks that CapEff inside equals the config's effective set.
func TestCapEff(t *testing.T) {
	cases := []struct {
		name string
		edit func(s *specs.Spec)
	}{
		{"default", func(s *specs.Spec) {}},
		{"added", func(s *specs.Spec) { addCaps(s, "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN") }},
		{"none", func(s *specs.Spec) { s.Process.Capabilities = &specs.LinuxCapabilities{} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t)
			var want string
			b.edit(func(s *specs.Spec) {
				c.edit(s)
				shell(s, "grep CapEff: /proc/self/status")
				var eff []string
				if s.Process.Capabilities != nil {
					eff = s.Process.Capabilities.Effective
				}
				var err error
				if want, err = CapMask(eff); err != nil {
					t.Fatal(err)
				}
			})
			if c.name == "default" && want != "0000000020000420" {
				t.Errorf("spec's default effective set has mask %s, want 0000000020000420 (AUDIT_WRITE KILL NET_BIND_SERVICE)", want)
			}
			got := strings.TrimSpace(strings.TrimPrefix(b.mustRun(t), "CapEff:"))
			if got != want {
				t.Errorf("CapEff = %s, want %s", got, want)
			}
		})
	}
}

// TestEnv checks that the environment is exactly process.env plus PWD.
func TestEnv(t *testing.T) {
	b := newBundle(t)
	var want []string
	b.edit(func(s *specs.Spec) {
		s.Process.Args = []string{"/bin/env"}
		s.Process.Cwd = "/tmp"
		s.Process.Env = append(s.Process.Env, "E2E_SPACES=a b  c", "E2E_EMPTY=", "E2E_EQ=x=y")
		want = append(append(want, s.Process.Env...), "PWD=/tmp")
	})
	got := strings.Split(strings.TrimRight(b.mustRun(t), "\n"), "\n")
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environment inside:\n got %q\nwant %q", got, want)
	}
}

// TestFDs checks that only 0, 1 and 2 (plus ls's own directory fd) are open.
func TestFDs(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) { s.Process.Args = []string{"/bin/ls", "/proc/self/fd"} })
	fds := strings.Fields(b.mustRun(t))
	var extra []string
	seen := map[string]bool{}
	for _, fd := range fds {
		seen[fd] = true
		if fd != "0" && fd != "1" && fd != "2" {
			extra = append(extra, fd)
		}
	}
	if !seen["0"] || !seen["1"] || !seen["2"] || len(extra) > 1 {
		t.Errorf("open fds inside = %v, want 0 1 2 and at most one more (ls's own)", fds)
	}
}

// TestReadonlyRoot checks root.readonly, with a writable control.
func TestReadonlyRoot(t *testing.T) {
	for _, ro := range []bool{false, true} {
		t.Run(fmt.Sprintf("readonly=%v", ro), func(t *testing.T) {
			b := newBundle(t)
			b.edit(func(s *specs.Spec) {
				s.Root.Readonly = ro
				shell(s, "if touch /e2e-file 2>/dev/null; then echo writable; else echo readonly; fi")
			})
			want := map[bool]string{false: "writable", true: "readonly"}[ro]
			if got := strings.TrimSpace(b.mustRun(t)); got != want {
				t.Errorf("/ is %s, want %s", got, want)
			}
		})
	}
}

// TestTmpfsSize checks that a tmpfs mount with size=1m is limited.
func TestTmpfsSize(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: "/small", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "size=1m"},
		})
		shell(s, `
if dd if=/dev/zero of=/small/half bs=1024 count=512 2>/dev/null; then echo half-ok; else echo half-failed; fi
rm -f /small/half
if dd if=/dev/zero of=/small/big bs=1024 count=2048 2>/dev/null; then echo big-ok; else echo big-failed; fi`)
	})
	got := strings.Fields(b.mustRun(t))
	if want := []string{"half-ok", "big-failed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("writes to a size=1m tmpfs: %v, want %v (512 KiB fits, 2 MiB does not)", got, want)
	}
}

// TestHostname checks the UTS hostname, default and configured.
func TestHostname(t *testing.T) {
	for _, name := range []string{"", "e2e-host"} {
		t.Run("hostname="+name, func(t *testing.T) {
			b := newBundle(t)
			want := name
			b.edit(func(s *specs.Spec) {
				if name == "" {
					want = s.Hostname
					if want != "bwrap-oci" {
						t.Errorf("spec's default hostname = %q, want bwrap-oci", want)
					}
				} else {
					s.Hostname = name
				}
				s.Process.Args = []string{"/bin/hostname"}
			})
			if got := strings.TrimSpace(b.mustRun(t)); got != want {
				t.Errorf("hostname inside = %q, want %q", got, want)
			}
		})
	}
}

// TestExitStatus checks that the container's exit status passes through.
func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		script string
		pidNS  bool
		want   int
	}{
		{"exit 0", true, 0},
		{"exit 7", true, 7},
		// The init of a PID namespace cannot kill itself: the kernel drops
		// a signal it sends itself without a handler, as with runc. Without
		// a PID namespace the shell dies of its signal.
		{"kill -9 $$", false, 137},
		{"kill -TERM $$; sleep 5", false, 143},
		{"kill -9 $$; exit 5", true, 5},
	} {
		t.Run(fmt.Sprintf("%s/pidns=%v", c.script, c.pidNS), func(t *testing.T) {
			b := newBundle(t)
			b.edit(func(s *specs.Spec) {
				shell(s, c.script)
				if !c.pidNS {
					var keep []specs.LinuxNamespace
					for _, n := range s.Linux.Namespaces {
						if n.Type != specs.PIDNamespace {
							keep = append(keep, n)
						}
					}
					s.Linux.Namespaces = keep
					// proc needs a pid namespace when rootless.
					var mounts []specs.Mount
					for _, m := range s.Mounts {
						if m.Type != "proc" {
							mounts = append(mounts, m)
						}
					}
					s.Mounts = mounts
					s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
				}
			})
			id := newID(t)
			r := oci(t, "run", "--bundle", b.dir, id)
			if r.code != c.want {
				t.Errorf("exit status %d, want %d\n%s", r.code, c.want, r.describe())
			}
			if exists(statePath(id)) {
				t.Errorf("state dir %s left after the container ended", statePath(id))
			}
		})
	}
}

// TestStdio checks that the container uses the caller's stdin, stdout and
// stderr.
func TestStdio(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) { shell(s, "read line; echo \"out:$line\"; echo err >&2") })
	id := newID(t)
	r := ociOpts(t, execOpts{stdin: "hello\n"}, "run", "--bundle", b.dir, id)
	if r.code != 0 || r.stdout != "out:hello\n" || r.stderr != "err\n" {
		t.Errorf("want exit 0, stdout %q, stderr %q; got %s", "out:hello\n", "err\n", r.describe())
	}
}

// TestExitBySignalFromHost: a foreground container whose init is killed
// with "bwrap-oci kill ID KILL" exits 137, and its state is removed.
func TestExitBySignalFromHost(t *testing.T) {
	b := sleeper(t)
	id := newID(t)
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		done <- h.exec(ctx, execOpts{}, h.bin, "run", "--bundle", b.dir, id)
	}()
	waitFor(t, 10*time.Second, "the container to start", func() bool { return exists(filepath.Join(b.host, "ready")) })
	mustOCI(t, "kill", id, "KILL")
	r := <-done
	if r.code != 137 {
		t.Errorf("want exit 137, got %s", r.describe())
	}
	if exists(statePath(id)) {
		t.Errorf("state dir %s left after the container was killed", statePath(id))
	}
}
