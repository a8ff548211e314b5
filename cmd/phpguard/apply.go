package main

import (
	"errors"
	"time"

	"github.com/phpguard/phpguard/apply"
)

type applyCmd struct {
	Policy           string        `arg:"" optional:"" name:"POLICY" help:"Policy file or directory (default: $PHPGUARD_POLICY, else /etc/phpguard/policy.yaml)."`
	Root             string        `name:"root" placeholder:"R" help:"Take R as the host's / for everything read, written or mounted (files, record and lock under R/var/lib/phpguard, account trees, mounts, ACLs). Generated files never contain R."`
	Check            bool          `name:"check" help:"Report what would change, and change nothing."`
	Diff             bool          `name:"diff" help:"Print each changed file as a unified diff (with --json: Ansible's diff list)."`
	JSON             bool          `name:"json" help:"Print one JSON object and nothing else on stdout, also on failure."`
	Only             string        `name:"only" enum:",acl" default:"" help:"Apply one part only: acl (the ACLs; no Apache reload)."`
	RunCommands      bool          `name:"run-commands" help:"Under --root, run the policy's configtest and reload commands too (with PHPGUARD_ROOT=R). Without --root they always run."`
	NoReload         bool          `name:"no-reload" help:"Do not run the reload command (the config test still runs): for the boot unit, which runs before Apache starts."`
	LockTimeout      time.Duration `name:"lock-timeout" default:"60s" help:"How long to wait for another apply to finish."`
	DetailedExitcode bool          `name:"detailed-exitcode" help:"With --check: exit 0 when there is nothing to change, 2 when there are changes, 1 on error."`
	Color            string        `name:"color" enum:"auto,always,never" default:"auto" help:"Colour the output: auto (on a terminal), always or never."`
	OldMountAPI      bool          `name:"old-mount-api" hidden:"" help:"Mount with mount(2) only, as on kernels before 6.8 (for tests)."`
}

func (c *applyCmd) Run(g *globals) error {
	r := &review{g: g, policy: c.Policy, root: c.Root, json: c.JSON, jsonDiff: c.Diff, color: c.Color,
		textDiff: c.Diff, planning: c.Check, detailed: c.DetailedExitcode}
	if c.DetailedExitcode && !c.Check {
		err := errors.New("--detailed-exitcode goes with --check")
		return r.fail(nil, &exitCode{code: exitUsage, err: err}, err.Error())
	}
	o := apply.Options{Only: c.Only, RunCommands: c.RunCommands, NoReload: c.NoReload, LockTimeout: c.LockTimeout, OldMountAPI: c.OldMountAPI}
	if c.Check {
		return r.run(o, apply.Plan)
	}
	return r.run(o, apply.Apply)
}
