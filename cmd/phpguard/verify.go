package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/phpguard/phpguard/verify"
)

type verifyCmd struct {
	Policy  string `arg:"" optional:"" name:"POLICY" help:"Policy file or directory (default: $PHPGUARD_POLICY, else /etc/phpguard/policy.yaml)."`
	Root    string `name:"root" placeholder:"R" help:"Take R as the host's /: the generated files and PHP's php.ini and conf.d are read under R, and the probes go into the roots mounted under R."`
	Port    int    `name:"port" help:"Port on 127.0.0.1 for the private Apache (default: a free one)."`
	Apache  string `name:"apache" default:"/usr/sbin/apache2" placeholder:"FILE" help:"The apache2 binary (${default})."`
	Modules string `name:"modules" default:"/usr/lib/apache2/modules" placeholder:"DIR" help:"Apache's module directory, holding mod_php as libphp*.so (${default})."`
}

// Help is kong's long help of the command.
func (c *verifyCmd) Help() string {
	return `Starts a private Apache (this host's apache2 and mod_php, on 127.0.0.1 only,
with the generated vhost and include files as they are on disk), places a
probe in each account's mounted root, and reports per vhost and per promise:
enforced or NOT ENFORCED. Exits 0 only when every promise holds, else 1.
The Apache that serves the customers is not touched.`
}

func (c *verifyCmd) Run(g *globals) error {
	p, err := loadPolicy(g, c.Policy)
	if err != nil {
		return err
	}
	if c.Port < 0 || c.Port > 65535 {
		return &exitCode{code: exitUsage, err: fmt.Errorf("--port %d: not a port", c.Port)}
	}

	// Ctrl-C and SIGTERM cancel the run, so that Apache is stopped and
	// the probes are removed before phpguard exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := verify.Run(ctx, p, verify.Options{
		Root: c.Root, Port: c.Port, Apache: c.Apache, ModulesDir: c.Modules,
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("verify interrupted: Apache is stopped and the probes are removed")
	}
	if err != nil {
		return err
	}
	if err := r.Render(g.Stdout); err != nil {
		return err
	}
	if !r.OK() {
		return &exitCode{code: exitError}
	}
	return nil
}
