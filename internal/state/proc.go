package state

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// procStat returns the state (field 3) and start time (field 22, in clock
// ticks since boot) from /proc/PID/stat.
func procStat(pid int) (state byte, start uint64, err error) {
	if pid <= 0 {
		return 0, 0, fmt.Errorf("invalid pid %d", pid)
	}
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	return parseStat(path, data)
}

// parseStat parses the contents of a /proc/PID/stat file. Field 2, comm, is
// in parentheses and may itself contain spaces and ')', so the fields are
// counted from the last ')'.
func parseStat(path string, data []byte) (state byte, start uint64, err error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("%s: malformed: no ')'", path)
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("%s: malformed: only %d fields after comm", path, len(fields))
	}
	if len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("%s: malformed state %q", path, fields[0])
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: malformed start time %q", path, fields[19])
	}
	return fields[0][0], start, nil
}

// StartTime returns the start time of process pid (field 22 of
// /proc/PID/stat, clock ticks since boot), which together with the pid
// identifies a process even after its pid is reused.
func StartTime(pid int) (uint64, error) {
	_, start, err := procStat(pid)
	return start, err
}

// Alive reports whether process pid exists, is not a zombie (or dead) and
// started at start. A pid reused by another process is not alive.
func Alive(pid int, start uint64) bool {
	state, got, err := procStat(pid)
	return err == nil && !dead(state) && got == start
}

// exists reports whether pid exists and is not a zombie, whatever its start
// time.
func exists(pid int) bool {
	state, _, err := procStat(pid)
	return err == nil && !dead(state)
}

func dead(state byte) bool { return state == 'Z' || state == 'X' || state == 'x' }

// Current computes the status now from the recorded one:
//   - "creating": creating while Pid is alive; with no Pid yet, creating
//     while MonitorPid exists (or was not recorded either), since nothing
//     else tells whether the creator is still at work; else stopped.
//   - "created", "running": as recorded while Pid is alive, else stopped.
//   - anything else: stopped.
func (st *State) Current() Status {
	switch st.Status {
	case StatusCreating:
		if st.Pid > 0 {
			if Alive(st.Pid, st.PidStart) {
				return StatusCreating
			}
			return StatusStopped
		}
		if st.MonitorPid <= 0 || exists(st.MonitorPid) {
			return StatusCreating
		}
	case StatusCreated, StatusRunning:
		if st.Pid > 0 && Alive(st.Pid, st.PidStart) {
			return st.Status
		}
	}
	return StatusStopped
}
