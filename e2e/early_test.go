package e2e

import (
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Foreground runs start bwrap before the plan is made and give it its
// options later (internal/container/early.go). BWRAP_OCI_TRACE shows which
// path a run took.
var traced = execOpts{env: []string{"BWRAP_OCI_TRACE=1"}}

// runTwice runs a bundle in the foreground twice and returns the second
// run: the first of a multi-id mapping may start its userns keeper, and
// bwrap is started early only with a keeper that runs.
func runTwice(t *testing.T, b *bundle) result {
	t.Helper()
	ociOpts(t, traced, "run", "--bundle", b.dir, newID(t))
	return ociOpts(t, traced, "run", "--bundle", b.dir, newID(t))
}

// TestEarlyBwrapUsed: a plain foreground run takes the early path, with and
// without a seccomp filter (a memfd given before the filter is known), and
// the container gets exactly its config.
func TestEarlyBwrapUsed(t *testing.T) {
	for _, c := range []struct {
		name    string
		seccomp bool
	}{{"plain", false}, {"seccomp", true}} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t)
			b.edit(func(s *specs.Spec) {
				shell(s, "rmdir /tmp/x 2>/dev/null; mkdir /tmp/x && echo made; id -u; cat /proc/self/uid_map | wc -l")
				if c.seccomp {
					s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
						{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}}}
				}
			})
			r := runTwice(t, b)
			if !strings.Contains(r.stderr, "bwrap started early") || strings.Contains(r.stderr, "discarded") {
				t.Errorf("the run did not use its early bwrap:\n%s", r.stderr)
			}
			want := "made\n0\n"
			if c.seccomp {
				want = "0\n"
				if r.code != 0 || !strings.Contains(r.stderr, "mkdir") {
					t.Errorf("mkdir was not refused by the filter: %s", r.describe())
				}
			} else if r.code != 0 {
				t.Fatalf("run: %s", r.describe())
			}
			if !strings.HasPrefix(r.stdout, want) {
				t.Errorf("stdout %q, want it to start with %q", r.stdout, want)
			}
		})
	}
}

// TestEarlyBwrapDiscarded: when the plan needs what the early bwrap was not
// given (the helper for ids bwrap cannot set, a umask other than the
// runtime's), it is ended before it read any option, and bwrap is started
// as usual; no stray bwrap goes on at end-of-file with an empty sandbox
// (it would complain on stderr).
func TestEarlyBwrapDiscarded(t *testing.T) {
	t.Run("init helper", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			shell(s, "id -G")
			noMappings(s, 1000)
			s.Process.User.UID, s.Process.User.GID = 1000, 1000
			s.Process.User.AdditionalGids = []uint32{1000, 1001}
		})
		procs := bwrapProcs()
		r := runTwice(t, b)
		if r.code != 0 || strings.TrimSpace(r.stdout) != "1000 1001" {
			t.Fatalf("run: %s", r.describe())
		}
		if !strings.Contains(r.stderr, "early bwrap discarded") {
			t.Errorf("the early bwrap was not discarded:\n%s", r.stderr)
		}
		if m := regexp.MustCompile(`(?m)^bwrap:.*$`).FindString(r.stderr); m != "" {
			t.Errorf("a bwrap complained: %q", m)
		}
		if left := newBwrapProcs(procs); len(left) > 0 {
			t.Errorf("bwrap processes left behind: %v", left)
		}
	})
	t.Run("umask", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			shell(s, "touch /tmp/f && stat -c %a /tmp/f")
			mask := uint32(0o077)
			s.Process.User.Umask = &mask
		})
		r := runTwice(t, b)
		if r.code != 0 || strings.TrimSpace(r.stdout) != "600" {
			t.Fatalf("run: %s", r.describe())
		}
		if strings.Contains(r.stderr, "bwrap started early") {
			t.Errorf("a bwrap started with the runtime's umask:\n%s", r.stderr)
		}
	})
}

// TestEarlyBwrapFailure: a run that fails after its early bwrap started
// (the ID in use, a finding refused by --strict) ends it: one line on
// stderr, nothing left.
func TestEarlyBwrapFailure(t *testing.T) {
	// failsAfterEarly checks, with the trace on, that the early bwrap was
	// started and discarded, then the error contract without it.
	failsAfterEarly := func(t *testing.T, patterns []string, args ...string) {
		t.Helper()
		r := ociOpts(t, traced, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "bwrap started early") || !strings.Contains(r.stderr, "early bwrap discarded") {
			t.Errorf("want a failure after an early bwrap, discarded: %s", r.describe())
		}
		expectFailure(t, patterns, args...)
	}
	t.Run("ID in use", func(t *testing.T) {
		b := sleeper(t)
		id := newID(t)
		startDetached(t, b, id)
		b2 := newBundle(t)
		b2.edit(func(s *specs.Spec) { shell(s, "true") })
		runTwice(t, b2) // the mapping's keeper runs
		failsAfterEarly(t, []string{regexp.QuoteMeta(id)}, "run", "--bundle", b2.dir, id)
	})
	t.Run("strict", func(t *testing.T) {
		b := newBundle(t)
		b.edit(func(s *specs.Spec) {
			shell(s, "true")
			limit := int64(10)
			s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}
		})
		runTwice(t, b)
		failsAfterEarly(t, []string{`linux\.resources`, "--strict"}, "run", "--strict", "--bundle", b.dir, newID(t))
	})
}
