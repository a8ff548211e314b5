package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kong"

	"github.com/phpguard/phpguard/rootfs"
)

// init hands the process over to rootfs when it is the child that
// rootfs.Enter starts (this binary again, in a new mount namespace): that
// child must not parse a command line, and it execs the account's command
// or exits.
func init() {
	rootfs.InitEnter()
}

type enterCmd struct {
	Policy  string   `arg:"" optional:"" name:"POLICY" help:"Policy file or directory (default: $PHPGUARD_POLICY, else /etc/phpguard/policy.yaml). Give it before ACCOUNT, or not at all."`
	Account string   `arg:"" optional:"" name:"ACCOUNT" help:"The account whose root to enter."`
	Command []string `arg:"" optional:"" name:"CMD" help:"After --: the command and its arguments (default: the account's login shell from /etc/passwd inside its root, else /bin/sh)."`
	Root    string   `name:"root" placeholder:"R" help:"Take R as the host's / when finding the account's root."`
}

// Help is shown by phpguard enter --help.
func (c *enterCmd) Help() string {
	return `Runs a command inside an account's pivot root, as the account: a private
mount namespace, the root as apply mounted it (made executable there), a
new /proc that shows the account's own processes only, a small /dev, no
supplementary groups, no_new_privs, and an environment of HOME, USER,
LOGNAME, SHELL, PATH and TERM only. Run it as root; it drops to the account.

The exit status is the command's (128+N when signal N ended it), 126 or 127
when it could not be executed, 1 when the root could not be entered.
SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are passed on to it.

Examples:
  phpguard enter site1                                  # a login shell
  phpguard enter site1 -- php /var/www/html/cron.php
  phpguard enter /etc/phpguard site1 --root /srv/test -- id -u`
}

func (c *enterCmd) Run(g *globals, ctx *kong.Context) error {
	positional, command, err := c.split(ctx.Args)
	if err != nil {
		return &exitCode{code: exitUsage, err: err}
	}
	var policyArg, account string
	switch len(positional) {
	case 1:
		account = positional[0]
	case 2:
		policyArg, account = positional[0], positional[1]
	case 0:
		return &exitCode{code: exitUsage, err: fmt.Errorf("enter: expected ACCOUNT")}
	default:
		return &exitCode{code: exitUsage, err: fmt.Errorf("enter: expected [POLICY] ACCOUNT, got %q: put the command after --", positional)}
	}

	p, err := loadPolicy(g, policyArg)
	if err != nil {
		return err
	}
	var uid, gid int
	found := false
	for _, a := range p.Accounts {
		if a.Name == account {
			uid, gid, found = a.UID, a.GID, true
			break
		}
	}
	if !found {
		return fmt.Errorf("enter: account %q is not in the policy %s", account, defaultPolicy(policyArg))
	}
	hostRoot, err := checkRoot(c.Root)
	if err != nil {
		return err
	}
	root := rootfs.Under(hostRoot, rootfs.DirsOf(p.Server.Paths.Accounts, account).Root)

	status, err := rootfs.Enter(rootfs.Entry{
		Account: account,
		Root:    root,
		UID:     uid,
		GID:     gid,
		Command: command,
		Term:    os.Getenv("TERM"),
		Layout:  rootfs.DefaultLayout(),
		Stdin:   os.Stdin,
		Stdout:  g.Stdout,
		Stderr:  g.Stderr,
	})
	if err != nil || status != 0 {
		return &exitCode{code: status, err: err}
	}
	return nil
}

// split separates [POLICY] ACCOUNT from the command after "--". kong puts
// the words after "--" into the positional fields too, after the ones
// before it; the command is taken from the raw arguments as it was given,
// and the words before "--" are what remains of the fields. Empty words
// are left out of that count: POLICY and ACCOUNT are never empty.
func (c *enterCmd) split(raw []string) (positional, command []string, err error) {
	var words []string
	for _, s := range append([]string{c.Policy, c.Account}, c.Command...) {
		if s != "" {
			words = append(words, s)
		}
	}
	for i, a := range raw {
		if a != "--" {
			continue
		}
		command = raw[i+1:]
		n := 0
		for _, w := range command {
			if w != "" {
				n++
			}
		}
		if n > len(words) {
			return nil, nil, fmt.Errorf("enter: cannot tell the command from [POLICY] ACCOUNT")
		}
		return words[:len(words)-n], command, nil
	}
	return words, nil, nil
}
