package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/phpguard/phpguard/emit"
)

// fileOp is one change of the file step (at the host path c.Path), with
// what is needed to undo it.
type fileOp struct {
	c      emit.Change
	before fileState // the file as found, for a rollback and a removal
	data   []byte    // the new content, for a write
}

// filePlan is the file step worked out before anything is written.
type filePlan struct {
	rec     record   // the record as found
	kept    record   // the record without what checkRecordedFile and checkRecordedDir dropped
	wanted  []string // host paths of the generated files that could be read
	mkdirs  []fileOp // directories to make, parents first
	writes  []fileOp // vhosts first, then the include and the ini
	removes []fileOp // recorded files the policy no longer generates
	rmdirs  []fileOp // recorded directories left empty, deepest first
}

func (fp *filePlan) ops() []fileOp {
	var all []fileOp
	for _, l := range [][]fileOp{fp.mkdirs, fp.writes, fp.removes, fp.rmdirs} {
		all = append(all, l...)
	}
	return all
}

// files writes the Apache and PHP files, removes those the policy no
// longer generates, runs the config test (undoing it all when the test
// fails) and reloads Apache.
func (e *engine) files() {
	// Leftovers of an interrupted run go first, so that they do not keep
	// a directory from being removed.
	if !e.dry {
		e.removeTemps()
	}

	fp, err := e.planFiles()
	if err != nil {
		e.res.Errors = append(e.res.Errors, err)
		return
	}
	if e.dry {
		for _, op := range fp.ops() {
			e.change(op.c)
		}
		return
	}

	// Widen the record before the first write, so that a crash leaves
	// every file this run may have written in it.
	intent := fp.kept.union(record{Files: fp.wanted, Dirs: dirPaths(fp.mkdirs)})
	onDisk := fp.rec
	if !intent.equal(fp.rec) {
		if err := intent.save(e.r); err != nil {
			e.res.Errors = append(e.res.Errors, err)
			return
		}
		onDisk = intent
	}

	// Directories, files, removals, in that order: the include never
	// names a vhost file that is not there yet, nor one already gone.
	done := e.carryOut(fp)
	testPause("files")

	final := intent
	rewritten := false
	for _, op := range done {
		rewritten = rewritten || op.c.Kind == emit.KindFile
	}
	switch {
	case !rewritten:
	case !e.commandsAllowed():
		e.warn("configtest and reload not run under --root %s; pass --run-commands to run them", e.root)
	default:
		if err := e.command("apache config test", e.p.Server.Apache.ConfigTest); err != nil {
			// Put every file back as it was, and do not reload: the
			// running Apache keeps its working configuration.
			e.res.Errors = append(e.res.Errors, fmt.Errorf("%w; restored the previous Apache and PHP files, Apache not reloaded", err))
			e.rollback(done)
			done = nil
			final = fp.kept
		}
	}

	// Narrow the record to what is there now.
	final = final.existing(e.r)
	if !final.equal(onDisk) {
		if err := final.save(e.r); err != nil {
			e.res.Errors = append(e.res.Errors, err)
		}
	}
	for _, op := range done {
		e.change(op.c)
	}

	// The reload, last.
	if rewritten && done != nil && e.commandsAllowed() && !e.o.NoReload {
		if err := e.command("apache reload", e.p.Server.Apache.Reload); err != nil {
			e.res.Errors = append(e.res.Errors, err)
		}
	}
}

// planFiles compares the generated files with the host and the record.
func (e *engine) planFiles() (*filePlan, error) {
	rec, err := loadRecord(e.r)
	if err != nil {
		return nil, err
	}
	fp := &filePlan{rec: rec, kept: record{Version: recordVersion}}
	apacheDir := e.p.Server.Paths.Apache

	// The files to write: an account's vhosts before the server's files,
	// which name them.
	var gen []emit.File
	for _, f := range e.d.Files {
		if f.Host != "" && f.Account != "" {
			gen = append(gen, f)
		}
	}
	for _, f := range e.d.Files {
		if f.Host != "" && f.Account == "" {
			gen = append(gen, f)
		}
	}
	wanted := make(map[string]bool, len(gen))
	dirs := newDirCache(e.r)
	for _, f := range gen {
		wanted[f.Host] = true
		st, err := readState(e.r, f.Host)
		if err != nil {
			e.fileErr(f.Account, err)
			continue
		}
		fp.wanted = append(fp.wanted, f.Host)
		if st.wants(f.Data) {
			continue
		}
		missing, err := dirs.missing(path.Dir(f.Host))
		if err != nil {
			e.fileErr(f.Account, err)
			continue
		}
		for _, d := range missing {
			fp.mkdirs = append(fp.mkdirs, fileOp{
				c: emit.Change{Kind: emit.KindDir, Action: emit.Create, Path: d, Account: accountOfDir(apacheDir, d), Detail: "root 0755"},
			})
		}
		c := emit.Change{Kind: emit.KindFile, Action: emit.Create, Path: f.Host, Account: f.Account, New: f.Data}
		if st.exists {
			c.Action, c.Old, c.Detail = emit.Update, st.data, st.detail()
		}
		fp.writes = append(fp.writes, fileOp{c: c, before: st, data: f.Data})
	}

	// Files written before that the policy no longer generates, as far
	// as checkRecordedFile trusts the record.
	removed := make(map[string]bool)
	guard := e.newRecordGuard()
	for _, p := range rec.Files {
		if wanted[p] {
			fp.kept.Files = append(fp.kept.Files, p)
			continue
		}
		st, keep, remove := e.checkRecordedFile(guard, p)
		if keep {
			fp.kept.Files = append(fp.kept.Files, p)
		}
		if !remove {
			continue
		}
		removed[p] = true
		fp.removes = append(fp.removes, fileOp{
			c:      emit.Change{Kind: emit.KindFile, Action: emit.Remove, Path: p, Account: accountOfVhostPath(apacheDir, p), Old: st.data},
			before: st,
		})
	}

	// Directories made before that are left empty, deepest first.
	holding := ancestors(fp.wanted)
	recDirs := append([]string(nil), rec.Dirs...)
	sort.Slice(recDirs, func(i, j int) bool { return recDirs[i] > recDirs[j] })
	for _, d := range recDirs {
		if holding[d] {
			fp.kept.Dirs = append(fp.kept.Dirs, d)
			continue
		}
		if !e.checkRecordedDir(guard, d) {
			continue
		}
		fp.kept.Dirs = append(fp.kept.Dirs, d)
		empty, err := emptyAfter(e.r, d, removed)
		if err != nil || !empty {
			continue
		}
		removed[d] = true
		fp.rmdirs = append(fp.rmdirs, fileOp{
			c: emit.Change{Kind: emit.KindDir, Action: emit.Remove, Path: d, Account: accountOfDir(apacheDir, d)},
		})
	}
	fp.kept.normalize()
	return fp, nil
}

// fileErr records a file that cannot be converged. A vhost's problem is
// its account's; the account's tree and mount are not affected.
func (e *engine) fileErr(account string, err error) {
	if account != "" {
		err = accountErr(account, err)
	}
	e.res.Errors = append(e.res.Errors, err)
}

// carryOut makes the changes of the file step and returns those made.
// Every new file is staged as a temporary file first, then one
// syncfs(2) makes them all durable before the first rename, and another
// makes the renames, removals and new directories durable before the
// record is narrowed.
func (e *engine) carryOut(fp *filePlan) []fileOp {
	var done []fileOp
	var dirs []string // where the changes are, for syncFilesystems
	for _, op := range fp.mkdirs {
		if err := e.doFileOp(op); err != nil {
			e.res.Errors = append(e.res.Errors, err)
			continue
		}
		done = append(done, op)
		dirs = append(dirs, path.Dir(op.c.Path))
	}

	staged := make([]*staged, len(fp.writes))
	for i, op := range fp.writes {
		st, err := stageFile(e.r, op.c.Path, op.data, fileMode, 0, 0, false)
		if err != nil {
			e.fileErr(op.c.Account, err)
			continue
		}
		staged[i] = st
		dirs = append(dirs, path.Dir(op.c.Path))
		testPause("temp")
	}
	if err := syncFilesystems(e.r, dirs); err != nil {
		e.res.Errors = append(e.res.Errors, err)
		for _, st := range staged {
			if st != nil {
				st.discard()
			}
		}
		return done
	}
	for i, op := range fp.writes {
		if staged[i] == nil {
			continue
		}
		if err := staged[i].commit(); err != nil {
			e.fileErr(op.c.Account, err)
			continue
		}
		e.o.logf("%s", op.c.Line())
		done = append(done, op)
		testPause("file")
	}

	for _, op := range append(append([]fileOp{}, fp.removes...), fp.rmdirs...) {
		if err := e.doFileOp(op); err != nil {
			e.res.Errors = append(e.res.Errors, err)
			continue
		}
		done = append(done, op)
		dirs = append(dirs, path.Dir(op.c.Path))
	}
	if err := syncFilesystems(e.r, dirs); err != nil {
		e.res.Errors = append(e.res.Errors, err)
	}
	return done
}

// doFileOp makes a directory, removes one, or removes a file.
func (e *engine) doFileOp(op fileOp) error {
	p, real := op.c.Path, e.r.real(op.c.Path)
	switch {
	case op.c.Kind == emit.KindDir && op.c.Action == emit.Create:
		if err := e.r.makeDir(p); err != nil {
			// Made since the plan is fine; a link that leads
			// nowhere inside the root is not a directory.
			if st, serr := e.r.stat(p); !errors.Is(err, fs.ErrExist) || serr != nil || !isDir(&st) {
				return fmt.Errorf("make directory %s: %w", real, err)
			}
		}
	case op.c.Kind == emit.KindDir:
		// rmdir(2) refuses a directory that is not empty: whatever
		// appeared in it since the plan stays.
		if err := e.r.removeDir(p); err != nil {
			return fmt.Errorf("remove directory %s: %w", real, err)
		}
	default:
		if err := removeFile(e.r, p, &op.before); err != nil {
			return fmt.Errorf("remove %s: %w", real, err)
		}
	}
	e.o.logf("%s", op.c.Line())
	return nil
}

// rollback undoes done, last first: every file gets back its content,
// mode and owner, files that were made are removed, directories that
// were made or removed are removed or made again.
func (e *engine) rollback(done []fileOp) {
	var dirs []string
	for i := len(done) - 1; i >= 0; i-- {
		op := done[i]
		p := op.c.Path
		var err error
		switch {
		case op.c.Kind == emit.KindDir && op.c.Action == emit.Create:
			err = e.r.removeDir(p)
		case op.c.Kind == emit.KindDir:
			err = e.r.makeDir(p)
		case op.before.exists:
			err = writeAtomic(e.r, p, op.before.data, op.before.mode, op.before.uid, op.before.gid)
		default:
			err = removeFile(e.r, p, nil)
		}
		if err != nil {
			e.res.Errors = append(e.res.Errors, fmt.Errorf("restore %s: %w", e.r.real(p), err))
		}
		dirs = append(dirs, path.Dir(p))
	}
	if err := syncFilesystems(e.r, dirs); err != nil {
		e.res.Errors = append(e.res.Errors, err)
	}
}

// removeTemps removes the temporary files an interrupted run left in the
// directories apply writes to. A recorded file names such a directory
// only when its path passes unsafeRecordedPath.
func (e *engine) removeTemps() {
	dirs := map[string]bool{StateDir: true}
	for _, f := range e.d.Files {
		if f.Host != "" {
			dirs[path.Dir(f.Host)] = true
		}
	}
	if rec, err := loadRecord(e.r); err == nil {
		for _, p := range rec.Files {
			if e.unsafeRecordedPath(p) == "" {
				dirs[path.Dir(p)] = true
			}
		}
	}
	for dir := range dirs {
		removed, err := removeTemps(e.r, dir)
		for _, name := range removed {
			e.o.logf("removed %s, left by an interrupted run", name)
		}
		if err != nil {
			e.res.Errors = append(e.res.Errors, fmt.Errorf("remove temporary files in %s: %w", e.r.real(dir), err))
		}
	}
}

// dirCache answers which directories are missing, asking the host once
// per directory.
type dirCache struct {
	root   *hostRoot
	exists map[string]bool
}

func newDirCache(root *hostRoot) *dirCache {
	return &dirCache{root: root, exists: map[string]bool{"/": true}}
}

// missing returns the directories on the way to dir (dir included) that
// do not exist yet, parents first, each once per cache. A path on the way
// that exists and is not a directory is an error.
func (c *dirCache) missing(dir string) ([]string, error) {
	var out []string
	for d := dir; ; d = path.Dir(d) {
		if _, seen := c.exists[d]; seen {
			break // there, or planned already with its parents
		}
		st, err := c.root.stat(d)
		if err == nil && !isDir(&st) {
			return nil, fmt.Errorf("make directory %s: a %s is in the way", c.root.real(d), statType(&st))
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err == nil {
			c.exists[d] = true
			break
		}
		c.exists[d] = false
		out = append(out, d)
	}
	// Parents first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func dirPaths(ops []fileOp) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.c.Path
	}
	return out
}

// ancestors returns the set of directories that hold one of the files.
func ancestors(files []string) map[string]bool {
	out := make(map[string]bool)
	for _, f := range files {
		for d := path.Dir(f); !out[d]; d = path.Dir(d) {
			out[d] = true
			if d == "/" {
				break
			}
		}
	}
	return out
}

// emptyAfter says whether the directory at the host path dir holds
// nothing once the paths in removed and temporary files are gone.
func emptyAfter(r *hostRoot, dir string, removed map[string]bool) (bool, error) {
	entries, err := r.readDir(dir)
	if err != nil {
		return false, err
	}
	for _, ent := range entries {
		if removed[path.Join(dir, ent.Name())] || strings.HasPrefix(ent.Name(), tempPrefix) {
			continue
		}
		return false, nil
	}
	return true, nil
}

// accountOfDir returns the account whose vhost directory dir is
// (apacheDir/ACCOUNT), or "".
func accountOfDir(apacheDir, dir string) string {
	if path.Dir(dir) == path.Clean(apacheDir) {
		return path.Base(dir)
	}
	return ""
}
