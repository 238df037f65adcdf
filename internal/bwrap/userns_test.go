package bwrap

import (
	"reflect"
	"testing"
)

func TestArgsJoiningUserNS(t *testing.T) {
	p := &Plan{NewUserNS: true, Opts: []Opt{
		{Name: "--unshare-user"},
		{Name: "--uid", Args: []string{"0"}},
		{Name: "--gid", Args: []string{"0"}},
		{Name: "--unshare-pid"},
		// An environment variable named like an option stays.
		{Name: "--setenv", Args: []string{"--uid", "7"}},
		{Name: "--bind", Args: []string{"/r", "/"}},
	}}
	got := p.ArgsJoiningUserNS("9")
	want := []string{"--userns", "9", "--unshare-pid", "--setenv", "--uid", "7", "--bind", "/r", "/"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ArgsJoiningUserNS = %q, want %q", got, want)
	}
	// Args is unchanged.
	if a := p.Args(); a[0] != "--unshare-user" || len(a) != 12 {
		t.Fatalf("Args changed: %q", a)
	}
}
