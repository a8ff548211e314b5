package emit_test

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files under ../testdata/golden")

// goldenCases returns each case: its name, the policy, and the directory
// of the expected compile tree. The bundled example is a case of its own.
func goldenCases(t *testing.T) [][3]string {
	cases := [][3]string{{"hosting", "../examples/hosting.yaml", "../testdata/golden/hosting/want"}}
	dirs, err := os.ReadDir("../testdata/golden")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		base := filepath.Join("../testdata/golden", d.Name())
		for _, p := range []string{"policy.yaml", "policy"} {
			if _, err := os.Stat(filepath.Join(base, p)); err == nil {
				cases = append(cases, [3]string{d.Name(), filepath.Join(base, p), filepath.Join(base, "want")})
			}
		}
	}
	return cases
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c[0], func(t *testing.T) {
			p, _, err := policy.Load(c[1])
			if err != nil {
				t.Fatalf("load %s: %v", c[1], err)
			}
			d, err := emit.Compile(p)
			if err != nil {
				t.Fatal(err)
			}
			got := make(map[string]string)
			for _, f := range d.Files {
				got[f.Name] = string(f.Data)
			}
			if *update {
				writeGolden(t, c[2], got)
				return
			}
			want := readTree(t, c[2])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("compile %s differs from %s (-want +got):\n%s\nRewrite with: go test ./emit -update", c[1], c[2], diff)
			}
		})
	}
}

// TestDeterministic compiles the same policy twice, and once more read
// from a copy elsewhere, and wants the same bytes each time.
func TestDeterministic(t *testing.T) {
	data, err := os.ReadFile("../examples/hosting.yaml")
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "elsewhere.yaml")
	if err := os.WriteFile(copyPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var first []emit.File
	for i, name := range []string{"../examples/hosting.yaml", "../examples/hosting.yaml", copyPath} {
		p, _, err := policy.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		d, err := emit.Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = d.Files
			continue
		}
		if diff := cmp.Diff(first, d.Files); diff != "" {
			t.Errorf("run %d (%s) differs (-first +this):\n%s", i, name, diff)
		}
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, name)
		out[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("read golden tree (create it with: go test ./emit -update): %v", err)
	}
	return out
}

func writeGolden(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
