package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, and that it returns either
// a valid policy or a non-empty List of errors, all in the file named.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*/*.yaml", "testdata/dir/*/*.yaml", "testdata/dir/*/accounts/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, warns, err := Parse("f.yaml", data)
		if err == nil {
			if p == nil {
				t.Fatal("no policy and no error")
			}
			if errs := Validate(p); len(errs) > 0 {
				t.Fatalf("Parse accepted a policy Validate refuses:\n%v", errs)
			}
			for _, d := range warns {
				if d.Severity != SevWarning || d.Pos.File != "f.yaml" {
					t.Fatalf("bad warning %#v", d)
				}
			}
			return
		}
		if p != nil || warns != nil {
			t.Fatal("a policy or warnings returned with an error")
		}
		var l List
		if !errors.As(err, &l) || len(l) == 0 {
			t.Fatalf("error is not a non-empty List: %v", err)
		}
		for _, d := range l {
			if d.Severity != SevError || d.Pos.File != "f.yaml" {
				t.Fatalf("bad error %#v", d)
			}
		}
	})
}
