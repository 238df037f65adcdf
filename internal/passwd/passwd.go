// Package passwd reads /etc/passwd without cgo, so that bwrap-oci stays a
// static binary that starts fast (os/user would link the C library).
package passwd

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/sysfile"
)

// Entry is one line of /etc/passwd.
type Entry struct {
	Name string
	UID  uint32
	GID  uint32
	Home string
}

// File is the file Lookup reads.
var File = "/etc/passwd"

// Lookup finds the entry of uid; ok is false when there is none.
func Lookup(uid uint32) (Entry, bool) {
	data, err := sysfile.ReadFile(File)
	if err != nil {
		return Entry{}, false
	}
	return parse(bufio.NewScanner(bytes.NewReader(data)), uid)
}

func parse(sc *bufio.Scanner, uid uint32) (Entry, bool) {
	want := strconv.FormatUint(uint64(uid), 10)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 7 || f[2] != want || strings.HasPrefix(f[0], "#") {
			continue
		}
		g, _ := strconv.ParseUint(f[3], 10, 32)
		return Entry{Name: f[0], UID: uid, GID: uint32(g), Home: f[5]}, true
	}
	return Entry{}, false
}
