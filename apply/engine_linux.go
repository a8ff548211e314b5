package apply

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/phpguard/phpguard/acl"
	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
	"github.com/phpguard/phpguard/rootfs"
)

// engine is one run of Plan or Apply.
type engine struct {
	p    *policy.Policy
	d    *emit.Desired
	o    Options
	root string    // "" for the host itself
	r    *hostRoot // root, through which the file step and the lock go
	dry  bool
	uid  uint32 // the HTTP user's

	mountOpts rootfs.MountOptions
	overlays  map[string]rootfs.Overlay // account → its overlay, real and canonical paths
	failed    map[string]bool           // accounts that later steps skip
	res       Result
}

func run(p *policy.Policy, o Options, dry bool) (*Result, error) {
	d, err := emit.Compile(p)
	if err != nil {
		return nil, err
	}
	e := &engine{p: p, d: d, o: o, root: o.Root, dry: dry,
		overlays: make(map[string]rootfs.Overlay), failed: make(map[string]bool)}
	if e.root == "/" {
		e.root = ""
	}
	if o.OldMountAPI {
		e.mountOpts.API = rootfs.APIOld
	}

	// Host checks come before the lock, so that a failure leaves no
	// trace at all, not even the lock file.
	e.uid, err = checkHost(p, d, e.root)
	if err != nil {
		return nil, err
	}
	e.r, err = openHostRoot(e.root)
	if err != nil {
		return nil, err
	}
	defer e.r.close()

	// The lock. Plan and --check only read, and do not wait for it.
	if !dry {
		l, err := takeLock(e.r, o.lockTimeout())
		if err != nil {
			return nil, err
		}
		defer l.release()
	}

	// --only acl: the apt hook, in the middle of an upgrade.
	if o.Only == OnlyACL {
		e.acls()
		return &e.res, nil
	}
	if o.Only != "" {
		return nil, fmt.Errorf("apply: unknown part %q (only %q is known)", o.Only, OnlyACL)
	}

	// Per account checks, before the account's first change.
	table, err := rootfs.ReadMountTable()
	if err != nil {
		return nil, err
	}
	e.checkAccounts()

	// Trees before mounts: nothing is written into an upper behind a
	// live mount (EnsureAccount goes through the mounted root instead).
	e.trees()

	// ACLs before the mounts, and before Apache reloads with a new vhost.
	e.acls()

	// Mounts, then files: a vhost goes live only after its root is there.
	e.mounts(table)
	e.files()
	return &e.res, nil
}

// fail records an account's failure; later steps skip the account.
func (e *engine) fail(account string, err error) {
	e.failed[account] = true
	e.res.Errors = append(e.res.Errors, accountErr(account, err))
}

// accountErr makes err name the account, unless it does already.
func accountErr(account string, err error) error {
	if strings.HasPrefix(err.Error(), "account "+account+":") {
		return err
	}
	return fmt.Errorf("account %s: %w", account, err)
}

func (e *engine) change(c emit.Change) {
	e.res.Changes = append(e.res.Changes, c)
}

func (e *engine) warn(format string, args ...any) {
	e.res.Warnings = append(e.res.Warnings, fmt.Sprintf(format, args...))
}

// checkAccounts runs rootfs.CheckAccount on every account that has
// layers: a planted link where its tree has a directory, an upper
// directory overlayfs would refuse, a stack longer than the kernel takes.
func (e *engine) checkAccounts() {
	for i := range e.d.Accounts {
		a := &e.d.Accounts[i]
		if len(a.Overlay.Lower) == 0 {
			continue
		}
		o, err := rootfs.Canonical(a.Overlay.Under(e.root))
		if err != nil {
			e.fail(a.Name, err)
			continue
		}
		if err := rootfs.CheckAccount(o, e.mountOpts); err != nil {
			e.fail(a.Name, err)
			continue
		}
		e.overlays[a.Name] = o
	}
}

// trees makes each account's directories, skeleton and docroots.
func (e *engine) trees() {
	seen := make(map[string]bool)
	for i := range e.d.Accounts {
		a := &e.d.Accounts[i]
		if e.failed[a.Name] {
			continue
		}
		spec := rootfs.AccountSpec{Name: a.Name, UID: a.UID, GID: a.GID, Dirs: a.Dirs, Skeleton: a.Skeleton, Docroots: a.Docroots}
		mounted := e.rootMounted(a.Dirs.Root)
		changes, err := rootfs.EnsureAccount(e.root, spec, e.dry)
		for _, c := range changes {
			if mounted {
				c.Path = throughRoot(c.Path, a.Dirs)
			}
			// The accounts directory is everyone's; a dry run finds it
			// missing once per account.
			account := a.Name
			if c.Path != a.Dirs.Dir && !strings.HasPrefix(c.Path, a.Dirs.Dir+"/") {
				account = ""
				key := c.Kind + " " + c.Path
				if seen[key] {
					continue
				}
				seen[key] = true
			}
			e.change(emit.Change{Kind: emit.Kind(c.Kind), Action: emit.Action(c.Action), Path: c.Path, Account: account, Detail: c.Detail})
		}
		if err != nil {
			e.fail(a.Name, err)
		}
	}
}

// rootMounted says whether something is mounted on the account's root
// (STATX_ATTR_MOUNT_ROOT), as EnsureAccount finds it: then it makes the
// skeleton and docroots through the mounted root, not in upper.
func (e *engine) rootMounted(root string) bool {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, under(e.root, root), unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_TYPE, &st)
	return err == nil && st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && st.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

// throughRoot names a change EnsureAccount reports in upper (host path p)
// by the path it really makes it through, the mounted root: the upper
// path would suggest a write behind the live mount, which it is not.
func throughRoot(p string, d rootfs.AccountDirs) string {
	if p == d.Upper || strings.HasPrefix(p, d.Upper+"/") {
		return d.Root + strings.TrimPrefix(p, d.Upper)
	}
	return p
}

// acls gives the HTTP user no permission on every deny target.
func (e *engine) acls() {
	targets := make([]acl.DenyTarget, len(e.d.Deny))
	for i, t := range e.d.Deny {
		targets[i] = acl.DenyTarget{Tree: under(e.root, t.Tree), Path: t.Path}
	}
	entry := "user:" + e.d.HTTPUser + ":---"
	var absent []string // paths, in order
	absentFrom := make(map[string][]string)
	for i, r := range acl.Deny(targets, e.uid, e.dry) {
		t := e.d.Deny[i]
		shown := path.Join(t.Tree, t.Path)
		switch {
		case r.Err != nil:
			e.res.Errors = append(e.res.Errors, fmt.Errorf("deny %s to %s: %w", shown, e.d.HTTPUser, r.Err))
		case r.Status == acl.Changed:
			action := emit.Create
			for _, en := range r.Before {
				if en.Tag == acl.User && en.ID == e.uid {
					action = emit.Update
				}
			}
			e.change(emit.Change{Kind: emit.KindACL, Action: action, Path: shown, Detail: entry})
		case r.Status == acl.Absent:
			where := "the host"
			if t.Tree != "/" {
				where = "layer " + path.Base(t.Tree)
			}
			if absentFrom[t.Path] == nil {
				absent = append(absent, t.Path)
			}
			absentFrom[t.Path] = append(absentFrom[t.Path], where)
		}
	}
	for _, p := range absent {
		e.warn("deny %s: absent from %s", p, strings.Join(absentFrom[p], ", "))
	}
}

// mounts mounts each account's root, remounts a changed stack when
// nothing holds it, and unmounts the roots of accounts the policy no
// longer has.
func (e *engine) mounts(table *rootfs.MountTable) {
	for i := range e.d.Accounts {
		a := &e.d.Accounts[i]
		o, ok := e.overlays[a.Name]
		if !ok || e.failed[a.Name] {
			continue
		}
		st := table.State(o)
		c := emit.Change{Kind: emit.KindMount, Path: a.Overlay.Target, Account: a.Name,
			Detail: "lowerdir " + strings.Join(a.Overlay.Layers, ":")}
		switch st.State {
		case rootfs.MountCorrect:
			continue
		case rootfs.MountMissing:
			c.Action = emit.Create
			if !e.dry {
				if err := rootfs.MountOverlay(o, e.mountOpts); err != nil {
					e.fail(a.Name, err)
					continue
				}
			}
		case rootfs.MountDifferent:
			c.Action = emit.Update
			c.Detail += "; " + st.Why
			if e.dry {
				if h, _ := rootfs.Holders(o.Target); len(h) > 0 {
					c.Detail += "; held by " + holders(h)
				}
			} else if err := rootfs.Remount(o, e.mountOpts); err != nil {
				// A held mount is not the account's failure: its files
				// still converge, and the next apply remounts.
				var held *rootfs.HeldError
				if errors.As(err, &held) {
					e.res.Errors = append(e.res.Errors, accountErr(a.Name, err))
				} else {
					e.fail(a.Name, err)
				}
				continue
			}
		}
		e.change(c)
	}
	e.dropped(table)
}

func holders(hs []rootfs.Holder) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = h.String()
	}
	return strings.Join(s, ", ")
}

// dropped unmounts the overlay on the root of every directory in the
// accounts directory that is not an account of the policy, when nothing
// holds it. Its data stays where it is.
func (e *engine) dropped(table *rootfs.MountTable) {
	accounts := e.p.Server.Paths.Accounts
	real := under(e.root, accounts)
	entries, err := os.ReadDir(real)
	if err != nil {
		return // no accounts directory: nothing mounted in it
	}
	known := make(map[string]bool, len(e.d.Accounts))
	for _, a := range e.d.Accounts {
		known[a.Name] = true
	}
	for _, ent := range entries {
		name := ent.Name()
		if known[name] || !ent.IsDir() {
			continue
		}
		dirs := rootfs.DirsOf(accounts, name)
		o, err := rootfs.Canonical(rootfs.Overlay{Account: name, Target: dirs.Root, Upper: dirs.Upper, Work: dirs.Work}.Under(e.root))
		if err != nil {
			continue
		}
		st := table.State(o)
		if st.State == rootfs.MountMissing || st.Info == nil || st.Info.FSType != "overlay" {
			continue
		}
		c := emit.Change{Kind: emit.KindMount, Action: emit.Remove, Path: dirs.Root, Account: name, Detail: "account dropped; data kept"}
		hs, err := rootfs.Holders(o.Target)
		if err != nil {
			e.res.Errors = append(e.res.Errors, accountErr(name, err))
			continue
		}
		if len(hs) > 0 {
			if e.dry {
				c.Detail += "; held by " + holders(hs)
			} else {
				e.res.Errors = append(e.res.Errors, fmt.Errorf("account %s: unmount %s: held by %s", name, o.Target, holders(hs)))
				continue
			}
		}
		if !e.dry {
			if err := rootfs.Unmount(o.Target); err != nil {
				e.res.Errors = append(e.res.Errors, accountErr(name, err))
				continue
			}
		}
		e.change(c)
	}
}

// commandsAllowed says whether configtest and reload run: always on the
// host itself, under --root only with RunCommands.
func (e *engine) commandsAllowed() bool {
	return e.root == "" || e.o.RunCommands
}

// command runs one of the policy's commands, with PHPGUARD_ROOT under
// --root.
func (e *engine) command(what string, argv []string) error {
	if len(argv) == 0 {
		return nil
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	if e.root != "" {
		cmd.Env = append(cmd.Env, "PHPGUARD_ROOT="+e.root)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg != "" {
			msg = ": " + strings.ReplaceAll(msg, "\n", "; ")
		}
		return fmt.Errorf("%s (%s): %w%s", what, strings.Join(argv, " "), err, msg)
	}
	e.o.logf("%s: %s: ok", what, strings.Join(argv, " "))
	return nil
}
