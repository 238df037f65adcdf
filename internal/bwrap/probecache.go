package bwrap

import (
	"encoding/json"
	"strconv"
)

// decodeCache decodes a probe cache into c, as json.Unmarshal would, and
// reports whether it could. The cache is the JSON that Probe writes
// (json.Marshal of a probeCache); decoding it with encoding/json costs a
// fresh process about a quarter of a millisecond, mostly to build its
// reflection caches, so that exact shape is read by a small scanner, and
// anything else (other spacing or order, escapes, numbers that are not
// plain integers...) is left to encoding/json.
func decodeCache(data []byte, c *probeCache) bool {
	var fast probeCache
	if decodeCacheFast(data, &fast) {
		*c = fast
		return true
	}
	return json.Unmarshal(data, c) == nil
}

// decodeCacheFast decodes exactly what json.Marshal writes for a
// probeCache whose strings hold only printable ASCII without quotes,
// backslashes or the characters encoding/json escapes for HTML. On success
// the result is the one json.Unmarshal gives (probecache_test.go compares
// them); otherwise it reports false.
func decodeCacheFast(data []byte, c *probeCache) bool {
	// One string for all: the decoded strings are slices of it.
	s := cacheScanner{s: string(data), ok: true}
	s.lit(`{"key":{"path":`)
	c.Key.Path = s.str()
	s.lit(`,"size":`)
	c.Key.Size = s.int(64)
	s.lit(`,"mtime":`)
	c.Key.MTime = s.int(64)
	s.lit(`,"ino":`)
	c.Key.Ino = s.uint(64)
	s.lit(`,"mode":`)
	c.Key.Mode = uint32(s.uint(32))
	s.lit(`,"uid":`)
	c.Key.UID = uint32(s.uint(32))
	s.lit(`},"features":{"Version":`)
	c.Features.Version = s.str()
	s.lit(`,"Options":`)
	if s.peek() == 'n' {
		s.lit("null")
	} else {
		s.lit("{")
		c.Features.Options = make(map[string]bool, 64)
		for first := true; s.ok && s.peek() != '}'; first = false {
			if !first {
				s.lit(",")
			}
			k := s.str()
			s.lit(":")
			c.Features.Options[k] = s.bool()
		}
		s.lit("}")
	}
	s.lit(`,"Setuid":`)
	c.Features.Setuid = s.bool()
	s.lit(`,"LastCap":`)
	c.Features.LastCap = int(s.int(strconv.IntSize))
	s.lit("}}")
	return s.ok && s.i == len(s.s)
}

// cacheScanner reads a probe cache; once ok is false every read fails.
type cacheScanner struct {
	s  string
	i  int
	ok bool
}

func (s *cacheScanner) fail() { s.ok, s.i = false, len(s.s) }

func (s *cacheScanner) peek() byte {
	if s.i < len(s.s) {
		return s.s[s.i]
	}
	return 0
}

// lit reads the bytes of w.
func (s *cacheScanner) lit(w string) {
	if !s.ok || len(s.s)-s.i < len(w) || s.s[s.i:s.i+len(w)] != w {
		s.fail()
		return
	}
	s.i += len(w)
}

// str reads a string of printable ASCII other than '"', '\\', '<', '>'
// and '&' (which json.Marshal would escape).
func (s *cacheScanner) str() string {
	s.lit(`"`)
	start := s.i
	for ; s.i < len(s.s); s.i++ {
		switch c := s.s[s.i]; {
		case c == '"':
			v := s.s[start:s.i]
			s.i++
			return v
		case c < 0x20 || c > 0x7e || c == '\\' || c == '<' || c == '>' || c == '&':
			s.fail()
			return ""
		}
	}
	s.fail()
	return ""
}

func (s *cacheScanner) bool() bool {
	if s.peek() == 't' {
		s.lit("true")
		return true
	}
	s.lit("false")
	return false
}

// digits reads the digits of a JSON integer without sign, exponent or
// fraction.
func (s *cacheScanner) digits() string {
	start := s.i
	for s.i < len(s.s) && '0' <= s.s[s.i] && s.s[s.i] <= '9' {
		s.i++
	}
	d := s.s[start:s.i]
	if d == "" || len(d) > 1 && d[0] == '0' {
		s.fail()
		return ""
	}
	if c := s.peek(); c == '.' || c == 'e' || c == 'E' {
		s.fail()
		return ""
	}
	return d
}

func (s *cacheScanner) int(bits int) int64 {
	if !s.ok {
		return 0
	}
	neg := s.peek() == '-'
	if neg {
		s.i++
	}
	d := s.digits()
	if !s.ok {
		return 0
	}
	if neg {
		d = "-" + d
	}
	n, err := strconv.ParseInt(d, 10, bits)
	if err != nil {
		s.fail()
		return 0
	}
	return n
}

func (s *cacheScanner) uint(bits int) uint64 {
	if !s.ok {
		return 0
	}
	d := s.digits()
	if !s.ok {
		return 0
	}
	n, err := strconv.ParseUint(d, 10, bits)
	if err != nil {
		s.fail()
		return 0
	}
	return n
}
