package spec

import (
	"strings"
	"testing"

	"github.com/moby/sys/capability"
)

// TestCapabilityLookup: Capability finds exactly what a scan of the
// capability package's list by lower-cased name finds.
func TestCapabilityLookup(t *testing.T) {
	scan := func(name string) (capability.Cap, bool) {
		if !strings.HasPrefix(name, "CAP_") {
			return 0, false
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return 0, false
			}
		}
		want := strings.ToLower(strings.TrimPrefix(name, "CAP_"))
		for _, c := range capability.ListKnown() {
			if c.String() == want {
				return c, true
			}
		}
		return 0, false
	}
	names := []string{"", "CAP_", "CAP_KILL", "cap_kill", "CAP_kill", "CAP_Kill", "KILL", "CAP_KILL ", "CAP_NOPE", "CAP_CHECKPOINT_RESTORE", "CAP_BPF", "CAP_LAST_CAP"}
	for _, c := range capability.ListKnown() {
		names = append(names, CapName(c), "CAP_"+c.String(), strings.ToUpper(c.String()))
	}
	for _, n := range names {
		gc, gok := Capability(n)
		wc, wok := scan(n)
		if gc != wc || gok != wok {
			t.Errorf("Capability(%q) = %v %v, want %v %v", n, gc, gok, wc, wok)
		}
	}
}
