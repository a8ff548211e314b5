package main

import (
	"fmt"

	"github.com/phpguard/phpguard/emit"
)

type diffCmd struct {
	Old              string `arg:"" name:"OLD" help:"The policy before."`
	New              string `arg:"" name:"NEW" help:"The policy after."`
	DetailedExitcode bool   `name:"detailed-exitcode" help:"Exit 0 when the outputs are the same, 2 when they differ, 1 on error."`
}

func (c *diffCmd) Run(g *globals) error {
	old, err := compilePolicy(g, c.Old)
	if err != nil {
		return err
	}
	new, err := compilePolicy(g, c.New)
	if err != nil {
		return err
	}
	changes := emit.DiffFiles(old.Files, new.Files)
	for _, ch := range changes {
		fmt.Fprint(g.Stdout, emit.Unified(ch))
	}
	if len(changes) == 0 {
		fmt.Fprintln(g.Stdout, "No changes.")
		return nil
	}
	fmt.Fprintln(g.Stdout, emit.Summary(changes))
	if c.DetailedExitcode {
		return &exitCode{code: exitChanges}
	}
	return nil
}

func compilePolicy(g *globals, name string) (*emit.Desired, error) {
	p, err := loadPolicy(g, name)
	if err != nil {
		return nil, err
	}
	return emit.Compile(p)
}
