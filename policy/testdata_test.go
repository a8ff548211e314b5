package policy

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the .want files under testdata")

// TestTestdata loads every policy under testdata and compares what the
// validate command would print on stderr with NAME.want, one diagnostic
// per line:
//
//	testdata/bad/NAME.yaml   must fail; NAME.want holds the errors
//	testdata/good/NAME.yaml  must load; NAME.want holds the warnings
//	testdata/dir/NAME/       a directory policy; NAME.want holds the
//	                         errors or the warnings
//
// go test ./policy -update rewrites the .want files; review the diff.
func TestTestdata(t *testing.T) {
	var cases []string
	for _, pattern := range []string{"testdata/bad/*.yaml", "testdata/good/*.yaml", "testdata/dir/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range m {
			if !strings.HasSuffix(name, ".want") {
				cases = append(cases, name)
			}
		}
	}
	if len(cases) < 40 {
		t.Fatalf("found %d cases under testdata, want at least 40", len(cases))
	}
	nbad := 0
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			p, warns, err := Load(name)
			var got string
			if err != nil {
				var l List
				if !errors.As(err, &l) {
					t.Fatalf("Load: not a List: %v", err)
				}
				if p != nil {
					t.Error("Load returned a policy with an error")
				}
				for _, d := range l {
					if d.Severity != SevError {
						t.Errorf("error list holds %v", d)
					}
				}
				got = l.Error() + "\n"
			} else if len(warns) > 0 {
				got = warns.Error() + "\n"
			}
			isBad := strings.HasPrefix(name, "testdata/bad/") || err != nil && strings.HasPrefix(name, "testdata/dir/")
			if strings.HasPrefix(name, "testdata/bad/") && err == nil {
				t.Errorf("Load succeeded, want errors; warnings:\n%s", got)
			}
			if strings.HasPrefix(name, "testdata/good/") && err != nil {
				t.Errorf("Load failed:\n%s", got)
			}
			if isBad {
				nbad++
			}

			wantFile := strings.TrimSuffix(name, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("messages differ (-want +got):\n%s", diff)
			}
		})
	}
	if nbad < 30 {
		t.Errorf("%d bad policies under testdata, want at least 30", nbad)
	}
}
