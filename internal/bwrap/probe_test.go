package bwrap

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
)

func TestFeaturesCheck(t *testing.T) {
	plan, err := Translate(input(config(t, spec.Default(true, testUIDMap, testGIDMap), nil)))
	if err != nil {
		t.Fatal(err)
	}
	without := func(opts ...string) Features {
		f := allFeatures()
		for _, o := range opts {
			delete(f.Options, o)
		}
		return f
	}
	one := []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	tests := []struct {
		name    string
		f       Features
		plan    Plan
		wantErr []string // substrings; none means no error
		notErr  []string
	}{
		{name: "all options", f: allFeatures(), plan: *plan},
		{name: "missing required", f: without("--userns-block-fd", "--cap-add"), plan: Plan{},
			wantErr: []string{"--userns-block-fd", "--cap-add", "0.8.0 or newer", "bwrap 0.8.0 lacks"}},
		{name: "missing options the plan uses", f: without("--size", "--perms", "--tmpfs"), plan: *plan,
			wantErr: []string{"--size", "--perms", "--tmpfs"}, notErr: []string{"--mqueue"}},
		{name: "each missing option named once", f: without("--ro-bind"), plan: *plan,
			wantErr: []string{"lacks --ro-bind:"}},
		{name: "option the plan does not use", f: without("--bind-fd", "--chmod"), plan: *plan},
		{name: "no options at all", f: Features{Version: "0.4.0"}, plan: Plan{},
			wantErr: []string{"bwrap 0.4.0 lacks", "--args", "--as-pid-1", "--info-fd"}, notErr: []string{"--json-status-fd"}},
		{name: "setuid with multi-id maps", f: func() Features { f := allFeatures(); f.Setuid = true; return f }(), plan: *plan,
			wantErr: []string{"setuid"}},
		// A setuid bwrap refuses options and the block-fd protocol
		// bwrap-oci uses: refused whatever the plan.
		{name: "setuid with single-id maps",
			f:       func() Features { f := allFeatures(); f.Setuid = true; return f }(),
			plan:    Plan{NewUserNS: true, UIDMap: one, GIDMap: one},
			wantErr: []string{"setuid", "chmod u-s"}},
		{name: "setuid joining a user namespace",
			f:       func() Features { f := allFeatures(); f.Setuid = true; return f }(),
			plan:    Plan{Join: map[string]string{"user": "/proc/1/ns/user"}},
			wantErr: []string{"setuid"}},
		{name: "not setuid with multi-id maps", f: allFeatures(),
			plan: Plan{NewUserNS: true, UIDMap: toIdmap(testUIDMap), GIDMap: toIdmap(testGIDMap)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Check(&tt.plan)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Errorf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check = nil, want an error with %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %q, want it to contain %q", err, w)
				}
			}
			for _, w := range tt.notErr {
				if strings.Contains(err.Error(), w) {
					t.Errorf("Check = %q, want it not to contain %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "--ro-bind"); tt.name == "each missing option named once" && n != 1 {
				t.Errorf("--ro-bind named %d times: %q", n, err)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	help := "usage: bwrap [OPTIONS...] [--] COMMAND [ARGS...]\n\n" +
		"    --help                       Print this help\n" +
		"    --bind SRC DEST              Bind mount the host path SRC on DEST\n" +
		"  --size BYTES\n" +
		"not --an-option\n" +
		"    --\n"
	got := parseHelp([]byte(help))
	want := map[string]bool{"--help": true, "--bind": true, "--size": true, "--": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseHelp = %v, want %v", got, want)
	}
}

// TestOptionTable checks the tests' table of bwrap options (the one
// checkPlan parses plans with) against the installed bwrap, when there is one.
func TestOptionTable(t *testing.T) {
	path, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("no bwrap installed")
	}
	out, _ := exec.Command(path, "--help").Output()
	seen := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		fs := strings.Fields(line)
		if len(fs) == 0 || !strings.HasPrefix(fs[0], "--") || fs[0] == "--help" || fs[0] == "--version" {
			continue
		}
		n := 0
		for _, w := range fs[1:] {
			if w != strings.ToUpper(w) {
				break
			}
			n++
		}
		seen[fs[0]] = true
		if want, ok := allOptions[fs[0]]; ok && want != n {
			t.Errorf("%s takes %d arguments, the table says %d", fs[0], n, want)
		}
	}
	for o := range allOptions {
		if !seen[o] && len(seen) > 0 {
			t.Logf("%s is not in this bwrap's --help", o)
		}
	}
	for _, o := range Required {
		if len(seen) > 0 && !seen[o] {
			t.Errorf("required option %s is not in %s --help", o, path)
		}
	}
}
