package spec

import (
	"reflect"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Known reports whether a JSON path (as in Config.Present) names a property
// that the runtime spec defines: it walks the spec's Go types by their JSON
// names. Below a map (annotations, sysctl, ...) every key is known.
func Known(path string) bool {
	t := specType
	for _, seg := range segments(path) {
		var ok bool
		if t, ok = child(t, seg); !ok {
			return false
		}
		if t == nil {
			return true
		}
	}
	return true
}

var specType = reflect.TypeOf(specs.Spec{})

// child is the type of property seg ("[]" for an array element) of a value
// of type t: nil when anything goes below it (a map), ok false when t has
// no such property.
func child(t reflect.Type, seg string) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Map:
		return nil, true
	case seg == "[]":
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil, false
		}
		return t.Elem(), true
	case t.Kind() == reflect.Struct:
		f, ok := fields(t)[seg]
		return f, ok
	}
	return nil, false
}

var fieldIndex sync.Map // reflect.Type -> map[string]reflect.Type

// fields maps the JSON names of a struct's properties to their types.
func fields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldIndex.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && tag == "" {
				add(f.Type)
				continue
			}
			if tag != "" && tag != "-" {
				m[tag] = f.Type
			}
		}
	}
	add(t)
	fieldIndex.Store(t, m)
	return m
}

// dropUnknownTyped removes, in one walk, every property of v that the type t
// does not define; it reports whether it removed any.
func dropUnknownTyped(t reflect.Type, v any) bool {
	if t == nil {
		return false
	}
	dropped := false
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			ct, ok := child(t, k)
			if !ok {
				delete(x, k)
				dropped = true
				continue
			}
			dropped = dropUnknownTyped(ct, e) || dropped
		}
	case []any:
		et, ok := child(t, "[]")
		if !ok {
			return false
		}
		for _, e := range x {
			dropped = dropUnknownTyped(et, e) || dropped
		}
	}
	return dropped
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
