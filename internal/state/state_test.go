package state

import (
	"os"
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	good := []string{
		"a", "A", "0", "abc", "my-container", "my_container", "c.1", "a+b", ".hidden", "a..b", "..a", "a-",
		"_", "+", "...", strings.Repeat("x", MaxIDLength),
		"0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdefABCD",
	}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	bad := []struct{ id, want string }{
		{"", `invalid container ID "": must not be empty`},
		{"a/b", `invalid container ID "a/b": contains '/'`},
		{"/", `contains '/'`},
		{"..", `must not be "." or ".."`},
		{".", `must not be "." or ".."`},
		{"a\x00b", `invalid container ID "a\x00b": contains '\x00'`},
		{"-a", `must not start with '-'`},
		{"-", `must not start with '-'`},
		{"a b", `contains ' '`},
		{"a:b", `contains ':'`},
		{"a\nb", `contains '\n'`},
		{"é", `contains 'é'`},
		{"a\xffb", `contains byte 0xff`},
		{"a*", `contains '*'`},
		{strings.Repeat("x", MaxIDLength+1), `longer than 255 bytes`},
		{strings.Repeat("x", 1025), `longer than 255 bytes`},
		{strings.Repeat("x", 100000), `(100000 bytes): longer than`},
	}
	for _, tc := range bad {
		err := ValidateID(tc.id)
		if err == nil {
			t.Errorf("ValidateID(%q) = nil, want error", tc.id)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("ValidateID(%.40q) = %q, want it to contain %q", tc.id, msg, tc.want)
		}
		if !strings.HasPrefix(msg, "invalid container ID ") || strings.Contains(msg, "\n") || len(msg) > 300 {
			t.Errorf("ValidateID(%.40q) = %q: want one short line starting with 'invalid container ID'", tc.id, msg)
		}
	}
}

func setEUID(t *testing.T, euid int) {
	old := geteuid
	geteuid = func() int { return euid }
	t.Cleanup(func() { geteuid = old })
}

func TestDefaultRoot(t *testing.T) {
	setEUID(t, 0)
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got, err := DefaultRoot(); err != nil || got != "/run/bwrap-oci" {
		t.Errorf("euid 0: DefaultRoot() = %q, %v; want /run/bwrap-oci", got, err)
	}

	setEUID(t, 1000)
	if got, err := DefaultRoot(); err != nil || got != "/run/user/1000/bwrap-oci" {
		t.Errorf("euid 1000: DefaultRoot() = %q, %v; want /run/user/1000/bwrap-oci", got, err)
	}

	t.Setenv("XDG_RUNTIME_DIR", "")
	os.Unsetenv("XDG_RUNTIME_DIR")
	_, err := DefaultRoot()
	if err == nil {
		t.Fatal("XDG_RUNTIME_DIR unset: DefaultRoot() succeeded")
	}
	for _, want := range []string{"XDG_RUNTIME_DIR", "/run/user/1000", "--root"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	t.Setenv("XDG_RUNTIME_DIR", "relative/dir")
	if got, err := DefaultRoot(); err == nil {
		t.Errorf("relative XDG_RUNTIME_DIR: DefaultRoot() = %q, want error", got)
	}
}
