package keeper

import (
	"reflect"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
)

func TestNested(t *testing.T) {
	for _, c := range []struct {
		name     string
		in, want []idmap.Mapping
	}{
		{"rule, process uid 0",
			[]idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
			[]idmap.Mapping{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: 1, Size: 65536}}},
		{"rule, process uid 1000: three lines stay three",
			[]idmap.Mapping{{ContainerID: 0, HostID: 100000, Size: 1000}, {ContainerID: 1000, HostID: 1000, Size: 1}, {ContainerID: 1001, HostID: 101000, Size: 64536}},
			[]idmap.Mapping{{ContainerID: 0, HostID: 0, Size: 1000}, {ContainerID: 1000, HostID: 1000, Size: 1}, {ContainerID: 1001, HostID: 1001, Size: 64536}}},
		{"empty", []idmap.Mapping{}, []idmap.Mapping{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Nested(c.in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Nested(%v) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	a := []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	b := []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65535}}
	k := Key(a, a)
	if len(k) != 24 {
		t.Fatalf("Key = %q, want 24 hex digits", k)
	}
	if Key(a, a) != k {
		t.Errorf("Key is not stable")
	}
	for name, other := range map[string]string{"uid map differs": Key(b, a), "gid map differs": Key(a, b), "maps swapped": Key(a, nil)} {
		if other == k {
			t.Errorf("%s: same key %s", name, k)
		}
	}
}
