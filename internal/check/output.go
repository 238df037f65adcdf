package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText prints one line per result, "STATUS  NAME  FOUND", and under
// each result with a fix an indented "fix: COMMAND" line.
func WriteText(w io.Writer, rs []Result) error {
	width := 0
	for _, r := range rs {
		width = max(width, len(r.Name))
	}
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", r.Status, width, r.Name, r.Found)
		if r.Fix != "" && r.Status != OK {
			fmt.Fprintf(&b, "      fix: %s\n", r.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Report is the JSON form of a check.
type Report struct {
	OK      bool     `json:"ok"` // a rootless container can run
	Results []Result `json:"results"`
}

// WriteJSON prints the results as a Report.
func WriteJSON(w io.Writer, rs []Result) error {
	if rs == nil {
		rs = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report{OK: OKAll(rs), Results: rs})
}
