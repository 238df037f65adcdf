package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// abCmd compares commands the way hyperfine runs each of them: blocks of
// back-to-back runs, the commands' blocks alternating so that both see
// the same drift of a shared machine. Interleaving single runs instead
// (-interleave) is finer against drift but biased for a change that
// defers background work (a keeper's next namespace, say): that work then
// lands in the other command's runs. The first -warmup runs of each block
// are not counted.
//
//	benchtool ab [-rounds 12] [-block 40] [-warmup 3] [-interleave] CMD... ';;' CMD... [';;' ...]
func abCmd(args []string) error {
	fs := flag.NewFlagSet("ab", flag.ContinueOnError)
	rounds := fs.Int("rounds", 12, "blocks of each command")
	block := fs.Int("block", 40, "runs in a block")
	warmup := fs.Int("warmup", 3, "runs of a block not counted")
	interleave := fs.Bool("interleave", false, "alternate single runs, in blocks of one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cmds [][]string
	cur := []string{}
	for _, a := range fs.Args() {
		if a == ";;" {
			cmds, cur = append(cmds, cur), []string{}
			continue
		}
		cur = append(cur, a)
	}
	cmds = append(cmds, cur)
	for _, c := range cmds {
		if len(c) == 0 {
			return errors.New("ab: an empty command")
		}
	}
	if *interleave {
		*rounds, *block, *warmup = *rounds**block, 1, 0
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	times := make([][]float64, len(cmds))
	for r := 0; r < *rounds; r++ {
		for i, c := range cmds {
			for k := 0; k < *block; k++ {
				cmd := exec.Command(c[0], c[1:]...)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
				t0 := time.Now()
				err := cmd.Run()
				d := time.Since(t0)
				if err != nil {
					return fmt.Errorf("ab: %s: %v", strings.Join(c, " "), err)
				}
				if k >= *warmup {
					times[i] = append(times[i], float64(d.Microseconds())/1000)
				}
			}
		}
	}
	for i, c := range cmds {
		t := times[i]
		sort.Float64s(t)
		sum := 0.0
		for _, x := range t {
			sum += x
		}
		fmt.Printf("%7.2f median %7.2f p25 %7.2f mean  (%d runs)  %s\n", t[len(t)/2], t[len(t)/4], sum/float64(len(t)), len(t), strings.Join(c, " "))
	}
	return nil
}
