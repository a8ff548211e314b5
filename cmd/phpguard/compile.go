package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/phpguard/phpguard/emit"
)

type compileCmd struct {
	Policy string `arg:"" optional:"" name:"POLICY" help:"Policy file or directory (default: $PHPGUARD_POLICY, else /etc/phpguard/policy.yaml)."`
	Output string `short:"o" required:"" name:"output" placeholder:"DIR" help:"Directory to write to. compile owns DIR/apache, DIR/php, DIR/rootfs and DIR/acl: files there that the policy no longer generates are removed. Anything else in DIR is left alone."`
}

// treeDirs are the top-level directories of the compile tree.
var treeDirs = []string{"apache", "php", "rootfs", "acl"}

func (c *compileCmd) Run(g *globals) error {
	p, err := loadPolicy(g, c.Policy)
	if err != nil {
		return err
	}
	d, err := emit.Compile(p)
	if err != nil {
		return err
	}
	if err := writeTree(c.Output, d.Files); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "wrote %d files to %s\n", len(d.Files), c.Output)
	return nil
}

// writeTree writes files under dir and removes the files under dir's tree
// directories that are not among them.
func writeTree(dir string, files []emit.File) error {
	want := make(map[string]bool, len(files))
	for _, f := range files {
		name := filepath.Join(dir, filepath.FromSlash(f.Name))
		want[name] = true
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := writeFile(name, f.Data); err != nil {
			return err
		}
	}
	for _, sub := range treeDirs {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(name string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil || e.IsDir() || want[name] {
				return err
			}
			return os.Remove(name)
		})
		if err != nil {
			return fmt.Errorf("clean %s: %w", dir, err)
		}
	}
	return nil
}

// writeFile replaces name with data through a temporary file in the same
// directory, so a reader never sees half a file.
func writeFile(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".phpguard-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
