package spec

import (
	"reflect"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Known reports whether a JSON path (as in Config.Present) names a property
// that the runtime spec defines: it walks the spec's Go types by their JSON
// names. Below a map (annotations, sysctl, ...) every key is known.
func Known(path string) bool {
	t := reflect.TypeOf(specs.Spec{})
	for _, seg := range segments(path) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case seg == "[]":
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return false
			}
			t = t.Elem()
		case t.Kind() == reflect.Map:
			return true
		case t.Kind() == reflect.Struct:
			f, ok := fieldByJSON(t, seg)
			if !ok {
				return false
			}
			t = f.Type
		default:
			return false
		}
	}
	return true
}

// segments splits "mounts[1].options[0]" into mounts, [], options, [].
func segments(path string) []string {
	var out []string
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			out = append(out, name)
		}
		for rest != "" {
			out = append(out, "[]")
			_, rest, _ = strings.Cut(rest, "[")
		}
	}
	return out
}

func fieldByJSON(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if sf, ok := fieldByJSON(f.Type, name); ok {
				return sf, true
			}
			continue
		}
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
