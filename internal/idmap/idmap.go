// Package idmap parses subordinate id files (/etc/subuid, /etc/subgid),
// computes the project's user-namespace id mapping rule, and validates
// mappings requested by a config. Everything here except apply.go is pure.
//
// Id 4294967295 ((uid_t)-1) is never a valid id, and the kernel rejects any
// uid_map/gid_map line whose range end (start+size, computed in 32 bits)
// wraps, so the largest mappable id is MaxID = 4294967294 and every range
// produced or accepted here satisfies start+size <= 4294967295.
package idmap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
)

// MaxID is the largest id that can appear in a mapping.
const MaxID = math.MaxUint32 - 1

// MaxMappings is the kernel's limit on uid_map/gid_map lines.
const MaxMappings = 340

// idEnd is the exclusive upper bound of every valid range (start+size <= idEnd).
const idEnd = uint64(math.MaxUint32)

// Range is a subordinate range from /etc/subuid or /etc/subgid.
type Range struct{ Start, Length uint32 }

// Mapping is one line of uid_map/gid_map.
type Mapping struct{ ContainerID, HostID, Size uint32 }

// clamp shortens r so that it ends at or before idEnd.
func clamp(r Range) Range {
	if uint64(r.Start)+uint64(r.Length) > idEnd {
		r.Length = uint32(idEnd - uint64(r.Start))
	}
	return r
}

// ParseSubID reads /etc/subuid-format text ("owner:start:count" per line) and
// returns, in file order, the ranges whose owner equals name or the decimal
// form of id. Blank lines and lines starting with '#' (after leading
// whitespace) are skipped. A trailing '\r' is stripped (CRLF files). Lines
// that do not have exactly three ':'-separated fields, whose start or count is
// not a plain decimal number fitting in 32 bits, or whose count is 0 are
// skipped. The owner is compared exactly (no trimming), like shadow does. A
// range reaching past MaxID is clamped to end at MaxID; if nothing remains it
// is skipped. An empty name matches no owner. ParseSubID never panics; a read
// error ends parsing and the complete lines read so far count.
func ParseSubID(r io.Reader, name string, id uint32) []Range {
	if r == nil {
		return nil
	}
	idStr := strconv.FormatUint(uint64(id), 10)
	var out []Range
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		// On a read error other than EOF the partial last line may be cut
		// short (e.g. a count losing digits), so it is dropped.
		if line != "" && (err == nil || err == io.EOF) {
			if rg, ok := parseLine(line, name, idStr); ok {
				out = append(out, rg)
			}
		}
		if err != nil {
			return out
		}
	}
}

func parseLine(line, name, idStr string) (Range, bool) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
		return Range{}, false
	}
	f := strings.Split(line, ":")
	if len(f) != 3 {
		return Range{}, false
	}
	owner := f[0]
	if owner == "" || (owner != name && owner != idStr) {
		return Range{}, false
	}
	start, ok1 := parseDec(f[1])
	count, ok2 := parseDec(f[2])
	if !ok1 || !ok2 || count == 0 {
		return Range{}, false
	}
	rg := clamp(Range{Start: start, Length: count})
	if rg.Length == 0 {
		return Range{}, false
	}
	return rg, true
}

// parseDec accepts only ASCII decimal digits (no sign, no spaces).
func parseDec(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(v), true
}

// LookupSubID opens path and parses it with ParseSubID. A missing file gives
// no ranges and a nil error; other errors are returned with the path.
func LookupSubID(path, name string, id uint32) ([]Range, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading subordinate ids: %w", err) // *PathError names path
	}
	defer f.Close()
	// Read fully first so that read errors are reported, not silently truncated.
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading subordinate ids: %w", err) // *PathError names path
	}
	return ParseSubID(strings.NewReader(string(data)), name, id), nil
}

// Rule implements the project's mapping rule. s is the container id the
// process runs as, h the caller's host id, r the caller's first subordinate
// range (F=r.Start, N=r.Length):
//
//	s == 0:      {0 h 1}, {1 F N}
//	0 < s < N:   {0 F s}, {s h 1}, {s+1 F+s N-s}
//	s >= N:      {0 F N}, {s h 1}
//
// Put generally: s maps to h, and container ids 0,1,2,... skipping s map in
// order onto the host ids of r. The result is sorted by ContainerID and
// always passes Check(field, result, h, []Range{r}). Edges:
//   - no Size 0 mapping is ever emitted (so N == 0 gives just {s h 1});
//   - r is first clamped to end at MaxID;
//   - if h lies inside r, h is removed from the pool (the subordinate part is
//     split around h, so N-1 ids are mapped) to keep host ranges disjoint;
//   - if s or h is 4294967295 (not a valid id) the {s h 1} piece is omitted;
//   - the part above s is cut off where it would pass MaxID.
func Rule(s, h uint32, r Range) []Mapping {
	r = clamp(r)
	self := s != math.MaxUint32 && h != math.MaxUint32

	// Host pool: r, minus h when h is inside r.
	var pool []Range
	add := func(p Range) {
		if p.Length > 0 {
			pool = append(pool, p)
		}
	}
	if self && h >= r.Start && h-r.Start < r.Length {
		add(Range{r.Start, h - r.Start})
		add(Range{h + 1, r.Length - (h - r.Start) - 1})
	} else {
		add(r)
	}
	var total uint64
	for _, p := range pool {
		total += uint64(p.Length)
	}

	// Container pieces: [0, before) and [s+1, s+1+after).
	before := min(uint64(s), total)
	after := total - before
	if tail := uint64(s) + 1; tail >= idEnd {
		after = 0
	} else {
		after = min(after, idEnd-tail)
	}

	var out []Mapping
	pi, off := 0, uint32(0) // position in pool
	place := func(c uint64, n uint64) {
		for n > 0 && pi < len(pool) {
			p := pool[pi]
			k := min(n, uint64(p.Length-off))
			out = append(out, Mapping{ContainerID: uint32(c), HostID: p.Start + off, Size: uint32(k)})
			c += k
			n -= k
			off += uint32(k)
			if off == p.Length {
				pi, off = pi+1, 0
			}
		}
	}
	place(0, before)
	if self {
		out = append(out, Mapping{ContainerID: s, HostID: h, Size: 1})
	}
	place(uint64(s)+1, after)
	return out
}

// Single returns {s h 1}, or nil if s or h is 4294967295 (not a valid id).
func Single(s, h uint32) []Mapping {
	if s == math.MaxUint32 || h == math.MaxUint32 {
		return nil
	}
	return []Mapping{{ContainerID: s, HostID: h, Size: 1}}
}

// kindOf derives "uid" or "gid" from a field name such as "linux.gidMappings".
func kindOf(field string) string {
	if strings.Contains(strings.ToLower(field), "gid") {
		return "gid"
	}
	return "uid"
}

// span formats the inclusive range [start, start+size) as "id X" or "ids X-Y".
func span(start uint32, size uint64) string {
	if size == 1 {
		return fmt.Sprintf("id %d", start)
	}
	return fmt.Sprintf("ids %d-%d", start, uint64(start)+size-1)
}

func verb(size uint64) string {
	if size == 1 {
		return "is"
	}
	return "are"
}

func overlaps(a, an, b, bn uint32) bool {
	return uint64(a) < uint64(b)+uint64(bn) && uint64(b) < uint64(a)+uint64(an)
}

func inside(start uint32, size uint64, r Range) bool {
	return uint64(start) >= uint64(r.Start) && uint64(start)+size <= uint64(r.Start)+uint64(r.Length)
}

// Check validates mappings that a config asks for. field is the JSON field
// name used in messages (e.g. "linux.uidMappings"); whether ids are called
// uid or gid is derived from it (a field containing "gid" means gid). own is
// the caller's host id and ranges its subordinate ranges. Rules: at most
// MaxMappings entries; Size > 0; ContainerID+Size and HostID+Size stay <=
// 4294967295 (MaxID is the largest mappable id); container ranges do not
// overlap; host ranges do not overlap; each host range lies entirely inside
// [own, own+1) or inside one subordinate range. The first problem found is
// returned, naming its index, e.g. "linux.uidMappings[2]: host ids
// 200000-265535 are outside your own uid 1000 and your subordinate ranges
// (100000-165535)". An empty ms is valid.
func Check(field string, ms []Mapping, own uint32, ranges []Range) error {
	kind := kindOf(field)
	if len(ms) > MaxMappings {
		return fmt.Errorf("%s: %d mappings exceed the kernel limit of %d", field, len(ms), MaxMappings)
	}
	for i, m := range ms {
		size := uint64(m.Size)
		if m.Size == 0 {
			return fmt.Errorf("%s[%d]: size must be greater than 0", field, i)
		}
		if uint64(m.ContainerID)+size > idEnd {
			return fmt.Errorf("%s[%d]: container %s go past the largest valid %s %d", field, i, span(m.ContainerID, size), kind, uint32(MaxID))
		}
		if uint64(m.HostID)+size > idEnd {
			return fmt.Errorf("%s[%d]: host %s go past the largest valid %s %d", field, i, span(m.HostID, size), kind, uint32(MaxID))
		}
		for j, p := range ms[:i] {
			if overlaps(m.ContainerID, m.Size, p.ContainerID, p.Size) {
				return fmt.Errorf("%s[%d]: container %s overlap %s[%d] (container %s)", field, i, span(m.ContainerID, size), field, j, span(p.ContainerID, uint64(p.Size)))
			}
			if overlaps(m.HostID, m.Size, p.HostID, p.Size) {
				return fmt.Errorf("%s[%d]: host %s overlap %s[%d] (host %s)", field, i, span(m.HostID, size), field, j, span(p.HostID, uint64(p.Size)))
			}
		}
		ok := inside(m.HostID, size, Range{Start: own, Length: 1})
		for _, r := range ranges {
			if ok {
				break
			}
			ok = inside(m.HostID, size, r)
		}
		if !ok {
			return fmt.Errorf("%s[%d]: host %s %s outside your own %s %d and %s", field, i, span(m.HostID, size), verb(size), kind, own, describeRanges(kind, ranges))
		}
	}
	return nil
}

func describeRanges(kind string, ranges []Range) string {
	var parts []string
	for _, r := range ranges {
		if r.Length == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d-%d", r.Start, uint64(r.Start)+uint64(r.Length)-1))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("you have no subordinate %s range (see /etc/sub%s)", kind, kind)
	}
	return "your subordinate ranges (" + strings.Join(parts, ", ") + ")"
}

// Maps reports whether container id x is covered by ms.
func Maps(ms []Mapping, x uint32) bool {
	_, ok := HostOf(ms, x)
	return ok
}

// HostOf returns the host id that container id x maps to under ms.
func HostOf(ms []Mapping, x uint32) (uint32, bool) {
	for _, m := range ms {
		if x >= m.ContainerID && uint64(x) < uint64(m.ContainerID)+uint64(m.Size) {
			return m.HostID + (x - m.ContainerID), true
		}
	}
	return 0, false
}

// NeedsHelper reports whether ms is more than the single mapping of the
// caller's own id (any container id, host id own, size 1), i.e. whether
// newuidmap/newgidmap is needed. An empty ms needs no helper.
func NeedsHelper(ms []Mapping, own uint32) bool {
	switch len(ms) {
	case 0:
		return false
	case 1:
		return ms[0].HostID != own || ms[0].Size != 1
	default:
		return true
	}
}

// HelperArgs gives newuidmap/newgidmap's arguments: pid, then each mapping's
// ContainerID, HostID and Size as decimal strings.
func HelperArgs(pid int, ms []Mapping) []string {
	args := make([]string, 0, 1+3*len(ms))
	args = append(args, strconv.Itoa(pid))
	for _, m := range ms {
		args = append(args,
			strconv.FormatUint(uint64(m.ContainerID), 10),
			strconv.FormatUint(uint64(m.HostID), 10),
			strconv.FormatUint(uint64(m.Size), 10))
	}
	return args
}

// Parse reads uid_map/gid_map text, as Format writes it or /proc/PID/uid_map
// shows it (three decimal fields per line, aligned with spaces).
func Parse(text string) ([]Mapping, error) {
	var out []Mapping
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("bad map line %q", line)
		}
		var v [3]uint32
		for i, s := range f {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("bad map line %q", line)
			}
			v[i] = uint32(n)
		}
		out = append(out, Mapping{ContainerID: v[0], HostID: v[1], Size: v[2]})
	}
	return out, nil
}

// Format gives the uid_map/gid_map text: one "%d %d %d\n" line per mapping.
func Format(ms []Mapping) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
	}
	return b.String()
}
