package bwrap

import (
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/spec"
)

// TestCoverSet: a coverSet covers a path exactly when one of its paths
// covers it by spec.Covers.
func TestCoverSet(t *testing.T) {
	set := []string{"", "process.env", "mounts[0].type", "linux.namespaces", "a.b", "x[", "hooks"}
	paths := []string{"", ".", "[", "process", "process.env", "process.env[0]", "process.envx", "process.env.x", "mounts[0].type",
		"mounts[0].types", "mounts[0]", "mounts[0].type[1]", "linux.namespaces[3].type", "linux.namespacesx", "a.b.c", "a.bc", "a",
		"x[", "x[[", "x[0]", "x", "hooks.prestart[0].path", "hooksx", "hooks[0]"}
	for _, sub := range [][]string{set, set[1:], nil} {
		cs := newCoverSet(sub)
		for _, p := range paths {
			want := false
			for _, h := range sub {
				want = want || spec.Covers(h, p)
			}
			if got := cs.covers(p); got != want {
				t.Errorf("set %q covers(%q) = %v, want %v", sub, p, got, want)
			}
		}
	}
}
