package main

import "fmt"

type validateCmd struct {
	Policy string `arg:"" optional:"" name:"POLICY" help:"Policy file or directory (default: $PHPGUARD_POLICY, else /etc/phpguard/policy.yaml)."`
}

func (c *validateCmd) Run(g *globals) error {
	name := defaultPolicy(c.Policy)
	p, err := loadPolicy(g, name)
	if err != nil {
		return err
	}
	vhosts := 0
	for _, a := range p.Accounts {
		vhosts += len(a.Vhosts)
	}
	fmt.Fprintf(g.Stdout, "%s: valid: %d accounts, %d vhosts, %d layers\n", name, len(p.Accounts), vhosts, len(p.Server.Layers))
	return nil
}
