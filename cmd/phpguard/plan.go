package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/phpguard/phpguard/apply"
	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
)

type planCmd struct {
	Policy           string `arg:"" optional:"" name:"POLICY" help:"Policy file or directory (default: $PHPGUARD_POLICY, else /etc/phpguard/policy.yaml)."`
	Root             string `name:"root" placeholder:"R" help:"Take R as the host's / for everything read (files, record, account trees, mounts, ACLs)."`
	Only             string `name:"only" enum:",acl" default:"" help:"Plan one part only: acl."`
	JSON             bool   `name:"json" help:"Print one JSON object and nothing else on stdout, also on failure."`
	Diff             bool   `name:"diff" help:"With --json, add the before and after of each changed file (Ansible's diff list)."`
	DetailedExitcode bool   `name:"detailed-exitcode" help:"Exit 0 when there is nothing to change, 2 when there are changes, 1 on error."`
	Color            string `name:"color" enum:"auto,always,never" default:"auto" help:"Colour the output: auto (on a terminal), always or never."`
}

func (c *planCmd) Run(g *globals) error {
	r := &review{g: g, policy: c.Policy, root: c.Root, json: c.JSON, jsonDiff: c.Diff, color: c.Color,
		textDiff: true, planning: true, detailed: c.DetailedExitcode}
	return r.run(apply.Options{Only: c.Only}, apply.Plan)
}

// review runs plan or apply and prints the result, as text or as JSON.
type review struct {
	g        *globals
	policy   string
	root     string
	json     bool
	jsonDiff bool   // the diff list in the JSON object
	textDiff bool   // unified diffs in the text
	color    string // auto, always or never
	planning bool   // plan or --check: nothing is changed
	detailed bool   // --detailed-exitcode
}

func (r *review) run(o apply.Options, engine func(*policy.Policy, apply.Options) (*apply.Result, error)) error {
	var warnings []string

	// The policy: its diagnostics go to stderr in every case, and into
	// the JSON object too.
	p, list, err := policy.Load(defaultPolicy(r.policy))
	for _, w := range list {
		warnings = append(warnings, w.Error())
	}
	if len(list) > 0 {
		fmt.Fprintln(r.g.Stderr, list.Error())
	}
	if err == nil {
		o.Root, err = checkRoot(r.root)
	}
	if err != nil {
		return r.fail(warnings, &exitCode{code: exitError, err: err}, oneLine(err.Error()))
	}

	res, err := engine(p, o)
	if err != nil {
		return r.fail(warnings, &exitCode{code: exitError, err: err}, oneLine(err.Error()))
	}
	warnings = append(warnings, res.Warnings...)
	for _, w := range res.Warnings {
		fmt.Fprintf(r.g.Stderr, "phpguard: warning: %s\n", w)
	}

	summary := emit.PlanSummary(res.Changes)
	if !r.planning {
		summary = emit.DoneSummary(res.Changes)
	}
	failErr := res.Err()
	if r.json {
		rep := emit.Report{Changes: res.Changes, Warnings: warnings, Diff: r.jsonDiff, Msg: summary}
		if failErr != nil {
			rep.Failed, rep.Msg = true, oneLine(failErr.Error())
		}
		r.g.Stdout.Write(rep.JSON())
	} else {
		fmt.Fprint(r.g.Stdout, emit.RenderText(res.Changes, emit.TextOptions{
			Diff: r.textDiff, Color: r.colored(), Summary: summary,
		}))
	}
	switch {
	case failErr != nil:
		for _, e := range res.Errors {
			fmt.Fprintf(r.g.Stderr, "phpguard: %v\n", e)
		}
		return &exitCode{code: exitError}
	case r.detailed && r.planning && res.Changed():
		return &exitCode{code: exitChanges}
	}
	return nil
}

// fail reports a run that did not get to compare anything: as a JSON
// object when asked, and on stderr through the returned error.
func (r *review) fail(warnings []string, ec *exitCode, msg string) error {
	if r.json {
		r.g.Stdout.Write(emit.Report{Warnings: warnings, Failed: true, Msg: msg, Diff: r.jsonDiff}.JSON())
	}
	return ec
}

// colored says whether the text output gets colours.
func (r *review) colored() bool {
	switch r.color {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := r.g.Stdout.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && fi.Mode()&os.ModeDevice != 0
}

// checkRoot returns --root as an absolute path to a directory, or "".
func checkRoot(root string) (string, error) {
	if root == "" {
		return "", nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("--root %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("--root: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("--root %s: not a directory", root)
	}
	return abs, nil
}

// oneLine joins the lines of a message with "; ", for the JSON msg.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "; ")
}
