package bwrap

import "strings"

// Quote returns args as one line that a POSIX shell splits back into args.
func Quote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = quoteOne(a)
	}
	return strings.Join(out, " ")
}

func quoteOne(a string) string {
	if a == "" {
		return "''"
	}
	safe := true
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	// zsh expands a word that starts with '=' (=cmd is its path).
	if safe && a[0] != '=' {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
