package main

import (
	"strings"
	"testing"
)

// TestPreservedFDs: --preserve-fds N and --preserve-fds=N are found before
// cobra parses the command line, on any command, and not after "--".
func TestPreservedFDs(t *testing.T) {
	for _, c := range []struct {
		args string
		want int
	}{
		{"bwrap-oci run -b b id", 0},
		{"bwrap-oci run --preserve-fds 2 -b b id", 2},
		{"bwrap-oci run --preserve-fds=3 id", 3},
		{"bwrap-oci create -b b --preserve-fds 1 id", 1},
		{"bwrap-oci --root /r exec --preserve-fds=5 id sh", 5},
		{"bwrap-oci exec -d --preserve-fds 4 id -- sleep 1", 4},
		{"bwrap-oci run --preserve-fds 0 id", 0},
		// After "--", the words are the container's command.
		{"bwrap-oci exec id -- --preserve-fds 4", 0},
		{"bwrap-oci exec id -- cmd --preserve-fds=4", 0},
		// exec's flags end at the ID: the rest is the process's command.
		{"bwrap-oci exec id cmd --preserve-fds 5", 0},
		{"bwrap-oci exec -u 0 id cmd --preserve-fds 5", 0},
		{"bwrap-oci exec --cwd /x --preserve-fds 2 id cmd", 2},
		{"bwrap-oci run -- --preserve-fds=4", 0},
		// Invalid values keep nothing open.
		{"bwrap-oci run --preserve-fds", 0},
		{"bwrap-oci run --preserve-fds x id", 0},
		{"bwrap-oci run --preserve-fds=-1 id", 0},
		{"bwrap-oci run --preserve-fds= id", 0},
		{"bwrap-oci run --preserve-fds=65536 id", 0},
		{"bwrap-oci run --preserve-fds=65535 id", 65535},
		// Other flags of the same prefix are not it.
		{"bwrap-oci run --preserve-fdsx=4 id", 0},
		{"bwrap-oci run -preserve-fds=4 id", 0},
	} {
		if got := preservedFDs(strings.Fields(c.args)); got != c.want {
			t.Errorf("preservedFDs(%q) = %d, want %d", c.args, got, c.want)
		}
	}
	if got := preservedFDs(nil); got != 0 {
		t.Errorf("preservedFDs(nil) = %d, want 0", got)
	}
}

// TestOneLine: an error quoting several lines is logged on one.
func TestOneLine(t *testing.T) {
	if got := oneLine("a\nb\r\nc"); got != "a b  c" {
		t.Errorf("oneLine = %q, want %q", got, "a b  c")
	}
}

// TestVersionTemplate: --version prints runc's three lines.
func TestVersionTemplate(t *testing.T) {
	root := newRoot()
	var out strings.Builder
	root.SetOut(&out)
	root.SetArgs([]string{"--version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "bwrap-oci version "+version ||
		!strings.HasPrefix(lines[1], "commit: ") || !strings.HasPrefix(lines[2], "spec: 1.") {
		t.Errorf("--version = %q, want \"bwrap-oci version %s\", \"commit: ...\", \"spec: 1.x.y\"", lines, version)
	}
}

// TestGlobalFlagValues: an unknown --log-format or --rootless value fails
// before any command runs.
func TestGlobalFlagValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--log-format", "yaml", "features"}, `--log-format: "yaml" is not text or json`},
		{[]string{"--log-format=xml", "features"}, `--log-format: "xml" is not text or json`},
		{[]string{"--rootless=maybe", "features"}, `--rootless: "maybe" is not auto, true or false`},
	} {
		root := newRoot()
		var out strings.Builder
		root.SetOut(&out)
		root.SetArgs(c.args)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.args, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%q printed %q before failing", c.args, out.String())
		}
	}
}
