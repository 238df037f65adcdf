package passwd

import (
	"bufio"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const file = "root:x:0:0:root:/root:/bin/bash\n#x:x:5:5::/:\nbad line\nalice:x:1000:1001:Alice:/home/alice:/bin/sh\n"
	for _, c := range []struct {
		uid  uint32
		want Entry
		ok   bool
	}{
		{0, Entry{"root", 0, 0, "/root"}, true},
		{1000, Entry{"alice", 1000, 1001, "/home/alice"}, true},
		{5, Entry{}, false},
		{4242, Entry{}, false},
	} {
		got, ok := parse(bufio.NewScanner(strings.NewReader(file)), c.uid)
		if ok != c.ok || got != c.want {
			t.Errorf("uid %d: got %+v, %v; want %+v, %v", c.uid, got, ok, c.want, c.ok)
		}
	}
}
