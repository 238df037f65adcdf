// Package spec loads, validates and generates OCI runtime configurations.
//
// Everything here is pure except Load's single file read: errors name the
// file, the JSON field path and what is wrong, on one line.
package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Error is a problem with one field of one config file.
type Error struct {
	File  string // the config file (or bundle) the problem is in
	Field string // JSON path, e.g. "mounts[2].destination"; empty for whole-file problems
	Msg   string
}

func (e *Error) Error() string {
	switch {
	case e.File == "" && e.Field == "":
		return e.Msg
	case e.File == "":
		return e.Field + ": " + e.Msg
	case e.Field == "":
		return e.File + ": " + e.Msg
	}
	return e.File + ": " + e.Field + ": " + e.Msg
}

// Config is a loaded configuration: the typed spec plus the JSON paths that
// were present in the file, so that nothing in it can be ignored silently.
type Config struct {
	File    string
	Spec    *specs.Spec
	Present []string // sorted leaf paths, e.g. "process.args[0]", "linux.sysctl.net.ipv4.ip_forward"
}

// Load reads and decodes a config file. It does not validate it.
func Load(file string) (*Config, error) {
	data, err := ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// Parse decodes config data; file is used in messages only. The fast path
// (fast.go) decodes the usual configs; anything else, errors included, is
// left to encoding/json (parseSlow).
func Parse(file string, data []byte) (*Config, error) {
	if s, present, ok := parseFast(data); ok {
		return &Config{File: file, Spec: s, Present: present}, nil
	}
	return parseSlow(file, data)
}

// parseSlow is Parse with encoding/json: it handles everything the fast
// path (fast.go) leaves to it, and words the errors.
func parseSlow(file string, data []byte) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: file, Msg: "empty file, expected a JSON object"}
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(file, data, err)
	}
	if dec.More() {
		line, col := position(data, dec.InputOffset())
		return nil, &Error{File: file, Msg: fmt.Sprintf("line %d, column %d: invalid JSON: unexpected data after the top-level object", line, col)}
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, &Error{File: file, Msg: "invalid config: the top level must be a JSON object"}
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, jsonError(file, data, err)
	}
	var present []string
	leaves("", obj, &present)
	sort.Strings(present)
	// encoding/json matches names case-insensitively ("Process" fills
	// process), but the spec's names are case-sensitive and a property it
	// does not define must be ignored: decode again without those.
	if dropUnknownTyped(specType, obj) {
		clean, err := json.Marshal(obj)
		if err == nil {
			s = specs.Spec{}
			err = json.Unmarshal(clean, &s)
		}
		if err != nil {
			return nil, &Error{File: file, Msg: "invalid config: " + err.Error()}
		}
	}
	return &Config{File: file, Spec: &s, Present: present}, nil
}

// dropUnknown deletes from the decoded JSON v (at path prefix) every
// property that the runtime spec does not define; it reports whether it
// deleted any.
func dropUnknown(prefix string, v any) bool {
	dropped := false
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			p := pathJoin(prefix, k)
			if !Known(p) {
				delete(t, k)
				dropped = true
				continue
			}
			dropped = dropUnknown(p, e) || dropped
		}
	case []any:
		for i, e := range t {
			dropped = dropUnknown(prefix+"["+strconv.Itoa(i)+"]", e) || dropped
		}
	}
	return dropped
}

// pathJoin appends the property name k to the JSON path prefix; an empty
// name is written "" so that it still names something.
func pathJoin(prefix, k string) string {
	if k == "" {
		k = `""`
	}
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func jsonError(file string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the offending byte: point at it, not after it.
		line, col := position(data, syn.Offset-1)
		return &Error{File: file, Msg: fmt.Sprintf("line %d, column %d: invalid JSON: %s", line, col, syn.Error())}
	case errors.As(err, &typ):
		line, col := position(data, valueStart(data, typ.Offset))
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return &Error{File: file, Field: field, Msg: fmt.Sprintf("expected %s, found a JSON %s (line %d, column %d)", goTypeName(typ.Type.String()), typ.Value, line, col)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, int64(len(data)))
		return &Error{File: file, Msg: fmt.Sprintf("line %d, column %d: invalid JSON: unexpected end of file", line, col)}
	}
	return &Error{File: file, Msg: "invalid JSON: " + err.Error()}
}

// goTypeName turns a Go type into words a config author understands.
func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		elem := goTypeName(t[2:])
		if a, rest, ok := strings.Cut(elem, " "); ok && (a == "a" || a == "an") {
			elem = rest
		}
		switch w, paren, ok := strings.Cut(elem, " ("); {
		case elem == "true or false":
			elem = "booleans"
		case ok:
			elem = w + "s (" + paren
		default:
			elem += "s"
		}
		return "an array of " + elem
	case strings.HasPrefix(t, "map["):
		return "an object"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "uint"):
		return "a non-negative integer (" + t + ")"
	case strings.HasPrefix(t, "int"):
		return "an integer (" + t + ")"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "*"):
		return goTypeName(t[1:])
	}
	return "an object"
}

// valueStart returns the offset of the start of the JSON value that an
// UnmarshalTypeError reports at off: encoding/json gives the offset just after
// a scalar, or just after the opening bracket of an object or array.
func valueStart(data []byte, off int64) int64 {
	if off <= 0 || off > int64(len(data)) {
		return off
	}
	i := off - 1
	switch data[i] {
	case '{', '[':
		return i
	case '"':
		// Back to the opening quote: the first quote not escaped by an
		// odd number of backslashes (a string holds no raw quote).
		for j := i - 1; j >= 0; j-- {
			if data[j] != '"' {
				continue
			}
			n := 0
			for k := j - 1; k >= 0 && data[k] == '\\'; k-- {
				n++
			}
			if n%2 == 0 {
				return j
			}
		}
		return i
	}
	for i > 0 && strings.IndexByte("0123456789+-.eEtrufalsn", data[i-1]) >= 0 {
		i--
	}
	return i
}

// position converts a byte offset into a 1-based line and column (counted
// in characters, not bytes, so that it matches what an editor shows).
func position(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 1
		} else if b&0xC0 != 0x80 { // not a UTF-8 continuation byte
			col++
		}
	}
	return line, col
}

// leaves appends the JSON path of every non-empty leaf below v.
func leaves(prefix string, v any, out *[]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			leaves(pathJoin(prefix, k), e, out)
		}
	case []any:
		for i, e := range t {
			leaves(prefix+"["+strconv.Itoa(i)+"]", e, out)
		}
	case nil:
	default:
		*out = append(*out, prefix)
	}
}

// Covers reports whether the JSON path p lies at or below prefix.
func Covers(prefix, p string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	rest := p[len(prefix):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}
