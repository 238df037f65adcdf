package state

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func checkMarshal(t *testing.T, st *State) {
	t.Helper()
	want, werr := json.Marshal(st)
	got, gerr := marshalState(st)
	if !bytes.Equal(got, want) || (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Errorf("marshalState(%+v) =\n%s %v\njson.Marshal:\n%s %v", st, got, gerr, want, werr)
	}
}

func TestMarshalState(t *testing.T) {
	now := time.Date(2026, 11, 27, 13, 36, 1, 123456789, time.UTC)
	for _, st := range []*State{
		{},
		{OCIVersion: "1.3.0", ID: "a", Bundle: "/b", Pid: 12, PidStart: 1 << 63, MonitorPid: -1, Created: now, Status: StatusRunning, Owner: 1002,
			Extra: map[string]string{"bwrap": "/usr/bin/bwrap", "config": "/run/x/config.json", "cgroup": "/sys/fs/cgroup/x"}},
		{ID: "x", Annotations: map[string]string{}, Extra: map[string]string{}, Created: now.In(time.FixedZone("x", 3600))},
		{ID: "<&>\"\\\b\f\n\r\t\x00\x1f\x7f é \u2028\u2029 \xff\xfe", Bundle: "\xe2\x80", Annotations: map[string]string{"z": "1", "a<": "\u2029", "": ""}},
		{ID: "y", Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // MarshalJSON fails
		{ID: "y", Created: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		checkMarshal(t, st)
	}
}

func FuzzMarshalState(f *testing.F) {
	f.Add("1.3.0", "id", "/bundle", 1, uint64(2), 3, int64(1700000000), 5, "running", "k", "v", "k2", "v2")
	f.Add("\u2028", "<>", "\xff", -1, uint64(0), 0, int64(-62135596800), 0, "", "", "", "\x00", "\"")
	f.Fuzz(func(t *testing.T, oci, id, bundle string, pid int, pidStart uint64, mon int, sec int64, nsec int, status, k1, v1, k2, v2 string) {
		st := &State{OCIVersion: oci, ID: id, Bundle: bundle, Pid: pid, PidStart: pidStart, MonitorPid: mon,
			Created: time.Unix(sec, int64(nsec)).UTC(), Status: Status(status), Owner: pid ^ mon}
		if k1 != "" || v1 != "" {
			st.Annotations = map[string]string{k1: v1, k2: v2}
		}
		if k2 != "" {
			st.Extra = map[string]string{k2: v1, k1: v2}
		}
		checkMarshal(t, st)
	})
}
