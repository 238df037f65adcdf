// Command gen writes decode_gen.go, the fast path's decoders of the runtime
// spec's types, in the current directory. Run it with go generate in
// internal/spec.
package main

import (
	"fmt"
	"os"

	"github.com/bwrap-oci/bwrap-oci/internal/spec/internal/decodegen"
)

func main() {
	src, err := decodegen.Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("decode_gen.go", src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
