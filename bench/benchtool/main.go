// Command benchtool is the Go half of bench/run.sh and bench/profile.sh: it
// edits OCI configs, writes fake container states, measures what a running
// container leaves resident on the host and turns hyperfine's JSON into
// markdown tables. It is a benchmark helper, not part of bwrap-oci.
//
//	benchtool config   -in F -out F [-args a,b] [-rootfs P] [-maps single|multi] [-uid U -gid G -subuid S -subgid S] [-add-ns network,cgroup] [-no-terminal]
//	benchtool mkstate  -root DIR -n N -pid PID -bundle DIR
//	benchtool snapshot                      (pids now alive, one a line)
//	benchtool overhead -before FILE -init PID[,PID...]
//	benchtool table    -json FILE [-json FILE...] [-crun] [-bwrap NAME]
//	benchtool median   N...                 (median of numbers)
//	benchtool get      -json FILE -name CMD (a result's median, in ms)
//	benchtool merge    -out FILE FILE...    (hyperfine JSON files of several rounds into one)
//	benchtool quiet    [-idle 0.7] [-max 120s] (wait until the CPUs are mostly idle)
//	benchtool splice   -doc FILE -body FILE (replace the generated part of docs/performance.md)
//	benchtool floor    -maps "C H N..." BWRAP [OPTIONS...] -- COMMAND... (the least a Go runtime can do: floor.go)
//	benchtool wrap     COMMAND...           (run COMMAND from a Go parent: what the parent costs)
//	benchtool ab       [-rounds N] [-block N] [-interleave] CMD... ';;' CMD... (A/B of commands: ab.go)
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	if len(os.Args) < 2 {
		fatal("usage: benchtool config|mkstate|snapshot|overhead|table|get|merge|quiet|median|splice|floor|wrap|ab ...")
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "config":
		err = configCmd(args)
	case "mkstate":
		err = mkstateCmd(args)
	case "snapshot":
		err = snapshotCmd()
	case "overhead":
		err = overheadCmd(args)
	case "table":
		err = tableCmd(args)
	case "median":
		err = medianCmd(args)
	case "get":
		err = getCmd(args)
	case "merge":
		err = mergeCmd(args)
	case "quiet":
		err = quietCmd(args)
	case "splice":
		err = spliceCmd(args)
	case "floor":
		err = floorCmd(args)
	case "wrap":
		err = wrapCmd(args)
	case "ab":
		err = abCmd(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fatal(err.Error())
	}
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "benchtool: "+msg)
	os.Exit(1)
}

// ---- config ---------------------------------------------------------------

func configCmd(args []string) error {
	fs := flag.NewFlagSet("config", flag.ExitOnError)
	in := fs.String("in", "", "input config.json")
	out := fs.String("out", "", "output config.json")
	argv := fs.String("args", "", "process.args, comma separated")
	rootfs := fs.String("rootfs", "", "root.path")
	maps := fs.String("maps", "", "single or multi")
	uid := fs.Int("uid", -1, "host uid")
	gid := fs.Int("gid", -1, "host gid")
	subuid := fs.Int("subuid", -1, "first subordinate uid")
	subgid := fs.Int("subgid", -1, "first subordinate gid")
	addNS := fs.String("add-ns", "", "namespaces to add if missing, comma separated")
	noTerm := fs.Bool("no-terminal", false, "process.terminal = false")
	fs.Parse(args)
	data, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("%s: %v", *in, err)
	}
	proc := obj(c, "process")
	if *argv != "" {
		var a []any
		for _, s := range strings.Split(*argv, ",") {
			a = append(a, s)
		}
		proc["args"] = a
	}
	if *noTerm {
		proc["terminal"] = false
	}
	if *rootfs != "" {
		obj(c, "root")["path"] = *rootfs
	}
	linux := obj(c, "linux")
	switch *maps {
	case "":
	case "single", "multi":
		mk := func(host, sub int) []any {
			m := []any{map[string]any{"containerID": 0, "hostID": host, "size": 1}}
			if *maps == "multi" {
				m = append(m, map[string]any{"containerID": 1, "hostID": sub, "size": 65536})
			}
			return m
		}
		if *uid < 0 || *gid < 0 || (*maps == "multi" && (*subuid < 0 || *subgid < 0)) {
			return fmt.Errorf("-maps %s needs -uid -gid (and -subuid -subgid)", *maps)
		}
		linux["uidMappings"] = mk(*uid, *subuid)
		linux["gidMappings"] = mk(*gid, *subgid)
	default:
		return fmt.Errorf("-maps: %q is not single or multi", *maps)
	}
	if *addNS != "" {
		nss, _ := linux["namespaces"].([]any)
		have := map[string]bool{}
		for _, n := range nss {
			if m, ok := n.(map[string]any); ok {
				have[fmt.Sprint(m["type"])] = true
			}
		}
		for _, t := range strings.Split(*addNS, ",") {
			if !have[t] {
				nss = append(nss, map[string]any{"type": t})
			}
		}
		linux["namespaces"] = nss
	}
	outData, err := json.MarshalIndent(c, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(*out, append(outData, '\n'), 0o644)
}

func obj(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}

// ---- mkstate --------------------------------------------------------------

// mkstateCmd writes n valid state directories (c0000 ... ) whose init is pid,
// a real long-lived process, so that they look running to list and state.
func mkstateCmd(args []string) error {
	fs := flag.NewFlagSet("mkstate", flag.ExitOnError)
	root := fs.String("root", "", "state root")
	n := fs.Int("n", 1000, "number of containers")
	pid := fs.Int("pid", 0, "pid of a live process to record as every container's init")
	bundle := fs.String("bundle", "", "bundle directory to record")
	fs.Parse(args)
	if *root == "" || *pid <= 0 || *bundle == "" {
		return fmt.Errorf("mkstate needs -root, -pid and -bundle")
	}
	start, err := state.StartTime(*pid)
	if err != nil {
		return fmt.Errorf("pid %d: %v", *pid, err)
	}
	store := state.Store{Root: *root}
	now := time.Now().UTC()
	for i := 0; i < *n; i++ {
		id := fmt.Sprintf("c%04d", i)
		c, err := store.Create(id)
		if err != nil {
			return err
		}
		st := &state.State{
			OCIVersion: specs.Version,
			ID:         id,
			Bundle:     *bundle,
			Pid:        *pid,
			PidStart:   start,
			MonitorPid: *pid,
			Created:    now,
			Status:     state.StatusRunning,
			Owner:      os.Getuid(),
		}
		if err := c.Save(st); err != nil {
			c.Close()
			return err
		}
		if err := c.Close(); err != nil {
			return err
		}
	}
	return nil
}

// ---- snapshot / overhead --------------------------------------------------

func pids() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if p, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func snapshotCmd() error {
	w := bufio.NewWriter(os.Stdout)
	for _, p := range pids() {
		fmt.Fprintln(w, p)
	}
	return w.Flush()
}

// procInfo reads what overhead needs from /proc/PID.
type procInfo struct {
	pid, ppid    int
	uid          int
	name         string
	rssKB, pssKB int64 // pssKB < 0 when smaps_rollup is unreadable
	kthread      bool
}

func readProc(pid int) (procInfo, bool) {
	pi := procInfo{pid: pid, pssKB: -1}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return pi, false
	}
	pi.kthread = true
	for _, l := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			pi.name = v
		case "PPid":
			pi.ppid, _ = strconv.Atoi(v)
		case "Uid":
			if f := strings.Fields(v); len(f) > 0 {
				pi.uid, _ = strconv.Atoi(f[0])
			}
		case "VmRSS":
			pi.rssKB = kb(v)
			pi.kthread = false
		}
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "Pss:") {
				pi.pssKB = kb(strings.TrimSpace(strings.TrimPrefix(l, "Pss:")))
			}
		}
	}
	return pi, true
}

func kb(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return n
}

// overheadCmd prints what the runtime left resident for the containers whose
// inits are given: the processes that were not in the -before snapshot, are
// not a container's init or one of its descendants, and either are an
// ancestor of an init (bwrap's monitor) or are orphans of ours (a new process,
// or a chain of them, reparented to pid 1 once the runtime exited, as a
// leftover helper would be). Other new processes on the machine (someone
// else's shell, a compiler) are ignored.
// Output: one line "pid name rssKB pssKB" per process, then
// "total N rssKB pssKB" (pssKB -1 when some smaps_rollup was unreadable).
func overheadCmd(args []string) error {
	fs := flag.NewFlagSet("overhead", flag.ExitOnError)
	before := fs.String("before", "", "snapshot file")
	inits := fs.String("init", "", "container init pids, comma separated")
	fs.Parse(args)
	data, err := os.ReadFile(*before)
	if err != nil {
		return err
	}
	old := map[int]bool{}
	for _, f := range strings.Fields(string(data)) {
		p, _ := strconv.Atoi(f)
		old[p] = true
	}
	all := map[int]procInfo{}
	for _, p := range pids() {
		if pi, ok := readProc(p); ok {
			all[p] = pi
		}
	}
	container := map[int]bool{}
	ancestor := map[int]bool{}
	for _, f := range strings.Split(*inits, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			continue
		}
		container[p] = true
		for q, i := all[p].ppid, 0; q > 1 && i < 64; q, i = all[q].ppid, i+1 {
			ancestor[q] = true
		}
	}
	inContainer := func(p int) bool {
		for i := 0; i < 64 && p > 1; i++ {
			if container[p] {
				return true
			}
			p = all[p].ppid
		}
		return false
	}
	orphan := func(p int) bool {
		for i := 0; i < 64; i++ {
			pp := all[p].ppid
			if pp == 1 {
				return true
			}
			if _, ok := all[pp]; !ok || old[pp] {
				return false
			}
			p = pp
		}
		return false
	}
	self, uid := os.Getpid(), os.Getuid()
	var n int
	var rss, pss int64
	pssOK := true
	var keys []int
	for p := range all {
		keys = append(keys, p)
	}
	sort.Ints(keys)
	for _, p := range keys {
		pi := all[p]
		if old[p] || pi.kthread || p == self || inContainer(p) {
			continue
		}
		if !ancestor[p] && !(pi.uid == uid && orphan(p)) {
			continue
		}
		n++
		rss += pi.rssKB
		if pi.pssKB < 0 {
			pssOK = false
		} else {
			pss += pi.pssKB
		}
		fmt.Printf("%d %s %d %d\n", p, pi.name, pi.rssKB, pi.pssKB)
	}
	if !pssOK {
		pss = -1
	}
	fmt.Printf("total %d %d %d\n", n, rss, pss)
	return nil
}

// ---- table ----------------------------------------------------------------

type hfResult struct {
	Command string    `json:"command"`
	Mean    float64   `json:"mean"`
	Stddev  float64   `json:"stddev"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Times   []float64 `json:"times"`
	// ExitCodes is hyperfine's, one per run (null when killed by a signal).
	ExitCodes []*int `json:"exit_codes,omitempty"`
	// Failed counts the runs that merge dropped for a non-zero exit.
	Failed int `json:"failed,omitempty"`
	// FailCodes lists their exit codes (-1: killed by a signal).
	FailCodes []int `json:"fail_codes,omitempty"`
}

// nameRE splits a hyperfine command name "RUNTIME OP (VARIANT)".
var nameRE = regexp.MustCompile(`^(\S+) (.*?)(?: \((.*)\))?$`)

type row struct {
	hfResult
	runtime, op, variant string
}

func parseRow(r hfResult) row {
	m := nameRE.FindStringSubmatch(r.Command)
	if m == nil {
		return row{hfResult: r, runtime: r.Command}
	}
	return row{hfResult: r, runtime: m[1], op: m[2], variant: m[3]}
}

// tableCmd prints a markdown table of hyperfine results: median, mean ± σ,
// min, runs, and the ratio of medians to crun's (same op and variant) and to
// the bare bwrap call (-bwrap: its command name).
func tableCmd(args []string) error {
	fs := flag.NewFlagSet("table", flag.ExitOnError)
	var files multi
	fs.Var(&files, "json", "hyperfine --export-json file (repeatable)")
	crun := fs.Bool("crun", true, "add a ratio-to-crun column")
	bw := fs.String("bwrap", "", "command name of the bare bwrap call for a ratio column")
	fs.Parse(args)
	var rows []row
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var doc struct{ Results []hfResult }
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		for _, r := range doc.Results {
			rows = append(rows, parseRow(r))
		}
	}
	find := func(pred func(row) bool) *row {
		for i := range rows {
			if pred(rows[i]) {
				return &rows[i]
			}
		}
		return nil
	}
	var bwrapRef *row
	if *bw != "" {
		bwrapRef = find(func(r row) bool { return r.Command == *bw })
	}
	var b bytes.Buffer
	b.WriteString("| command | median | mean ± σ | min | runs |")
	sep := "|---|---:|---:|---:|---:|"
	if *crun {
		b.WriteString(" × crun |")
		sep += "---:|"
	}
	if bwrapRef != nil {
		b.WriteString(" × bare bwrap |")
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, r := range rows {
		runs := strconv.Itoa(len(r.Times))
		if r.Failed > 0 {
			runs += fmt.Sprintf(" (+%d failed: exit %s)", r.Failed, codes(r.FailCodes))
		}
		fmt.Fprintf(&b, "| %s | %s | %s ± %s | %s | %s |", r.Command, ms(r.Median), ms(r.Mean), ms(r.Stddev), ms(r.Min), runs)
		if *crun {
			// "run --no-userns-keeper" compares with crun's "run".
			op, _, _ := strings.Cut(r.op, " ")
			ref := find(func(o row) bool { return o.runtime == "crun" && o.op == op && o.variant == r.variant })
			b.WriteString(" " + ratio(r, ref) + " |")
		}
		if bwrapRef != nil {
			b.WriteString(" " + ratio(r, bwrapRef) + " |")
		}
		b.WriteString("\n")
	}
	_, err := os.Stdout.Write(b.Bytes())
	return err
}

// codes summarises exit codes: "137 ×3, 1".
func codes(cs []int) string {
	n := map[int]int{}
	var order []int
	for _, c := range cs {
		if n[c] == 0 {
			order = append(order, c)
		}
		n[c]++
	}
	var parts []string
	for _, c := range order {
		p := strconv.Itoa(c)
		if c < 0 {
			p = "signal"
		}
		if n[c] > 1 {
			p += fmt.Sprintf(" ×%d", n[c])
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func ms(s float64) string {
	v := s * 1000
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

func ratio(r row, ref *row) string {
	if ref == nil || ref.Median <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", r.Median/ref.Median)
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// getCmd prints the median, in milliseconds, of the hyperfine result named
// -name, or nothing if there is none.
func getCmd(args []string) error {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	file := fs.String("json", "", "hyperfine --export-json file")
	name := fs.String("name", "", "command name")
	fs.Parse(args)
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var doc struct{ Results []hfResult }
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %v", *file, err)
	}
	for _, r := range doc.Results {
		if r.Command == *name {
			fmt.Println(strconv.FormatFloat(r.Median*1000, 'f', 3, 64))
		}
	}
	return nil
}

// mergeCmd joins the results of several hyperfine rounds by command name, in
// the order of the first file, recomputing the statistics over all times.
func mergeCmd(args []string) error {
	fs := flag.NewFlagSet("merge", flag.ExitOnError)
	out := fs.String("out", "", "merged JSON file")
	fs.Parse(args)
	var order []string
	byName := map[string]*hfResult{}
	for _, f := range fs.Args() {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var doc struct{ Results []hfResult }
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		for _, r := range doc.Results {
			m, ok := byName[r.Command]
			if !ok {
				m = &hfResult{Command: r.Command}
				byName[r.Command] = m
				order = append(order, r.Command)
			}
			// A failed run's time says nothing about the command's speed
			// (hyperfine -i times it anyway): drop it and count it.
			for i, t := range r.Times {
				if i < len(r.ExitCodes) && (r.ExitCodes[i] == nil || *r.ExitCodes[i] != 0) {
					code := -1
					if r.ExitCodes[i] != nil {
						code = *r.ExitCodes[i]
					}
					m.Failed++
					m.FailCodes = append(m.FailCodes, code)
					continue
				}
				m.Times = append(m.Times, t)
			}
			m.Failed += r.Failed
			m.FailCodes = append(m.FailCodes, r.FailCodes...)
		}
	}
	var doc struct {
		Results []hfResult `json:"results"`
	}
	for _, name := range order {
		r := byName[name]
		ts := append([]float64(nil), r.Times...)
		sort.Float64s(ts)
		n := float64(len(ts))
		if n == 0 {
			continue
		}
		var sum float64
		for _, t := range ts {
			sum += t
		}
		r.Mean = sum / n
		var ss float64
		for _, t := range ts {
			ss += (t - r.Mean) * (t - r.Mean)
		}
		if n > 1 {
			r.Stddev = math.Sqrt(ss / (n - 1))
		}
		r.Median = ts[len(ts)/2]
		if len(ts)%2 == 0 {
			r.Median = (ts[len(ts)/2-1] + ts[len(ts)/2]) / 2
		}
		r.Min, r.Max = ts[0], ts[len(ts)-1]
		doc.Results = append(doc.Results, *r)
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(*out, append(data, '\n'), 0o644)
}

// quietCmd waits until the machine's CPUs were at least -idle idle over a
// whole second, or -max has passed, and prints the idle fraction of the last
// second (0..1). On a shared machine this keeps a round from starting in the
// middle of someone else's build.
func quietCmd(args []string) error {
	fs := flag.NewFlagSet("quiet", flag.ExitOnError)
	want := fs.Float64("idle", 0.7, "idle fraction to wait for")
	max := fs.Duration("max", 120*time.Second, "longest wait")
	fs.Parse(args)
	deadline := time.Now().Add(*max)
	prevIdle, prevTotal, err := cpuTimes()
	if err != nil {
		return err
	}
	for {
		time.Sleep(time.Second)
		idle, total, err := cpuTimes()
		if err != nil {
			return err
		}
		frac := 0.0
		if total > prevTotal {
			frac = float64(idle-prevIdle) / float64(total-prevTotal)
		}
		if frac >= *want || time.Now().After(deadline) {
			fmt.Printf("%.2f\n", frac)
			return nil
		}
		prevIdle, prevTotal = idle, total
	}
}

// cpuTimes returns the idle (idle + iowait) and total jiffies of all CPUs.
func cpuTimes() (idle, total uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i < 8 { // user nice system idle iowait irq softirq steal (guest is in user)
			total += n
		}
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return idle, total, nil
}

// ---- median ---------------------------------------------------------------

func medianCmd(args []string) error {
	var xs []float64
	for _, a := range args {
		for _, f := range strings.Fields(a) {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return fmt.Errorf("median: %q: %v", f, err)
			}
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		fmt.Println("n/a")
		return nil
	}
	sort.Float64s(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	fmt.Println(strconv.FormatFloat(m, 'f', -1, 64))
	return nil
}

// ---- splice ---------------------------------------------------------------

const (
	beginMark = "<!-- bench/run.sh: begin generated results -->"
	endMark   = "<!-- bench/run.sh: end generated results -->"
)

// spliceCmd replaces the text between the markers in -doc with -body,
// creating the document (or appending the markers) if needed, so that the
// hand-written analysis around the results survives a new run.
func spliceCmd(args []string) error {
	fs := flag.NewFlagSet("splice", flag.ExitOnError)
	doc := fs.String("doc", "", "document")
	body := fs.String("body", "", "generated markdown")
	fs.Parse(args)
	gen, err := os.ReadFile(*body)
	if err != nil {
		return err
	}
	block := beginMark + "\n" + strings.TrimRight(string(gen), "\n") + "\n" + endMark
	old, err := os.ReadFile(*doc)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + block + s[j+len(endMark):]
	case s == "":
		s = "# Performance\n\n" + block + "\n"
	default:
		s = strings.TrimRight(s, "\n") + "\n\n" + block + "\n"
	}
	if err := os.MkdirAll(filepath.Dir(*doc), 0o755); err != nil {
		return err
	}
	return os.WriteFile(*doc, []byte(s), 0o644)
}
