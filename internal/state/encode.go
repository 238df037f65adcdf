package state

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// marshalState returns json.Marshal(st), byte for byte. A fresh process
// that encodes its first State with encoding/json builds the package's
// reflection caches first (about 0.1 ms), for one small struct: this writes
// it directly. encode_test.go compares the two.
func marshalState(st *State) ([]byte, error) {
	created, err := st.Created.MarshalJSON()
	if err != nil {
		return json.Marshal(st) // its error, worded as before
	}
	b := make([]byte, 0, 320)
	b = append(b, `{"ociVersion":`...)
	b = appendString(b, st.OCIVersion)
	b = append(b, `,"id":`...)
	b = appendString(b, st.ID)
	b = append(b, `,"bundle":`...)
	b = appendString(b, st.Bundle)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(st.Pid), 10)
	b = append(b, `,"pidStart":`...)
	b = strconv.AppendUint(b, st.PidStart, 10)
	b = append(b, `,"monitorPid":`...)
	b = strconv.AppendInt(b, int64(st.MonitorPid), 10)
	b = append(b, `,"created":`...)
	b = append(b, created...)
	if len(st.Annotations) > 0 {
		b = append(b, `,"annotations":`...)
		b = appendMap(b, st.Annotations)
	}
	b = append(b, `,"status":`...)
	b = appendString(b, string(st.Status))
	b = append(b, `,"owner":`...)
	b = strconv.AppendInt(b, int64(st.Owner), 10)
	if len(st.Extra) > 0 {
		b = append(b, `,"extra":`...)
		b = appendMap(b, st.Extra)
	}
	return append(b, '}'), nil
}

// appendMap appends m as encoding/json does: keys sorted.
func appendMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json's Marshal quotes it (with
// HTML escaping): control characters, '"', '\\', '<', '>' and '&'
// escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
