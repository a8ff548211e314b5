package apply

import (
	"fmt"
	"os"
	"time"
)

// pauseAfter is the stage named by PHPGUARD_TEST_PAUSE_AFTER, read once.
var pauseAfter = os.Getenv("PHPGUARD_TEST_PAUSE_AFTER")

// testPause is a hook for the crash tests and nothing else: when
// PHPGUARD_TEST_PAUSE_AFTER names stage, it says so on stderr and sleeps,
// so that the test can kill the process at that point with SIGKILL. It
// pauses the first time only. Stages: "temp" (a temporary file is
// written, not yet renamed), "file" (the first file is in place), "files"
// (every file is in place, the record not yet narrowed).
func testPause(stage string) {
	if pauseAfter == "" || pauseAfter != stage {
		return
	}
	pauseAfter = ""
	fmt.Fprintf(os.Stderr, "phpguard: test pause after %s\n", stage)
	time.Sleep(time.Hour)
}
