package state

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// statLine builds a /proc/PID/stat line with the given comm, state and
// start time (field 22).
func statLine(pid int, comm string, state byte, start uint64) string {
	f := []string{fmt.Sprint(pid), "(" + comm + ")", string(state)}
	for i := 4; i <= 52; i++ {
		if i == 22 {
			f = append(f, fmt.Sprint(start))
		} else {
			f = append(f, fmt.Sprint(i*1000))
		}
	}
	return strings.Join(f, " ") + "\n"
}

func TestParseStat(t *testing.T) {
	for _, comm := range []string{"sleep", "a b", "x) R 1 2 3", ")", "((", "", "tab\there", "a) Z (b"} {
		state, start, err := parseStat("stat", []byte(statLine(42, comm, 'S', 1234567)))
		if err != nil || state != 'S' || start != 1234567 {
			t.Errorf("comm %q: got %c, %d, %v; want S, 1234567", comm, state, start, err)
		}
	}
	for _, bad := range []string{"", "42 (x", "42 (x) S 1 2 3", strings.Replace(statLine(1, "x", 'S', 5), " 5 ", " -5 ", 1)} {
		if _, _, err := parseStat("stat", []byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestStartTimeAlive(t *testing.T) {
	cmd := startSleep(t)
	pid := cmd.Process.Pid
	start, err := StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Cross-check with a naive read: the comm "sleep" has no spaces.
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(data)); f[21] != fmt.Sprint(start) {
		t.Errorf("StartTime = %d, /proc says %s", start, f[21])
	}
	if !Alive(pid, start) {
		t.Error("running sleep is not alive")
	}
	if Alive(pid, start+1) || Alive(pid, start-1) || Alive(pid, 0) {
		t.Error("wrong start time counts as alive")
	}
	self, err := StartTime(os.Getpid())
	if err != nil || !Alive(os.Getpid(), self) {
		t.Errorf("this process is not alive: %d, %v", self, err)
	}
	if self > start {
		t.Errorf("start time of this process %d is after that of its child %d", self, start)
	}
	for _, p := range []int{0, -1} {
		if Alive(p, 0) {
			t.Errorf("Alive(%d) = true", p)
		}
		if _, err := StartTime(p); err == nil {
			t.Errorf("StartTime(%d) succeeded", p)
		}
	}

	// Killed but not reaped: a zombie, which is not alive.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(hangTimeout)
	for Alive(pid, start) {
		if time.Now().After(deadline) {
			t.Fatal("killed sleep still alive")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if state, _, err := procStat(pid); err != nil || state != 'Z' {
		t.Errorf("unreaped sleep: state %c, %v; want a zombie", state, err)
	}

	// Reaped: gone.
	cmd.Wait()
	if Alive(pid, start) {
		t.Error("reaped sleep is alive")
	}
	if _, err := StartTime(pid); err == nil {
		t.Error("StartTime of a reaped process succeeded")
	}
}

func TestCurrent(t *testing.T) {
	live := startSleep(t)
	pid := live.Process.Pid
	start, err := StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	deadPid := dead.Process.Pid

	cases := []struct {
		name string
		st   State
		want Status
	}{
		{"created alive", State{Status: StatusCreated, Pid: pid, PidStart: start}, StatusCreated},
		{"running alive", State{Status: StatusRunning, Pid: pid, PidStart: start}, StatusRunning},
		{"creating alive", State{Status: StatusCreating, Pid: pid, PidStart: start}, StatusCreating},
		{"created reused pid", State{Status: StatusCreated, Pid: pid, PidStart: start + 1}, StatusStopped},
		{"running reused pid", State{Status: StatusRunning, Pid: pid, PidStart: start + 1}, StatusStopped},
		{"creating reused pid", State{Status: StatusCreating, Pid: pid, PidStart: start + 1}, StatusStopped},
		{"running dead", State{Status: StatusRunning, Pid: deadPid, PidStart: start}, StatusStopped},
		{"created no pid", State{Status: StatusCreated}, StatusStopped},
		{"stopped alive", State{Status: StatusStopped, Pid: pid, PidStart: start}, StatusStopped},
		{"unknown", State{Status: "paused", Pid: pid, PidStart: start}, StatusStopped},
		{"creating no pid, monitor alive", State{Status: StatusCreating, MonitorPid: pid}, StatusCreating},
		{"creating no pid, monitor dead", State{Status: StatusCreating, MonitorPid: deadPid}, StatusStopped},
		{"creating nothing yet", State{Status: StatusCreating}, StatusCreating},
	}
	for _, tc := range cases {
		if got := tc.st.Current(); got != tc.want {
			t.Errorf("%s: Current() = %q, want %q", tc.name, got, tc.want)
		}
	}
}
