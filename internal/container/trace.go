package container

import (
	"fmt"
	"os"
	"time"
)

// traceStart is when the process started tracing; BWRAP_OCI_TRACE=1 prints
// the time of each phase of a start to stderr (see bench/profile.sh).
var (
	traceOn    = os.Getenv("BWRAP_OCI_TRACE") != ""
	traceStart = time.Now()
)

func trace(phase string) {
	if traceOn {
		fmt.Fprintf(os.Stderr, "bwrap-oci trace: %7.3f ms %s\n", float64(time.Since(traceStart).Microseconds())/1000, phase)
	}
}
