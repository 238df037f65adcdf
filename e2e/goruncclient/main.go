// Command goruncclient drives bwrap-oci through github.com/containerd/go-runc,
// the library containerd's runc shim uses. The end-to-end suite
// (e2e/gorunc_test.go) builds it and runs it as the unprivileged test user,
// because go-runc executes the runtime binary itself.
//
// Like containerd's shim it is a child subreaper with a reaper of its own
// (go-runc's Monitor), so that the container's process, whose pid the
// runtime writes to --pid-file, becomes its child and its exit status can be
// taken as the container's.
//
// It reads one JSON request a line on stdin and answers each with one JSON
// line on stdout:
//
//	goruncclient -runtime BIN -root DIR -log FILE
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"
)

// Request is one operation. Ops: version, features, create (id, bundle,
// pidFile, pipeIO), start, state, ps, list, exec (id, process), kill (id,
// signal, all), delete (id, force), run (id, bundle), output (id: what the
// container of a pipeIO create wrote so far), wait (pid, timeoutMs: the
// exit status of a reaped process).
type Request struct {
	Op        string         `json:"op"`
	ID        string         `json:"id,omitempty"`
	Bundle    string         `json:"bundle,omitempty"`
	PidFile   string         `json:"pidFile,omitempty"`
	PipeIO    bool           `json:"pipeIO,omitempty"`
	Process   *specs.Process `json:"process,omitempty"`
	Signal    int            `json:"signal,omitempty"`
	All       bool           `json:"all,omitempty"`
	Force     bool           `json:"force,omitempty"`
	Pid       int            `json:"pid,omitempty"`
	TimeoutMs int            `json:"timeoutMs,omitempty"`
}

// Response is the result of a Request. Error is go-runc's error text;
// ExitStatus is the status of an ExitError in it (-1 if none), or the
// status of run and wait.
type Response struct {
	Error      string             `json:"error,omitempty"`
	ExitStatus int                `json:"exitStatus"`
	Stdout     string             `json:"stdout,omitempty"`
	Stderr     string             `json:"stderr,omitempty"`
	State      *runc.Container    `json:"state,omitempty"`
	List       []*runc.Container  `json:"list,omitempty"`
	Pids       []int              `json:"pids,omitempty"`
	Version    *runc.Version      `json:"version,omitempty"`
	Features   *features.Features `json:"features,omitempty"`
}

func main() {
	var r runc.Runc
	flag.StringVar(&r.Command, "runtime", "bwrap-oci", "runtime binary")
	flag.StringVar(&r.Root, "root", "", "state root (--root)")
	flag.StringVar(&r.Log, "log", "", "log file (--log, JSON format)")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	r.LogFormat = runc.JSON

	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "goruncclient: PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	reaper := newReaper()
	runc.Monitor = reaper

	c := &client{r: &r, reaper: reaper, outputs: map[string]*output{}}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<20)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req Request
		var resp Response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			resp = Response{Error: "bad request: " + err.Error(), ExitStatus: -1}
		} else {
			resp = c.do(req)
		}
		if err := enc.Encode(resp); err != nil {
			fmt.Fprintln(os.Stderr, "goruncclient:", err)
			os.Exit(1)
		}
	}
}

type client struct {
	r       *runc.Runc
	reaper  *reaper
	outputs map[string]*output
}

func (c *client) do(req Request) Response {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var resp Response
	var err error
	switch req.Op {
	case "version":
		var v runc.Version
		v, err = c.r.Version(ctx)
		resp.Version = &v
	case "features":
		resp.Features, err = c.r.Features(ctx)
	case "create":
		opts := &runc.CreateOpts{PidFile: req.PidFile}
		if req.PipeIO {
			var pio runc.IO
			if pio, err = newPipeIO(); err != nil {
				break
			}
			c.outputs[req.ID] = collect(pio)
			opts.IO = pio
		} else {
			if opts.IO, err = runc.NewNullIO(); err != nil {
				break
			}
		}
		err = c.r.Create(ctx, req.ID, req.Bundle, opts)
	case "output":
		if o := c.outputs[req.ID]; o != nil {
			resp.Stdout, resp.Stderr = o.text()
		}
	case "start":
		err = c.r.Start(ctx, req.ID)
	case "state":
		resp.State, err = c.r.State(ctx, req.ID)
	case "list":
		resp.List, err = c.r.List(ctx)
	case "ps":
		resp.Pids, err = c.r.Ps(ctx, req.ID)
	case "exec":
		if req.Process == nil {
			err = errors.New("exec: no process")
			break
		}
		var pio runc.IO
		if pio, err = newPipeIO(); err != nil {
			break
		}
		o := collect(pio)
		err = c.r.Exec(ctx, req.ID, *req.Process, &runc.ExecOpts{IO: pio})
		resp.Stdout, resp.Stderr = o.wait()
	case "kill":
		err = c.r.Kill(ctx, req.ID, req.Signal, &runc.KillOpts{All: req.All})
	case "delete":
		err = c.r.Delete(ctx, req.ID, &runc.DeleteOpts{Force: req.Force})
	case "run":
		var pio runc.IO
		if pio, err = newPipeIO(); err != nil {
			break
		}
		o := collect(pio)
		var status int
		status, err = c.r.Run(ctx, req.ID, req.Bundle, &runc.CreateOpts{IO: pio})
		// Run does not close its ends of the pipes after the start.
		_ = pio.(runc.StartCloser).CloseAfterStart()
		resp.Stdout, resp.Stderr = o.wait()
		if err == nil {
			resp.ExitStatus = status
		}
	case "wait":
		status, ok := c.reaper.waitPid(req.Pid, time.Duration(req.TimeoutMs)*time.Millisecond)
		if !ok {
			err = fmt.Errorf("pid %d: no exit seen within %dms", req.Pid, req.TimeoutMs)
		}
		resp.ExitStatus = status
		return resp
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		resp.Error = err.Error()
		resp.ExitStatus = -1
		var ee *runc.ExitError
		if errors.As(err, &ee) {
			resp.ExitStatus = ee.Status
		}
	}
	return resp
}

// newPipeIO makes stdout and stderr pipes owned by the caller (the
// container's user namespace maps the caller's own ids); stdin is
// /dev/null.
func newPipeIO() (runc.IO, error) {
	return runc.NewPipeIO(os.Getuid(), os.Getgid(), func(o *runc.IOOption) { o.OpenStdin = false })
}

// output collects what a process writes to the pipes of an IO.
type output struct {
	mu       sync.Mutex
	out, err bytes.Buffer
	done     sync.WaitGroup
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func collect(pio runc.IO) *output {
	o := &output{}
	for _, p := range []struct {
		r io.Reader
		b *bytes.Buffer
	}{{pio.Stdout(), &o.out}, {pio.Stderr(), &o.err}} {
		o.done.Add(1)
		go func() {
			defer o.done.Done()
			_, _ = io.Copy(lockedWriter{&o.mu, p.b}, p.r)
		}()
	}
	return o
}

func (o *output) text() (string, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.String(), o.err.String()
}

// wait waits (up to ten seconds) for the writers to close the pipes.
func (o *output) wait() (string, string) {
	done := make(chan struct{})
	go func() { o.done.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	return o.text()
}

// reaper is a go-runc ProcessMonitor for a subreaper, as containerd's shim
// has: it reaps every child on SIGCHLD and hands the exits of the commands
// it started to their waiters; other exits (the container's process,
// orphans) are kept for waitPid.
type reaper struct {
	mu      sync.Mutex
	cond    *sync.Cond
	waiters map[int]chan runc.Exit
	exits   map[int]int // pid -> status of exits no command claimed
}

func newReaper() *reaper {
	r := &reaper{waiters: map[int]chan runc.Exit{}, exits: map[int]int{}}
	r.cond = sync.NewCond(&r.mu)
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond) // in case a SIGCHLD was coalesced
		defer tick.Stop()
		for {
			select {
			case <-sigs:
			case <-tick.C:
			}
			r.reap()
		}
	}()
	return r
}

func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		status := ws.ExitStatus()
		if ws.Signaled() {
			status = 128 + int(ws.Signal())
		}
		r.mu.Lock()
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- runc.Exit{Timestamp: time.Now(), Pid: pid, Status: status}
			close(ch)
		} else {
			r.exits[pid] = status
			r.cond.Broadcast()
		}
		r.mu.Unlock()
	}
}

// Start starts c with the lock held, so that its exit cannot be reaped
// before its waiter is registered.
func (r *reaper) Start(c *exec.Cmd) (chan runc.Exit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := c.Start(); err != nil {
		return nil, err
	}
	ch := make(chan runc.Exit, 1)
	r.waiters[c.Process.Pid] = ch
	return ch, nil
}

func (r *reaper) StartLocked(c *exec.Cmd) (chan runc.Exit, error) { return r.Start(c) }

// Wait waits for the exit, then lets exec.Cmd finish its I/O; its own wait
// fails, the process being reaped already.
func (r *reaper) Wait(c *exec.Cmd, ch chan runc.Exit) (int, error) {
	e := <-ch
	_ = c.Wait()
	return e.Status, nil
}

func (r *reaper) waitPid(pid int, timeout time.Duration) (int, bool) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if s, ok := r.exits[pid]; ok {
			return s, true
		}
		if !time.Now().Before(deadline) {
			return -1, false
		}
		r.cond.Wait()
	}
}
