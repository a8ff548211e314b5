package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/phpguard/phpguard/emit"
)

// fileOp is one change of the file step, with what is needed to undo it.
type fileOp struct {
	c      emit.Change
	real   string
	before fileState // the file as found, for a rollback
	data   []byte    // the new content, for a write
}

// filePlan is the file step worked out before anything is written.
type filePlan struct {
	rec     record   // the record as found
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
	intent := fp.rec.union(record{Files: fp.wanted, Dirs: dirPaths(fp.mkdirs)})
	onDisk := fp.rec
	if !intent.equal(fp.rec) {
		if err := intent.save(e.root); err != nil {
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
			final = fp.rec
		}
	}

	// Narrow the record to what is there now.
	final = final.existing(e.root)
	if !final.equal(onDisk) {
		if err := final.save(e.root); err != nil {
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
	rec, err := loadRecord(e.root)
	if err != nil {
		return nil, err
	}
	fp := &filePlan{rec: rec}
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
	dirs := newDirCache(e.root)
	for _, f := range gen {
		wanted[f.Host] = true
		real := under(e.root, f.Host)
		st, err := readState(real)
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
				c:    emit.Change{Kind: emit.KindDir, Action: emit.Create, Path: d, Account: accountOfDir(apacheDir, d), Detail: "root 0755"},
				real: under(e.root, d),
			})
		}
		c := emit.Change{Kind: emit.KindFile, Action: emit.Create, Path: f.Host, Account: f.Account, New: f.Data}
		if st.exists {
			c.Action, c.Old, c.Detail = emit.Update, st.data, st.detail()
		}
		fp.writes = append(fp.writes, fileOp{c: c, real: real, before: st, data: f.Data})
	}

	// Files written before that the policy no longer generates.
	removed := make(map[string]bool)
	for _, p := range rec.Files {
		if wanted[p] {
			continue
		}
		real := under(e.root, p)
		st, err := readState(real)
		var nr *NotRegularError
		if errors.As(err, &nr) {
			e.warn("recorded file %s is now a %s: left alone", real, nr.Type)
			continue
		}
		if err != nil {
			e.res.Errors = append(e.res.Errors, err)
			continue
		}
		if !st.exists {
			continue
		}
		removed[p] = true
		fp.removes = append(fp.removes, fileOp{
			c:      emit.Change{Kind: emit.KindFile, Action: emit.Remove, Path: p, Account: accountOfVhostPath(apacheDir, p), Old: st.data},
			real:   real,
			before: st,
		})
	}

	// Directories made before that are left empty, deepest first.
	holding := ancestors(fp.wanted)
	recDirs := append([]string(nil), rec.Dirs...)
	sort.Slice(recDirs, func(i, j int) bool { return recDirs[i] > recDirs[j] })
	for _, d := range recDirs {
		if holding[d] {
			continue
		}
		empty, err := emptyAfter(under(e.root, d), d, removed)
		if err != nil || !empty {
			continue
		}
		removed[d] = true
		fp.rmdirs = append(fp.rmdirs, fileOp{
			c:    emit.Change{Kind: emit.KindDir, Action: emit.Remove, Path: d, Account: accountOfDir(apacheDir, d)},
			real: under(e.root, d),
		})
	}
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
		dirs = append(dirs, path.Dir(op.real))
	}

	staged := make([]*staged, len(fp.writes))
	for i, op := range fp.writes {
		st, err := stageFile(op.real, op.data, fileMode, 0, 0, false)
		if err != nil {
			e.fileErr(op.c.Account, err)
			continue
		}
		staged[i] = st
		dirs = append(dirs, path.Dir(op.real))
		testPause("temp")
	}
	if err := syncFilesystems(dirs); err != nil {
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
		dirs = append(dirs, path.Dir(op.real))
	}
	if err := syncFilesystems(dirs); err != nil {
		e.res.Errors = append(e.res.Errors, err)
	}
	return done
}

// doFileOp makes a directory, removes one, or removes a file.
func (e *engine) doFileOp(op fileOp) error {
	switch {
	case op.c.Kind == emit.KindDir && op.c.Action == emit.Create:
		if err := makeDir(op.real); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("make directory %s: %w", op.real, err)
		}
	case op.c.Kind == emit.KindDir:
		// rmdir(2) refuses a directory that is not empty: whatever
		// appeared in it since the plan stays.
		if err := os.Remove(op.real); err != nil {
			return fmt.Errorf("remove directory %s: %w", op.real, err)
		}
	default:
		if err := removeFile(op.real); err != nil {
			return fmt.Errorf("remove %s: %w", op.real, err)
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
		var err error
		switch {
		case op.c.Kind == emit.KindDir && op.c.Action == emit.Create:
			err = os.Remove(op.real)
		case op.c.Kind == emit.KindDir:
			err = makeDir(op.real)
		case op.before.exists:
			err = writeAtomic(op.real, op.before.data, op.before.mode, op.before.uid, op.before.gid)
		default:
			err = removeFile(op.real)
		}
		if err != nil {
			e.res.Errors = append(e.res.Errors, fmt.Errorf("restore %s: %w", op.real, err))
		}
		dirs = append(dirs, path.Dir(op.real))
	}
	if err := syncFilesystems(dirs); err != nil {
		e.res.Errors = append(e.res.Errors, err)
	}
}

// removeTemps removes the temporary files an interrupted run left in the
// directories apply writes to.
func (e *engine) removeTemps() {
	dirs := map[string]bool{under(e.root, StateDir): true}
	for _, f := range e.d.Files {
		if f.Host != "" {
			dirs[path.Dir(under(e.root, f.Host))] = true
		}
	}
	if rec, err := loadRecord(e.root); err == nil {
		for _, p := range rec.Files {
			dirs[path.Dir(under(e.root, p))] = true
		}
	}
	for dir := range dirs {
		removed, err := removeTemps(dir)
		for _, name := range removed {
			e.o.logf("removed %s, left by an interrupted run", name)
		}
		if err != nil {
			e.res.Errors = append(e.res.Errors, fmt.Errorf("remove temporary files in %s: %w", dir, err))
		}
	}
}

// dirCache answers which directories are missing, asking the host once
// per directory.
type dirCache struct {
	root   string
	exists map[string]bool
}

func newDirCache(root string) *dirCache {
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
		fi, err := os.Stat(under(c.root, d))
		if err == nil && !fi.IsDir() {
			return nil, fmt.Errorf("make directory %s: a %s is in the way", under(c.root, d), typeName(fi.Mode()))
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

// emptyAfter says whether the directory real (host path dir) holds
// nothing once the paths in removed and temporary files are gone.
func emptyAfter(real, dir string, removed map[string]bool) (bool, error) {
	entries, err := os.ReadDir(real)
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
