package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
)

// Exit codes (SPEC 6). With --detailed-exitcode, exitChanges means that
// there are changes; diff(1) uses 1 for that, phpguard keeps 1 for errors
// as terraform does.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
	exitUsage   = 80
)

const description = `phpguard compiles a hosting server's account policy into pivot roots, PHP
isolation and ACLs, and converges a host to it.

Exit codes: 0 success, 1 error, 80 usage error. With --detailed-exitcode
(diff, plan, apply --check): 0 no changes, 2 changes, 1 error.`

// cli is the command line. Each command is a struct with a Run method.
type cli struct {
	Validate validateCmd `cmd:"" help:"Check a policy: errors (exit 1) and warnings."`
	Compile  compileCmd  `cmd:"" help:"Write the generated tree of a policy to a directory."`
	Diff     diffCmd     `cmd:"" help:"Compare the generated trees of two policies."`
	Plan     planCmd     `cmd:"" help:"Show what apply would change on this host."`
	Apply    applyCmd    `cmd:"" help:"Converge this host to the policy."`
	Verify   verifyCmd   `cmd:"" help:"Prove each promise with a private Apache on 127.0.0.1."`
	Enter    enterCmd    `cmd:"" help:"Run a command inside an account's pivot root, as the account."`
	Version  versionCmd  `cmd:"" help:"Print the version."`
}

// globals are what every command gets: the output streams.
type globals struct {
	Stdout, Stderr io.Writer
}

// exitCode is an error that carries the exit status. A nil err means the
// command has already said everything it had to say.
type exitCode struct {
	code int
	err  error
}

func (e *exitCode) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCode) Unwrap() error { return e.err }

// run parses args, runs the command and returns the exit status.
func run(args []string, stdout, stderr io.Writer) (status int) {
	var c cli
	exited := false
	parser, err := kong.New(&c,
		kong.Name("phpguard"),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exited, status = true, code }),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "phpguard: %v\n", err)
		return exitError
	}
	ctx, err := parser.Parse(args)
	if exited {
		// --help, or kong's own handling of a parse error.
		return status
	}
	if err != nil {
		fmt.Fprintf(stderr, "phpguard: %v\n", err)
		// plan --json and apply --json promise one JSON object on stdout,
		// also when the command line itself is wrong (SPEC 6).
		if wantsJSON(args) {
			stdout.Write(emit.Report{Failed: true, Msg: err.Error()}.JSON())
		}
		return exitUsage
	}
	err = ctx.Run(&globals{Stdout: stdout, Stderr: stderr})
	if err == nil {
		return exitOK
	}
	var ec *exitCode
	if errors.As(err, &ec) {
		if ec.err != nil {
			report(stderr, ec.err)
		}
		return ec.code
	}
	report(stderr, err)
	return exitError
}

// wantsJSON tells whether args ask plan or apply for JSON output.
func wantsJSON(args []string) bool {
	cmd, isJSON := "", false
	for _, a := range args {
		if a == "--" {
			break
		}
		switch {
		case a == "--json" || a == "--json=true":
			isJSON = true
		case cmd == "" && !strings.HasPrefix(a, "-"):
			cmd = a
		}
	}
	return isJSON && (cmd == "plan" || cmd == "apply")
}

// report prints an error: policy diagnostics as they are (each already
// names its file, line and column), anything else after "phpguard: ".
func report(w io.Writer, err error) {
	var list policy.List
	if errors.As(err, &list) {
		fmt.Fprintln(w, list.Error())
		return
	}
	fmt.Fprintf(w, "phpguard: %v\n", err)
}

// defaultPolicy is where a command looks when POLICY is not given.
func defaultPolicy(arg string) string {
	if arg != "" {
		return arg
	}
	if env := os.Getenv("PHPGUARD_POLICY"); env != "" {
		return env
	}
	return "/etc/phpguard/policy.yaml"
}

// loadPolicy loads and validates a policy, printing its warnings.
func loadPolicy(g *globals, name string) (*policy.Policy, error) {
	p, warnings, err := policy.Load(defaultPolicy(name))
	if len(warnings) > 0 {
		fmt.Fprintln(g.Stderr, warnings.Error())
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}
