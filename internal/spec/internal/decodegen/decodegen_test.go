package decodegen

import (
	"reflect"
	"strings"
	"testing"
)

// Types with what the generator must refuse, and one whose fields are
// named in all the ways it supports.
type (
	withFloat struct {
		F float64 `json:"f"`
	}
	withArray struct {
		A [2]int `json:"a"`
	}
	withString struct {
		N int `json:"n,string"`
	}
	withIntKeys struct {
		M map[int]string `json:"m"`
	}
	withBytes struct {
		B []byte `json:"b"`
	}
	withOddName struct {
		X string `json:"a.b"`
	}
	withEmbedPtr struct{ *Inner }
	withPtrPtr   struct {
		P **int `json:"p"`
	}
	withUnexpEmb struct{ inner }
	inner        struct{ I int }
	Inner        struct {
		I int `json:"i"`
	}
	Other     struct{ I int }
	Another   struct{ I int }
	ambiguous struct {
		Other
		Another
	}
	// untagged: encoding/json decodes Plain, the spec's Known does not know
	// it, so the slow path drops it: the fast path must not decode it.
	untagged struct {
		Plain  string
		Tagged string `json:"tagged"`
		Skip   string `json:"-"`
		Inner
	}
)

func TestRefused(t *testing.T) {
	for _, v := range []any{withFloat{}, withArray{}, withString{}, withIntKeys{}, withBytes{}, withOddName{},
		withEmbedPtr{}, withPtrPtr{}, withUnexpEmb{}, ambiguous{}} {
		if _, err := generate(reflect.TypeOf(v)); err == nil {
			t.Errorf("%T: generated, want an error", v)
		} else {
			t.Logf("%T: %v", v, err)
		}
	}
}

func TestUntagged(t *testing.T) {
	src, err := generate(reflect.TypeOf(untagged{}))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	for _, want := range []string{`[]string{"Plain", "tagged", "i"}`, `case "tagged":`, `case "i":`, "v.Inner.I = int(x)"} {
		if !strings.Contains(s, want) {
			t.Errorf("generated code lacks %s:\n%s", want, s)
		}
	}
	for _, bad := range []string{`case "Plain":`, `Skip`} {
		if strings.Contains(s, bad) {
			t.Errorf("generated code has %s:\n%s", bad, s)
		}
	}
}
