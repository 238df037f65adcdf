package proc

import (
	"bytes"
	"errors"
	"os/exec"
	"syscall"
	"testing"
)

func TestRunStatusAndOutput(t *testing.T) {
	var out bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.05; echo hello; exit 3")
	cmd.Stdout = &out
	err := Run(cmd)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Run: %v, want exit status 3", err)
	}
	// Wait must still finish the copying of the output.
	if out.String() != "hello\n" {
		t.Errorf("output %q, want %q", out.String(), "hello\n")
	}
}

func TestWaitSignalled(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "kill -TERM $$; sleep 5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := Wait(cmd)
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("Wait: %v (%v), want killed by SIGTERM", err, cmd.ProcessState)
	}
}

func TestRunSuccess(t *testing.T) {
	if err := Run(exec.Command("/bin/true")); err != nil {
		t.Fatal(err)
	}
	if err := Run(exec.Command("/nonexistent/binary")); err == nil {
		t.Fatal("Run of a missing binary succeeded")
	}
}
