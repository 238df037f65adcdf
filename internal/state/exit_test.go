package state

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExitCode(t *testing.T) {
	s := newStore(t)
	c, err := s.Create("exit")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, ok := c.ExitCode(); ok {
		t.Errorf("no status file: ExitCode() = %d, true", code)
	}
	path := filepath.Join(c.Dir(), StatusFile)
	cases := []struct {
		name, content string
		code          int
		ok            bool
	}{
		{"empty", "", 0, false},
		{"child-pid only", `{ "child-pid": 2408, "cgroup-namespace": 4026532182 }` + "\n", 0, false},
		{"child-pid partial", `{ "child-pid": 2408, "cgroup-na`, 0, false},
		{"exit 0", `{ "child-pid": 2408, "cgroup-namespace": 4026532182 }` + "\n" + `{ "exit-code": 0 }` + "\n", 0, true},
		{"exit 3", `{ "child-pid": 2408 }` + "\n" + `{ "exit-code": 3 }` + "\n", 3, true},
		{"exit 137 no newline", `{ "child-pid": 2408 }` + "\n" + `{ "exit-code": 137 }`, 137, true},
		{"exit code partial", `{ "child-pid": 2408 }` + "\n" + `{ "exit-code": 1`, 0, false},
		{"exit then partial line", `{ "child-pid": 1 }` + "\n" + `{ "exit-code": 42 }` + "\n" + `{ "chi`, 42, true},
		{"garbage line", "not json\n" + `{ "exit-code": 5 }` + "\n", 5, true},
		{"non-object", "[1,2]\n3\n\"x\"\nnull\n", 0, false},
		{"exit-code not a number", `{ "exit-code": "1" }` + "\n", 0, false},
	}
	for _, tc := range cases {
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		code, ok := c.ExitCode()
		if code != tc.code || ok != tc.ok {
			t.Errorf("%s: ExitCode() = %d, %v; want %d, %v", tc.name, code, ok, tc.code, tc.ok)
		}
	}
	// A status file that is not ours is not trusted.
	if err := os.WriteFile(path, []byte(`{ "exit-code": 9 }`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.ExitCode(); !ok {
		t.Fatal("own status file not read")
	}
	setEUID(t, os.Geteuid()+1)
	if code, ok := c.ExitCode(); ok {
		t.Errorf("foreign status file: ExitCode() = %d, true", code)
	}
}
