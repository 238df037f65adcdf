package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDryRun: --dry-run prints a bwrap command line without running
// anything; run by sh, it runs the container.
func TestDryRun(t *testing.T) {
	b := newBundle(t)
	ran := filepath.Join(b.host, "ran")
	b.edit(func(s *specs.Spec) {
		b.hostMount(s)
		s.Hostname = "dry-host"
		shell(s, "echo dry-run-ok; id -u; hostname; touch /host/ran")
	})
	id := newID(t)
	before := bwrapProcs()
	r := mustOCI(t, "run", "--dry-run", "--bundle", b.dir, id)
	if exists(ran) {
		t.Errorf("--dry-run ran the container")
	}
	if exists(statePath(id)) {
		t.Errorf("--dry-run left state dir %s", statePath(id))
	}
	if left := newBwrapProcs(before); len(left) > 0 {
		t.Errorf("--dry-run left bwrap processes %v", left)
	}
	if !strings.Contains(r.stdout, "bwrap") {
		t.Fatalf("--dry-run output does not mention bwrap:\n%s", r.stdout)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.Contains(line, "bwrap") {
			t.Logf("note: non-comment line without bwrap: %q", line)
		}
	}

	script := filepath.Join(b.dir, "dry-run.sh")
	if err := h.writeFileUser(script, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	out := asUser(t, execOpts{}, "/bin/sh", script)
	if out.code != 0 || out.err != nil {
		t.Fatalf("sh dry-run.sh: %s\nscript:\n%s", out.describe(), r.stdout)
	}
	if got := strings.Fields(out.stdout); strings.Join(got, " ") != "dry-run-ok 0 dry-host" {
		t.Errorf("sh dry-run.sh printed %q, want \"dry-run-ok 0 dry-host\"\nscript:\n%s", out.stdout, r.stdout)
	}
	if !exists(ran) {
		t.Errorf("running the dry-run output did not run the container")
	}
}
