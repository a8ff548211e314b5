package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/phpguard/phpguard/emit"
)

type compileCmd struct {
	Policy string `arg:"" optional:"" name:"POLICY" help:"Policy file or directory (default: $PHPGUARD_POLICY, else /etc/phpguard/policy.yaml)."`
	Output string `short:"o" required:"" name:"output" placeholder:"DIR" help:"Directory to write to. Files under DIR/apache, DIR/php, DIR/rootfs and DIR/acl that phpguard generated and the policy no longer generates are removed; nothing else in DIR is touched, and nothing outside it."`
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
	removed, err := writeTree(c.Output, d.Files)
	if err != nil {
		return fmt.Errorf("compile to %s: %w", c.Output, err)
	}
	fmt.Fprintf(g.Stdout, "wrote %d files to %s", len(d.Files), c.Output)
	if removed > 0 {
		fmt.Fprintf(g.Stdout, ", removed %d stale", removed)
	}
	fmt.Fprintln(g.Stdout)
	return nil
}

// writeTree writes files under dir and removes the stale files of an
// earlier compile: those under dir's tree directories that the policy no
// longer generates and that carry phpguard's generated header. Every path
// is resolved inside dir (os.Root): a symbolic link that leads out of dir
// is an error, not a way out.
func writeTree(dir string, files []emit.File) (removed int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()

	want := make(map[string]bool, len(files))
	for _, f := range files {
		want[f.Name] = true
		if err := root.MkdirAll(path.Dir(f.Name), 0o755); err != nil {
			return 0, err
		}
		if err := writeFile(root, f.Name, f.Data); err != nil {
			return 0, err
		}
	}

	for _, sub := range treeDirs {
		err := fs.WalkDir(root.FS(), sub, func(name string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil || !e.Type().IsRegular() || want[name] {
				return err
			}
			if !generated(root, name) {
				return nil
			}
			removed++
			if err := root.Remove(name); err != nil {
				return err
			}
			// A dropped account leaves an empty directory; a directory
			// that still holds anything stays.
			if dir := path.Dir(name); dir != sub {
				_ = root.Remove(dir)
			}
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("remove stale files: %w", err)
		}
	}
	return removed, nil
}

// generated tells whether the regular file name under root starts with
// the header every file phpguard generates carries.
func generated(root *os.Root, name string) bool {
	f, err := root.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.Contains(line, emit.Header)
}

// writeFile replaces name under root with data through a temporary file
// in the same directory, so a reader never sees half a file. A target
// that is not a regular file is refused.
func writeFile(root *os.Root, name string, data []byte) error {
	if fi, err := root.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is a %s, not a regular file", name, fi.Mode().Type())
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := path.Join(path.Dir(name), ".phpguard-"+hex.EncodeToString(rnd[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer root.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Rename(tmp, name)
}
