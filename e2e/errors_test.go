package e2e

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// expectFailure runs bwrap-oci and checks the error contract: non-zero
// exit, exactly one line on stderr matching every pattern, the state root
// unchanged and no new bwrap process of the test user.
func expectFailure(t *testing.T, patterns []string, args ...string) result {
	t.Helper()
	before := stateEntries(t)
	procs := bwrapProcs()
	r := oci(t, args...)
	if r.code == 0 || r.code == -1 {
		t.Errorf("want a non-zero exit, got %s", r.describe())
	}
	msg := strings.TrimSuffix(r.stderr, "\n")
	t.Logf("stderr: %q", r.stderr)
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("want exactly one line on stderr, got %q", r.stderr)
	}
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(msg) {
			t.Errorf("stderr %q does not match %q", msg, p)
		}
	}
	if after := stateEntries(t); !reflect.DeepEqual(before, after) {
		t.Errorf("state root changed: before %v, after %v", before, after)
	}
	if left := newBwrapProcs(procs); len(left) > 0 {
		t.Errorf("bwrap processes left behind: %v", left)
	}
	return r
}

// lineCol matches a JSON syntax error position on line n, in the forms
// "line 3, column 7", "line 3 column 7" or "config.json:3:7".
func lineCol(n int) string {
	return fmt.Sprintf(`(?i)(line\W*%d\D.*col(umn)?\W*\d+|\.json:%d:\d+)`, n, n)
}

// index matches a field path element with an array index in the forms
// "name[i]" or "name.i".
func index(name string, i int) string {
	return fmt.Sprintf(`%s(\[%d\]|\.%d)`, regexp.QuoteMeta(name), i, i)
}

// TestBadConfig: each broken bundle or config fails cleanly, naming the
// config file and the field.
func TestBadConfig(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, b *bundle) (args []string, patterns []string)
	}{
		{"no bundle dir", func(t *testing.T, b *bundle) ([]string, []string) {
			dir := filepath.Join(b.dir, "does-not-exist")
			return []string{"--bundle", dir}, []string{regexp.QuoteMeta(dir)}
		}},
		{"no config.json", func(t *testing.T, b *bundle) ([]string, []string) {
			b.writeRaw(nil)
			if r := asUser(t, execOpts{}, "rm", b.configPath()); r.code != 0 {
				t.Fatal(r.describe())
			}
			return nil, []string{regexp.QuoteMeta(b.configPath())}
		}},
		{"missing -c file", func(t *testing.T, b *bundle) ([]string, []string) {
			alt := filepath.Join(b.dir, "nope.json")
			return []string{"--config", alt}, []string{regexp.QuoteMeta(alt)}
		}},
		{"invalid JSON", func(t *testing.T, b *bundle) ([]string, []string) {
			b.writeRaw([]byte("{\n  \"ociVersion\": \"1.2.0\",\n  \"process\": {\"args\": [\"sh\",, ]}\n}\n"))
			return nil, []string{regexp.QuoteMeta(b.configPath()), lineCol(3)}
		}},
		{"process.args is a string", func(t *testing.T, b *bundle) ([]string, []string) {
			b.editMap(func(m map[string]any) { m["process"].(map[string]any)["args"] = "sh" })
			return nil, []string{regexp.QuoteMeta(b.configPath()), `process\.args`}
		}},
		{"no root", func(t *testing.T, b *bundle) ([]string, []string) {
			b.editMap(func(m map[string]any) { delete(m, "root") })
			return nil, []string{regexp.QuoteMeta(b.configPath()), `\broot\b`}
		}},
		{"no root.path", func(t *testing.T, b *bundle) ([]string, []string) {
			b.editMap(func(m map[string]any) { delete(m["root"].(map[string]any), "path") })
			return nil, []string{regexp.QuoteMeta(b.configPath()), `root\.path`}
		}},
		{"missing rootfs dir", func(t *testing.T, b *bundle) ([]string, []string) {
			b.edit(func(s *specs.Spec) { s.Root.Path = "no-such-rootfs" })
			return nil, []string{regexp.QuoteMeta(b.configPath()), `root\.path`}
		}},
		{"empty process.args", func(t *testing.T, b *bundle) ([]string, []string) {
			b.edit(func(s *specs.Spec) { s.Process.Args = []string{} })
			return nil, []string{regexp.QuoteMeta(b.configPath()), `process\.args`}
		}},
		{"no process", func(t *testing.T, b *bundle) ([]string, []string) {
			b.editMap(func(m map[string]any) { delete(m, "process") })
			return nil, []string{regexp.QuoteMeta(b.configPath()), `\bprocess\b`}
		}},
		{"unknown namespace type", func(t *testing.T, b *bundle) ([]string, []string) {
			var i int
			b.edit(func(s *specs.Spec) {
				i = len(s.Linux.Namespaces)
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
			})
			return nil, []string{regexp.QuoteMeta(b.configPath()), index("linux.namespaces", i) + `\.type`}
		}},
		{"relative mount destination", func(t *testing.T, b *bundle) ([]string, []string) {
			var i int
			b.edit(func(s *specs.Spec) {
				i = len(s.Mounts)
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "relative/dir", Type: "tmpfs", Source: "tmpfs"})
			})
			return nil, []string{regexp.QuoteMeta(b.configPath()), index("mounts", i) + `\.destination`}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t)
			extra, patterns := c.setup(t, b)
			id := newID(t)
			args := []string{"run", "--bundle", b.dir}
			args = append(append(args, extra...), id)
			expectFailure(t, patterns, args...)
			if exists(statePath(id)) {
				t.Errorf("state dir %s left behind", statePath(id))
			}
		})
	}
}

// TestBadID: invalid container IDs are refused.
func TestBadID(t *testing.T) {
	for _, id := range []string{"", "a/b", "..", ".", "../escape", "bad\nid"} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			b := newBundle(t)
			b.edit(func(s *specs.Spec) {
				b.hostMount(s)
				shell(s, "touch /host/ran")
			})
			expectFailure(t, nil, "run", "--bundle", b.dir, id)
			if exists(filepath.Join(b.host, "ran")) {
				t.Errorf("the container ran with ID %q", id)
			}
			if id != "" && id != "." && id != ".." && exists(filepath.Join(h.stateRoot, id)) {
				t.Errorf("%s was created", filepath.Join(h.stateRoot, id))
			}
		})
	}
}

// TestIDInUse: a second run with the same ID fails and leaves the first
// container alone.
func TestIDInUse(t *testing.T) {
	b := sleeper(t)
	id := newID(t)
	startDetached(t, b, id)
	first := state(t, id)

	b2 := newBundle(t)
	b2.edit(func(s *specs.Spec) {
		b2.hostMount(s)
		shell(s, "touch /host/ran; sleep 100")
	})
	expectFailure(t, []string{regexp.QuoteMeta(id)}, "run", "-d", "--bundle", b2.dir, id)
	if exists(filepath.Join(b2.host, "ran")) {
		t.Errorf("the second container ran")
	}
	if st := state(t, id); st.Status != specs.StateRunning || st.Pid != first.Pid || st.Bundle != b.dir || !procAlive(st.Pid) {
		t.Errorf("first container after the clash: %+v, want unchanged %+v and alive", st, first)
	}
}

// TestBadSignal: unknown signals are refused and the container keeps
// running.
func TestBadSignal(t *testing.T) {
	b := sleeper(t)
	id := newID(t)
	startDetached(t, b, id)
	pid := state(t, id).Pid
	for _, sig := range []string{"SIGBOGUS", "BOGUS", "RTMIN+99", "RTMAX-99", "65", "9x"} {
		t.Run(sig, func(t *testing.T) {
			expectFailure(t, nil, "kill", id, sig)
			if st := state(t, id); st.Status != specs.StateRunning || !procAlive(pid) {
				t.Errorf("after kill %s: status %s, pid %d alive %v; want running", sig, st.Status, pid, procAlive(pid))
			}
		})
	}
}

// TestUnknownID: kill, delete and state of an unknown ID.
func TestUnknownID(t *testing.T) {
	need(t)
	id := fmt.Sprintf("e2e-never-created-%d", seq.Add(1))
	for _, args := range [][]string{
		{"kill", id},
		{"kill", id, "KILL"},
		{"delete", id},
		{"delete", "--force", id},
		{"state", id},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			expectFailure(t, []string{"does not exist", regexp.QuoteMeta(id)}, args...)
		})
	}
}
