package spec

// The fast path of Parse: a small JSON scanner and the generated decoders
// in decode_gen.go fill a specs.Spec and collect Present in one pass,
// without encoding/json, whose reflection caches cost a fresh process more
// than a millisecond on the first config it decodes.
//
// The fast path never reports an error. On anything it does not handle, or
// that encoding/json might treat differently (a syntax error, a type
// mismatch, a number out of range, a property given twice, invalid UTF-8,
// nesting deeper than maxDepth, a property whose name differs from a spec
// name only in case, ...), it gives up and Parse runs the slow path, which
// decodes with encoding/json and words the error: errors are the slow
// path's by construction. On success its result equals the slow path's
// (fast_test.go compares them).

//go:generate go run ./gen

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// maxDepth is the deepest nesting of objects and arrays the fast path
	// decodes (encoding/json allows 10000; configs use about 6).
	maxDepth = 256
	// maxKeys is the most properties an object with no type in the spec
	// (an unknown property's value) may have: their names are checked for
	// duplicates one by one.
	maxKeys = 64
	// intSize is the size of int and uint in bits.
	intSize = strconv.IntSize
)

// parseFast decodes a config in one pass: the spec and the sorted JSON
// paths of its non-null scalar leaves, as the slow path would. ok is false
// when the slow path must decide.
func parseFast(data []byte) (s *specs.Spec, present []string, ok bool) {
	d := decoder{
		s:      string(data),
		path:   make([]byte, 0, 64),
		leaves: make([]byte, 0, 2*len(data)), // the paths of a compact config are a little longer than it
		ends:   make([]int, 0, 64),
	}
	if d.peek() != '{' {
		return nil, nil, false
	}
	s = new(specs.Spec)
	d.decodeSpec(s)
	d.space()
	if d.slow || d.i != len(d.s) {
		return nil, nil, false
	}
	if len(d.ends) == 0 {
		return s, nil, true // as the slow path: no leaves, no slice
	}
	all, start := string(d.leaves), 0
	present = make([]string, len(d.ends))
	for i, end := range d.ends {
		present[i] = all[start:end]
		start = end
	}
	slices.Sort(present)
	return s, present, true
}

// decoder is the state of the fast path. Once slow is set, the read offset
// is at the end of the input, so every loop ends at once.
type decoder struct {
	s      string   // the input; decoded strings without escapes are slices of it
	i      int      // read offset in s
	key    string   // the name of the property that member just read
	path   []byte   // JSON path of the value being decoded, built like pathJoin
	leaves []byte   // the paths of the non-null scalar leaves decoded so far, one after the other
	ends   []int    // where each path in leaves ends
	keys   []string // names of the members read so far, for duplicate checks (a stack: see keyOnce)
	depth  int      // nesting of the objects and arrays being decoded
	slow   bool     // the input needs the slow path
}

// fail gives up: the slow path will decode the input.
func (d *decoder) fail() {
	d.slow = true
	d.i = len(d.s)
}

// space skips JSON white space.
func (d *decoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, 0 at the end.
func (d *decoder) peek() byte {
	d.space()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// literal consumes the literal word (true, false or null) at the read
// offset, or fails.
func (d *decoder) literal(word string) {
	if !strings.HasPrefix(d.s[d.i:], word) {
		d.fail()
		return
	}
	d.i += len(word)
}

// null consumes a null, if that is the next value, and reports whether it
// did. encoding/json leaves a struct or scalar unchanged on null and sets a
// pointer, slice, map or interface to nil: as every value starts out zero
// and no property may be given twice, both mean doing nothing.
func (d *decoder) null() bool {
	if d.peek() != 'n' {
		return false
	}
	d.literal("null")
	return !d.slow
}

// leaf records the current path as a non-null scalar leaf. The paths are
// cut out of one string at the end, rather than allocated one by one.
func (d *decoder) leaf() {
	d.leaves = append(d.leaves, d.path...)
	d.ends = append(d.ends, len(d.leaves))
}

// pushKey appends the property name k to the current path, as pathJoin
// does, and returns the length to truncate the path back to.
func (d *decoder) pushKey(k string) int {
	n := len(d.path)
	if n > 0 {
		d.path = append(d.path, '.')
	}
	if k == "" {
		k = `""`
	}
	d.path = append(d.path, k...)
	return n
}

// pushIndex appends the array index [i] to the current path and returns
// the length to truncate the path back to.
func (d *decoder) pushIndex(i int) int {
	n := len(d.path)
	d.path = append(d.path, '[')
	d.path = strconv.AppendInt(d.path, int64(i), 10)
	d.path = append(d.path, ']')
	return n
}

// object starts an object: it consumes the opening brace and reports true,
// or consumes a null and reports false, or fails on anything else.
func (d *decoder) object() bool { return d.open('{') }

// array starts an array like object starts an object.
func (d *decoder) array() bool { return d.open('[') }

// open starts an object or array whose opening byte is c (see object).
func (d *decoder) open(c byte) bool {
	switch d.peek() {
	case c:
		d.i++
		if d.depth++; d.depth > maxDepth {
			d.fail()
			return false
		}
		return true
	case 'n':
		d.literal("null")
		return false
	}
	d.fail()
	return false
}

// next steps to item i of an object or an array that ends with close:
// over the comma before it, or, reporting false, over close at the end.
func (d *decoder) next(close byte, i int) bool {
	c := d.peek()
	if c == close {
		d.i++
		d.depth--
		return false
	}
	if i > 0 {
		if c != ',' {
			d.fail()
			return false
		}
		d.i++
	}
	return true
}

// member reads the name of the next member of an object (i members have
// been read) and the colon after it: the name is in d.key. It reports false,
// having consumed the closing brace, at the end of the object.
func (d *decoder) member(i int) bool {
	if !d.next('}', i) {
		return false
	}
	if d.peek() != '"' {
		d.fail()
		return false
	}
	k := d.str()
	if d.peek() != ':' {
		d.fail()
		return false
	}
	d.i++
	d.key = k
	return true
}

// element moves to the next element of an array (i elements have been
// read); it reports false, having consumed the closing bracket, at the end.
func (d *decoder) element(i int) bool {
	if !d.next(']', i) {
		return false
	}
	return !d.slow // the element decoder fails on anything but a value
}

// once checks that the struct field with the given bit in seen has not
// been given before in this object: encoding/json would merge the two
// values, the slow path's generic decoding would keep the last one.
func (d *decoder) once(seen *uint64, bit uint64) bool {
	if *seen&bit != 0 {
		d.fail()
		return false
	}
	*seen |= bit
	return true
}

// keyOnce checks that d.key has not been read before in the current object,
// whose names start at d.keys[base], and records it.
func (d *decoder) keyOnce(base int) bool {
	names := d.keys[base:]
	if len(names) >= maxKeys || slices.Contains(names, d.key) {
		d.fail()
		return false
	}
	d.keys = append(d.keys, d.key)
	return true
}

// unknown handles a property (d.key) that a struct does not define: its
// value is skipped, its leaves still recorded. names are the struct's JSON
// names: encoding/json matches names case-insensitively, so it would decode
// (and perhaps refuse) a value whose name differs from one only in case,
// which the slow path then drops. Leave those to the slow path.
func (d *decoder) unknown(base int, names []string) {
	for _, n := range names {
		if foldEqual(d.key, n) {
			d.fail()
			return
		}
	}
	if d.keyOnce(base) {
		d.skip()
	}
}

// foldEqual reports whether k and name might be the same name to
// encoding/json, which folds case as strings.EqualFold does. It also
// ignores dashes and underscores, as the case-insensitive matching of
// encoding/json/v2 does, to stay on the safe side.
func foldEqual(k, name string) bool {
	undelimit := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "-", ""), "_", "")
	}
	return strings.EqualFold(undelimit(k), undelimit(name))
}

// skip validates and skips one value of any type, recording its leaves.
func (d *decoder) skip() {
	switch d.peek() {
	case '{':
		if !d.object() {
			return
		}
		base := len(d.keys)
		for i := 0; d.member(i); i++ {
			if !d.keyOnce(base) {
				return
			}
			mark := d.pushKey(d.key)
			d.skip()
			d.path = d.path[:mark]
		}
		d.keys = d.keys[:base]
	case '[':
		if !d.array() {
			return
		}
		for i := 0; d.element(i); i++ {
			mark := d.pushIndex(i)
			d.skip()
			d.path = d.path[:mark]
		}
	case '"':
		d.str()
		d.leaf()
	case 't':
		d.literal("true")
		d.leaf()
	case 'f':
		d.literal("false")
		d.leaf()
	case 'n':
		d.literal("null")
	default:
		d.number()
		d.leaf()
	}
}

// anyField decodes the value of an interface{} field as encoding/json
// does (objects, arrays, float64, string, bool, nil). The slow path drops
// every property of an object there (the spec defines none), so a
// non-empty object is left to it.
func (d *decoder) anyField() any {
	if d.peek() != '{' {
		return d.anyValue()
	}
	d.i++
	if d.peek() != '}' {
		d.fail()
		return nil
	}
	d.i++
	return map[string]any{}
}

// anyValue decodes one value of any type as encoding/json decodes it into
// an interface{}, recording its leaves.
func (d *decoder) anyValue() any {
	switch d.peek() {
	case '{':
		if !d.object() {
			return nil
		}
		m := map[string]any{}
		for i := 0; d.member(i); i++ {
			k := d.key
			if _, dup := m[k]; dup {
				d.fail()
				return nil
			}
			mark := d.pushKey(k)
			m[k] = d.anyValue()
			d.path = d.path[:mark]
		}
		return m
	case '[':
		if !d.array() {
			return nil
		}
		a := []any{}
		for i := 0; d.element(i); i++ {
			mark := d.pushIndex(i)
			a = append(a, d.anyValue())
			d.path = d.path[:mark]
		}
		return a
	case '"':
		s := d.str()
		d.leaf()
		return s
	case 't':
		d.literal("true")
		d.leaf()
		return true
	case 'f':
		d.literal("false")
		d.leaf()
		return false
	case 'n':
		d.literal("null")
		return nil
	}
	lit := d.number()
	if d.slow {
		return nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil { // out of range: encoding/json refuses it
		d.fail()
		return nil
	}
	d.leaf()
	return f
}

// readString decodes a string value: ok is false for null (and on failure).
func (d *decoder) readString() (s string, ok bool) {
	switch d.peek() {
	case '"':
		s = d.str()
		if d.slow {
			return "", false
		}
		d.leaf()
		return s, true
	case 'n':
		d.literal("null")
		return "", false
	}
	d.fail()
	return "", false
}

// readBool decodes a boolean value: ok is false for null (and on failure).
func (d *decoder) readBool() (b, ok bool) {
	switch d.peek() {
	case 't':
		d.literal("true")
		b = true
	case 'f':
		d.literal("false")
	case 'n':
		d.literal("null")
		return false, false
	default:
		d.fail()
	}
	if d.slow {
		return false, false
	}
	d.leaf()
	return b, true
}

// readInt decodes a number into a signed integer of the given size in
// bits: ok is false for null (and on failure). Like encoding/json, it
// refuses a fraction, an exponent and a value out of range.
func (d *decoder) readInt(bits int) (n int64, ok bool) {
	neg, u, ok := d.readDigits()
	if !ok {
		return 0, false
	}
	limit := uint64(1)<<(bits-1) - 1
	if neg {
		limit++
	}
	if u > limit {
		d.fail()
		return 0, false
	}
	if neg {
		return -int64(u), true // two's complement: right for -1<<63 too
	}
	return int64(u), true
}

// readUint decodes a number into an unsigned integer of the given size
// in bits; like readInt, and it refuses a minus sign, even on 0, as
// strconv.ParseUint (which encoding/json uses) does.
func (d *decoder) readUint(bits int) (n uint64, ok bool) {
	neg, u, ok := d.readDigits()
	if !ok {
		return 0, false
	}
	if neg || bits < 64 && u > uint64(1)<<bits-1 {
		d.fail()
		return 0, false
	}
	return u, true
}

// readDigits decodes a number that is an integer into its sign and
// magnitude: ok is false for null (and on failure, which includes a
// fraction, an exponent and a magnitude above 1<<64-1).
func (d *decoder) readDigits() (neg bool, u uint64, ok bool) {
	switch c := d.peek(); {
	case c == 'n':
		d.literal("null")
		return false, 0, false
	case c != '-' && (c < '0' || c > '9'):
		d.fail()
		return false, 0, false
	}
	lit := d.number()
	if d.slow {
		return false, 0, false
	}
	if lit[0] == '-' {
		neg, lit = true, lit[1:]
	}
	for j := 0; j < len(lit); j++ {
		c := lit[j]
		if c < '0' || c > '9' || u > (1<<64-1)/10 {
			d.fail()
			return false, 0, false
		}
		next := u*10 + uint64(c-'0')
		if next < u*10 {
			d.fail()
			return false, 0, false
		}
		u = next
	}
	d.leaf()
	return neg, u, true
}

// number consumes a number and returns it as written. It checks the JSON
// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() string {
	s, start, j := d.s, d.i, d.i
	digits := func() bool { // one or more
		k := j
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(s) && s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case !digits():
		d.fail()
		return ""
	}
	if j < len(s) && s[j] == '.' {
		j++
		if !digits() {
			d.fail()
			return ""
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if !digits() {
			d.fail()
			return ""
		}
	}
	d.i = j
	return s[start:j]
}

// str consumes a string (the read offset is at its opening quote) and
// returns its value. Without escapes, that is a slice of the input.
func (d *decoder) str() string {
	s, start := d.s, d.i+1
	ascii := true
	for j := start; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v := s[start:j]
			if !ascii && !utf8.ValidString(v) {
				// encoding/json replaces invalid bytes with U+FFFD.
				d.fail()
				return ""
			}
			d.i = j + 1
			return v
		case c == '\\':
			return d.unescape(start)
		case c < 0x20:
			d.fail()
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	d.fail()
	return ""
}

// unescape consumes the rest of a string with escapes, which starts at
// start, and returns its value.
func (d *decoder) unescape(start int) string {
	s := d.s
	var b []byte
	for j := start; j < len(s); {
		switch c := s[j]; {
		case c == '"':
			// Escapes only produce whole UTF-8 sequences, so that the
			// result is valid exactly when the raw parts are.
			if !utf8.Valid(b) {
				d.fail()
				return ""
			}
			d.i = j + 1
			return string(b)
		case c < 0x20:
			d.fail()
			return ""
		case c != '\\':
			b = append(b, c)
			j++
			continue
		}
		if j+1 == len(s) {
			break
		}
		switch e := s[j+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s[j+2:])
			if !ok {
				d.fail()
				return ""
			}
			j += 4
			if utf16.IsSurrogate(r) {
				// As encoding/json: a valid pair of escapes is one
				// character, anything else U+FFFD.
				r2 := rune(-1)
				if strings.HasPrefix(s[j+2:], `\u`) {
					if x, ok := hex4(s[j+4:]); ok {
						r2 = x
					}
				}
				if r = utf16.DecodeRune(r, r2); r != utf8.RuneError {
					j += 6
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			d.fail()
			return ""
		}
		j += 2
	}
	d.fail()
	return ""
}

// hex4 decodes the four hexadecimal digits that s starts with.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
