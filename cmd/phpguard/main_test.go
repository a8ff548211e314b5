package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"phpguard": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the phpguard binary as a user does, one script per
// file under testdata/script. Each script starts with the bundled example
// in its work directory as hosting.yaml.
func TestScripts(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "hosting.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PHPGUARD_POLICY", "")
			// A race-enabled binary sleeps a second before each clean exit.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return os.WriteFile(filepath.Join(env.WorkDir, "hosting.yaml"), example, 0o644)
		},
	})
}
