package bwrap

// ArgsJoiningUserNS is Args for a plan with NewUserNS whose user namespace
// the runtime has already made and mapped: bwrap joins it through
// descriptor fd (--userns) instead of creating one (--unshare-user). bwrap
// then takes no --uid or --gid: the process keeps the ids the namespace
// gives the caller's.
func (p *Plan) ArgsJoiningUserNS(fd string) []string {
	var out []string
	for _, o := range p.Opts {
		switch o.Name {
		case "--unshare-user":
			out = append(out, "--userns", fd)
			continue
		case "--uid", "--gid":
			continue
		}
		out = append(out, o.Name)
		out = append(out, o.Args...)
	}
	return out
}
