// Package ansible_test runs the example playbook site.yml, with the
// phpguard module in library/, through Debian's ansible-playbook against a
// --root sandbox. The package holds only this test; the module itself is
// Python and is not built by Go.
package ansible_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/phpguard/phpguard/internal/testenv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// policy has two accounts and no layers: apply creates directories,
// writes files and sets the deny ACL, and needs no mount, so the
// playbook can run in the test's own mount namespace.
const policy = `version: 1
server:
  http_user: "33"
  paths:
    layers: /srv/layers
    accounts: /home/virtual
    apache: /etc/apache2/phpguard
    apache_include: /etc/apache2/conf-enabled/phpguard.conf
    php_ini: /etc/php/conf.d/90-phpguard.ini
  deny:
    binaries: [/usr/bin/rm]
  apache:
    configtest: [apache2ctl, -t]
    reload: [apache2ctl, graceful]
  skeleton:
    - {path: /var/www/html, mode: "0755", owner: account}
accounts:
  - name: site1
    uid: 10001
    gid: 10001
    vhosts:
      - {server_name: example.com, docroot: /var/www/html}
  - name: site2
    uid: 10002
    gid: 10002
    vhosts:
      - {server_name: example.net, docroot: /var/www/html}
`

const (
	vhost        = "/etc/apache2/phpguard/site1/example.com.conf"
	convergeTask = "Converge the host to the staged policy"
)

var (
	skipOrFail  = testenv.SkipOrFail
	requireTool = testenv.RequireTool
)

func requireRoot(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		skipOrFail(t, "needs Linux")
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root (apply chowns to the accounts' uids)")
	}
}

// env is the test's ansible-playbook setup.
type env struct {
	dir      string // the test's temporary directory
	root     string // the --root sandbox
	live     string // the live policy on the "managed host"
	staged   string // the staged policy
	phpguard string // the binary built from this tree
	playbook string // ansible-playbook
	vars     []string
	environ  []string
}

// playbookOutput is what the json stdout callback prints.
type playbookOutput struct {
	Plays []struct {
		Tasks []struct {
			Task struct {
				Name string `json:"name"`
			} `json:"task"`
			Hosts map[string]json.RawMessage `json:"hosts"`
		} `json:"tasks"`
	} `json:"plays"`
	Stats map[string]struct {
		Changed  int `json:"changed"`
		Failures int `json:"failures"`
		OK       int `json:"ok"`
	} `json:"stats"`
}

// taskResult is the part of the phpguard task's result the test checks.
type taskResult struct {
	Changed bool       `json:"changed"`
	Failed  bool       `json:"failed"`
	Msg     string     `json:"msg"`
	Changes []change   `json:"changes"`
	Diff    []fileDiff `json:"diff"`
}

type change struct {
	Kind    string `json:"kind"`
	Path    string `json:"path"`
	Action  string `json:"action"`
	Account string `json:"account"`
}

type fileDiff struct {
	BeforeHeader string `json:"before_header"`
	AfterHeader  string `json:"after_header"`
	Before       string `json:"before"`
	After        string `json:"after"`
}

// run is one ansible-playbook run of site.yml.
type run struct {
	out      playbookOutput
	task     *taskResult // the phpguard task on localhost, nil if it did not run
	exitErr  error
	stdout   string
	stderr   string
	duration time.Duration
}

func setup(t *testing.T) *env {
	requireRoot(t)
	e := &env{dir: t.TempDir(), playbook: requireTool(t, "ansible-playbook")}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		skipOrFail(t, "needs /usr/bin/python3: %v", err)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		skipOrFail(t, "needs the go command to build phpguard: %v", err)
	}
	library, err := filepath.Abs("library")
	if err != nil {
		t.Fatal(err)
	}
	site, err := filepath.Abs("site.yml")
	if err != nil {
		t.Fatal(err)
	}

	// The binary under test, built from this tree.
	e.phpguard = filepath.Join(e.dir, "phpguard")
	build := exec.Command(gobin, "build", "-o", e.phpguard, "github.com/phpguard/phpguard/cmd/phpguard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build phpguard: %v\n%s", err, out)
	}

	// The sandbox: empty but for the binary the policy denies.
	e.root = filepath.Join(e.dir, "root")
	mustWrite(t, filepath.Join(e.root, "usr/bin/rm"), "#!/bin/sh\n", 0o755)

	// The "managed host" is localhost; its live and staged policies live
	// outside the sandbox, as /etc/phpguard does outside --root.
	e.live = filepath.Join(e.dir, "host/etc/phpguard/policy.yaml")
	e.staged = filepath.Join(e.dir, "host/etc/phpguard/staged/policy.yaml")
	mustWrite(t, filepath.Join(e.dir, "inventory"),
		"[phpguard]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n", 0o644)

	// An empty ansible.cfg, a private HOME and temp: nothing from the
	// machine's or the user's Ansible setup takes part.
	mustWrite(t, filepath.Join(e.dir, "ansible.cfg"), "", 0o644)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ANSIBLE_") && !strings.HasPrefix(kv, "HOME=") &&
			!strings.HasPrefix(kv, "PHPGUARD_POLICY=") {
			e.environ = append(e.environ, kv)
		}
	}
	e.environ = append(e.environ,
		"HOME="+filepath.Join(e.dir, "home"),
		"ANSIBLE_CONFIG="+filepath.Join(e.dir, "ansible.cfg"),
		"ANSIBLE_LIBRARY="+library,
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(e.dir, "ansible-tmp"),
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_STDOUT_CALLBACK=json",
	)
	e.vars = []string{
		"-i", filepath.Join(e.dir, "inventory"), site,
		// Already root, and Debian's ansible-core does not pull in sudo.
		"-e", "ansible_become=false",
		"-e", "phpguard_policy_src=" + filepath.Join(e.dir, "policy.yaml"),
		"-e", "phpguard_policy=" + e.live,
		"-e", "phpguard_staged_policy=" + e.staged,
		"-e", "phpguard_binary=" + e.phpguard,
		"-e", "phpguard_root=" + e.root,
		// Not apache2ctl under --root: this test is about Ansible.
		"-e", "phpguard_run_commands=false",
	}
	return e
}

// play writes src as the controller's policy and runs site.yml with the
// extra arguments.
func (e *env) play(t *testing.T, src string, args ...string) *run {
	t.Helper()
	mustWrite(t, filepath.Join(e.dir, "policy.yaml"), src, 0o644)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.playbook, append(slices.Clone(e.vars), args...)...)
	cmd.Dir = e.dir
	cmd.Env = e.environ
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	r := &run{exitErr: cmd.Run(), duration: time.Since(start)}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	t.Logf("ansible-playbook %s: %v in %v", strings.Join(args, " "), r.exitErr, r.duration.Round(time.Millisecond))

	if err := json.Unmarshal([]byte(r.stdout), &r.out); err != nil {
		t.Fatalf("ansible-playbook printed no JSON (%v):\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	for _, p := range r.out.Plays {
		for _, task := range p.Tasks {
			raw, ok := task.Hosts["localhost"]
			if task.Task.Name != convergeTask || !ok {
				continue
			}
			r.task = new(taskResult)
			if err := json.Unmarshal(raw, r.task); err != nil {
				t.Fatalf("decode the result of %q: %v\n%s", convergeTask, err, raw)
			}
		}
	}
	if r.task == nil {
		t.Fatalf("task %q did not run:\nstdout:\n%s\nstderr:\n%s", convergeTask, r.stdout, r.stderr)
	}
	return r
}

// TestPlaybook runs site.yml the way an operator would: review with
// --check --diff, apply, apply again, then roll out a broken policy.
func TestPlaybook(t *testing.T) {
	e := setup(t)
	empty := tree(t, e.root)

	var planned string
	ok := t.Run("check", func(t *testing.T) {
		r := e.play(t, policy, "--check", "--diff")
		if r.exitErr != nil || !r.task.Changed || r.task.Failed {
			t.Fatalf("check run: %v, changed %v, failed %v, msg %q\n%s", r.exitErr, r.task.Changed, r.task.Failed, r.task.Msg, r.stderr)
		}
		if want := "to add, 0 to change, 0 to remove"; !strings.Contains(r.task.Msg, want) {
			t.Errorf("msg = %q, want a plan summary with %q", r.task.Msg, want)
		}
		if !slices.Contains(r.task.Changes, change{Kind: "file", Path: vhost, Action: "create", Account: "site1"}) {
			t.Errorf("changes do not create %s: %+v", vhost, r.task.Changes)
		}
		for _, d := range r.task.Diff {
			if d.AfterHeader == vhost {
				planned = d.After
				if d.BeforeHeader != "/dev/null" || d.Before != "" {
					t.Errorf("diff of %s: before %q %q, want /dev/null and empty", vhost, d.BeforeHeader, d.Before)
				}
			}
		}
		if !strings.Contains(planned, "ServerName example.com\n") {
			t.Errorf("diff list has no %s with its content: %+v", vhost, r.task.Diff)
		}

		// Nothing changed: not in the sandbox, not the live policy.
		if diff := cmp.Diff(empty, tree(t, e.root)); diff != "" {
			t.Errorf("--check changed the sandbox (-want +got):\n%s", diff)
		}
		if _, err := os.Stat(e.live); !os.IsNotExist(err) {
			t.Errorf("--check installed the live policy: %v", err)
		}
	})
	if !ok {
		return
	}

	ok = t.Run("first", func(t *testing.T) {
		r := e.play(t, policy)
		if r.exitErr != nil || !r.task.Changed || r.task.Failed {
			t.Fatalf("first run: %v, changed %v, failed %v, msg %q\n%s", r.exitErr, r.task.Changed, r.task.Failed, r.task.Msg, r.stderr)
		}
		if r.task.Diff != nil {
			t.Errorf("diff without --diff: %+v", r.task.Diff)
		}

		// What --check --diff showed is what apply wrote.
		got, err := os.ReadFile(filepath.Join(e.root, vhost))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(planned, string(got)); diff != "" {
			t.Errorf("%s differs from the planned content (-want +got):\n%s", vhost, diff)
		}
		checkLive(t, e, policy)
	})
	if !ok {
		return
	}

	ok = t.Run("second", func(t *testing.T) {
		before := tree(t, e.root)
		r := e.play(t, policy)
		if r.exitErr != nil || r.task.Changed || r.task.Failed {
			t.Fatalf("second run: %v, changed %v, failed %v, msg %q\n%s", r.exitErr, r.task.Changed, r.task.Failed, r.task.Msg, r.stderr)
		}
		if s := r.out.Stats["localhost"]; s.Changed != 0 || s.Failures != 0 {
			t.Errorf("play recap: %d changed, %d failed, want 0 and 0", s.Changed, s.Failures)
		}
		if diff := cmp.Diff(before, tree(t, e.root)); diff != "" {
			t.Errorf("second run changed the sandbox (-want +got):\n%s", diff)
		}
	})
	if !ok {
		return
	}

	t.Run("broken", func(t *testing.T) {
		before := tree(t, e.root)
		broken := strings.Replace(policy, "uid: 10002", "uid: ten", 1)
		r := e.play(t, broken)
		if r.exitErr == nil || !r.task.Failed || r.task.Changed {
			t.Fatalf("broken policy: %v, changed %v, failed %v, msg %q", r.exitErr, r.task.Changed, r.task.Failed, r.task.Msg)
		}
		if want := e.staged + ":" + position(broken, "ten") + ": accounts[1].uid: "; !strings.HasPrefix(r.task.Msg, want) {
			t.Errorf("msg = %q, want phpguard's message starting %q", r.task.Msg, want)
		}

		// The broken policy changed nothing and did not become the live one.
		if diff := cmp.Diff(before, tree(t, e.root)); diff != "" {
			t.Errorf("broken policy changed the sandbox (-want +got):\n%s", diff)
		}
		checkLive(t, e, policy)
	})

	t.Run("lock", func(t *testing.T) {
		f, err := os.OpenFile(filepath.Join(e.root, "var/lib/phpguard/lock"), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		r := e.play(t, policy, "-e", "phpguard_lock_timeout=1")
		if r.exitErr == nil || !r.task.Failed {
			t.Fatalf("held lock: %v, failed %v, msg %q", r.exitErr, r.task.Failed, r.task.Msg)
		}
		if want := "gave up after 1s"; !strings.Contains(r.task.Msg, want) {
			t.Errorf("msg = %q, want %q (lock_timeout passed as --lock-timeout=1s)", r.task.Msg, want)
		}
	})

	t.Run("no-json", func(t *testing.T) {
		// An old or broken binary that prints text and exits 0 must not
		// pass for "ok".
		fake := filepath.Join(e.dir, "fake-phpguard")
		mustWrite(t, fake, "#!/bin/sh\necho 'usage: phpguard apply'\necho 'unknown flag --json' >&2\n", 0o755)
		r := e.play(t, policy, "-e", "phpguard_binary="+fake)
		if r.exitErr == nil || !r.task.Failed || r.task.Changed {
			t.Fatalf("text output: %v, changed %v, failed %v, msg %q", r.exitErr, r.task.Changed, r.task.Failed, r.task.Msg)
		}
		if want := "unknown flag --json"; !strings.Contains(r.task.Msg, want) || !strings.Contains(r.task.Msg, "no JSON") {
			t.Errorf("msg = %q, want it to say there was no JSON and quote stderr %q", r.task.Msg, want)
		}
	})
}

// checkLive fails unless the live policy holds want.
func checkLive(t *testing.T, e *env, want string) {
	t.Helper()
	got, err := os.ReadFile(e.live)
	if err != nil {
		t.Fatalf("live policy: %v", err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("live policy (-want +got):\n%s", diff)
	}
}

// position returns "line:col" (1-based, bytes) of the first s in text.
func position(text, s string) string {
	i := strings.Index(text, s)
	line := strings.Count(text[:i], "\n") + 1
	col := i - strings.LastIndex(text[:i], "\n")
	return fmt.Sprintf("%d:%d", line, col)
}

// tree returns each path under dir with its type, mode, owner, access ACL
// and, for a file, its content, without following links.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("%o %d:%d", st.Mode, st.Uid, st.Gid)
		buf := make([]byte, 1024)
		if n, err := unix.Lgetxattr(p, "system.posix_acl_access", buf); err == nil {
			desc += fmt.Sprintf(" acl %x", buf[:n])
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(data)
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustWrite(t *testing.T, name, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}
