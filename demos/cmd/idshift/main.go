// Command idshift moves the ownership of a directory tree from one
// container id mapping to another, in a single pass:
//
//	idshift -uids FROM/TO -gids FROM/TO DIR
//
// FROM and TO are id mappings as in linux.uidMappings, written
// "containerID:hostID:size,..." (e.g. "0:1000:1,1:100000:65536"). A file
// that a container with mapping FROM sees as owned by id c is changed so that
// a container with mapping TO sees it owned by the same c.
//
// It works as real root (host ids) and, more usefully, as root of a user
// namespace that maps every host id involved (the demos run it under
// `unshare --map-root-user --map-users=...`): ids are translated through
// /proc/self/uid_map and gid_map.
//
// lchown(2) clears the setuid and setgid bits and the security.capability
// xattr of a file, so idshift re-applies them after the chown; the ids named
// in POSIX ACLs (system.posix_acl_access and _default) are moved too. A
// file with several hard links is changed once. Symbolic links themselves are
// changed, never followed.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Mapping is one line of an id map.
type Mapping struct{ Container, Host, Size uint32 }

// Map is an id map.
type Map []Mapping

// ParseMap parses "c:h:n,c:h:n".
func ParseMap(s string) (Map, error) {
	var m Map
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("%q: want containerID:hostID:size", part)
		}
		var v [3]uint32
		for i := range f {
			n, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", part, err)
			}
			v[i] = uint32(n)
		}
		if v[2] == 0 {
			return nil, fmt.Errorf("%q: size 0", part)
		}
		m = append(m, Mapping{v[0], v[1], v[2]})
	}
	return m, nil
}

// ParseProcMap parses /proc/PID/uid_map text.
func ParseProcMap(text string) (Map, error) {
	var m Map
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		mm, err := ParseMap(strings.Join(f, ":"))
		if err != nil {
			return nil, err
		}
		m = append(m, mm...)
	}
	return m, nil
}

// ToHost maps a container id to a host id.
func (m Map) ToHost(id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.Container && uint64(id) < uint64(e.Container)+uint64(e.Size) {
			return e.Host + (id - e.Container), true
		}
	}
	return 0, false
}

// ToContainer maps a host id to a container id.
func (m Map) ToContainer(id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.Host && uint64(id) < uint64(e.Host)+uint64(e.Size) {
			return e.Container + (id - e.Host), true
		}
	}
	return 0, false
}

// Shift translates ids as this process sees them.
type Shift struct {
	Own, From, To Map
}

// Of returns the id that this process must give a file it sees owned by id.
func (s Shift) Of(id uint32) (uint32, error) {
	host, ok := s.Own.ToHost(id)
	if !ok {
		return 0, fmt.Errorf("id %d is not mapped in this namespace", id)
	}
	c, ok := s.From.ToContainer(host)
	if !ok {
		return 0, fmt.Errorf("host id %d is not mapped by the FROM mapping", host)
	}
	host2, ok := s.To.ToHost(c)
	if !ok {
		return 0, fmt.Errorf("container id %d is not mapped by the TO mapping", c)
	}
	seen, ok := s.Own.ToContainer(host2)
	if !ok {
		return 0, fmt.Errorf("host id %d is not mapped in this namespace", host2)
	}
	return seen, nil
}

const (
	aclUser  = 0x02
	aclGroup = 0x08
)

// ShiftACL moves the ids of the named-user and named-group entries of a
// POSIX ACL xattr value (version 2: a 4-byte header, then 8-byte entries
// tag:16 perm:16 id:32, little endian).
func ShiftACL(v []byte, uids, gids Shift) ([]byte, error) {
	if len(v) < 4 || (len(v)-4)%8 != 0 {
		return nil, errors.New("malformed ACL")
	}
	out := append([]byte(nil), v...)
	for off := 4; off < len(out); off += 8 {
		tag := binary.LittleEndian.Uint16(out[off:])
		id := binary.LittleEndian.Uint32(out[off+4:])
		var n uint32
		var err error
		switch tag {
		case aclUser:
			n, err = uids.Of(id)
		case aclGroup:
			n, err = gids.Of(id)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint32(out[off+4:], n)
	}
	return out, nil
}

type fileID struct{ dev, ino uint64 }

type shifter struct {
	uids, gids     Shift
	seen           map[fileID]bool
	changed, fails int
}

func (s *shifter) warn(path string, err error) {
	fmt.Fprintf(os.Stderr, "idshift: %s: %v\n", path, err)
	s.fails++
}

func getxattr(path, name string) ([]byte, bool) {
	sz, err := unix.Lgetxattr(path, name, nil)
	if err != nil || sz <= 0 {
		return nil, false
	}
	buf := make([]byte, sz)
	sz, err = unix.Lgetxattr(path, name, buf)
	if err != nil {
		return nil, false
	}
	return buf[:sz], true
}

func (s *shifter) visit(path string, d fs.DirEntry, err error) error {
	if err != nil {
		s.warn(path, err)
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		s.warn(path, err)
		return nil
	}
	id := fileID{st.Dev, st.Ino}
	if s.seen[id] {
		return nil // another hard link of a file already changed
	}
	if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		s.seen[id] = true
	}
	uid, err := s.uids.Of(st.Uid)
	if err != nil {
		s.warn(path, err)
		return nil
	}
	gid, err := s.gids.Of(st.Gid)
	if err != nil {
		s.warn(path, err)
		return nil
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	// What chown clears or does not move: read it first.
	var caps, acl, dacl []byte
	var hasCaps, hasACL, hasDACL bool
	if !isLink {
		caps, hasCaps = getxattr(path, "security.capability")
		acl, hasACL = getxattr(path, "system.posix_acl_access")
		dacl, hasDACL = getxattr(path, "system.posix_acl_default")
	}
	if uid == st.Uid && gid == st.Gid && !hasACL && !hasDACL {
		return nil
	}
	if uid != st.Uid || gid != st.Gid {
		if err := unix.Lchown(path, int(uid), int(gid)); err != nil {
			s.warn(path, err)
			return nil
		}
		s.changed++
	}
	if isLink {
		return nil
	}
	if st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		if err := unix.Chmod(path, st.Mode&0o7777); err != nil {
			s.warn(path, fmt.Errorf("restoring mode %04o: %v", st.Mode&0o7777, err))
		}
	}
	if hasCaps {
		if err := unix.Lsetxattr(path, "security.capability", caps, 0); err != nil {
			s.warn(path, fmt.Errorf("restoring security.capability: %v", err))
		}
	}
	for _, a := range []struct {
		name string
		v    []byte
		has  bool
	}{{"system.posix_acl_access", acl, hasACL}, {"system.posix_acl_default", dacl, hasDACL}} {
		if !a.has {
			continue
		}
		v, err := ShiftACL(a.v, s.uids, s.gids)
		if err == nil {
			err = unix.Lsetxattr(path, a.name, v, 0)
		}
		if err != nil {
			s.warn(path, fmt.Errorf("%s: %v", a.name, err))
		}
	}
	return nil
}

func main() {
	uidsArg := flag.String("uids", "", "FROM/TO uid mappings (containerID:hostID:size,...)")
	gidsArg := flag.String("gids", "", "FROM/TO gid mappings")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: idshift -uids FROM/TO -gids FROM/TO DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *uidsArg == "" || *gidsArg == "" {
		flag.Usage()
		os.Exit(2)
	}
	uids, err := shiftOf(*uidsArg, "/proc/self/uid_map")
	if err == nil {
		var gids Shift
		gids, err = shiftOf(*gidsArg, "/proc/self/gid_map")
		if err == nil {
			s := &shifter{uids: uids, gids: gids, seen: map[fileID]bool{}}
			err = filepath.WalkDir(flag.Arg(0), s.visit)
			if err == nil && s.fails > 0 {
				err = fmt.Errorf("%d files could not be changed", s.fails)
			}
			fmt.Fprintf(os.Stderr, "idshift: %d files changed\n", s.changed)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "idshift:", err)
		os.Exit(1)
	}
}

func shiftOf(arg, procMap string) (Shift, error) {
	from, to, ok := strings.Cut(arg, "/")
	if !ok {
		return Shift{}, fmt.Errorf("%q: want FROM/TO", arg)
	}
	f, err := ParseMap(from)
	if err != nil {
		return Shift{}, err
	}
	t, err := ParseMap(to)
	if err != nil {
		return Shift{}, err
	}
	data, err := os.ReadFile(procMap)
	if err != nil {
		return Shift{}, err
	}
	own, err := ParseProcMap(string(data))
	if err != nil {
		return Shift{}, err
	}
	return Shift{Own: own, From: f, To: t}, nil
}
