package acl

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
)

// faclEntries reads getfacl's output (or acl/deny.facl, which uses its
// syntax) into the entries listed under each "# file:" header.
func faclEntries(text string) map[string][]string {
	out := map[string][]string{}
	file := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "# file: "):
			file = strings.TrimPrefix(line, "# file: ")
			if _, ok := out[file]; !ok {
				out[file] = nil // a file with no entries still counts
			}
		case line == "" || strings.HasPrefix(line, "#") || file == "":
		default:
			entry, _, _ := strings.Cut(line, "\t") // drop #effective
			out[file] = append(out[file], entry)
		}
	}
	return out
}

// TestDenyMatchesDenyFacl runs the deny step the way apply --root R
// does, on the host and on every layer of a policy, and checks that
// getfacl then shows user:www-data:--- on exactly the files that
// emit.DenyFacl (acl/deny.facl of compile) lists, with the entries it
// lists there, and on no other file.
func TestDenyMatchesDenyFacl(t *testing.T) {
	requireRoot(t)
	requireTool(t, "getfacl")
	www := requireUser(t, "www-data")
	root := t.TempDir()
	requireACLs(t, root)

	p := &policy.Policy{Version: 1, Server: policy.Server{
		HTTPUser: "www-data",
		Paths:    policy.Paths{Layers: "/srv/phpguard/layers"},
		Layers: []policy.Layer{
			{Name: "base", Always: true},
			{Name: "terminal", Requires: []string{"base"}},
			{Name: "ruby", Requires: []string{"terminal"}},
		},
		Deny: policy.Deny{Binaries: []string{"/usr/bin/rm", "/usr/bin/mv", "/usr/bin/cp"}},
	}}

	// Every tree holds the binaries, and a file that is not denied.
	trees := []string{root}
	for _, l := range p.Server.Layers {
		trees = append(trees, filepath.Join(root, p.Server.Paths.Layers, l.Name))
	}
	var targets []DenyTarget
	for _, tree := range trees {
		writeFile(t, filepath.Join(tree, "usr/bin/ls"), nil, 0o755)
		for _, bin := range p.Server.Deny.Binaries {
			writeFile(t, filepath.Join(tree, bin), nil, 0o755)
			targets = append(targets, DenyTarget{Tree: tree, Path: bin})
		}
	}
	for _, r := range Deny(targets, www, false) {
		if r.Err != nil || r.Status != Changed {
			t.Fatalf("Deny: %+v", r)
		}
	}

	// What getfacl shows under R: the files with an extended ACL, named
	// relative to R as deny.facl names them relative to /.
	cmd := exec.Command("getfacl", "-R", "-P", "-s", ".")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("getfacl -R: %v: %s", err, stderrOf(err))
	}
	shown := map[string][]string{}
	for file, entries := range faclEntries(string(out)) {
		for _, e := range entries {
			if strings.HasPrefix(e, "user:www-data:") {
				shown[file] = append(shown[file], e)
			}
		}
	}

	listed := faclEntries(string(emit.DenyFacl(p)))
	if len(listed) != len(targets) {
		t.Errorf("deny.facl lists %d files, want %d:\n%s", len(listed), len(targets), emit.DenyFacl(p))
	}
	keys := func(m map[string][]string) []string {
		var k []string
		for f := range m {
			k = append(k, f)
		}
		sort.Strings(k)
		return k
	}
	if diff := cmp.Diff(keys(listed), keys(shown)); diff != "" {
		t.Errorf("files with a www-data entry (-deny.facl +getfacl):\n%s", diff)
	}
	if diff := cmp.Diff(listed, shown); diff != "" {
		t.Errorf("www-data entries (-deny.facl +getfacl):\n%s", diff)
	}
}
