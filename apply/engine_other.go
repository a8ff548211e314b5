//go:build !linux

package apply

import (
	"errors"

	"github.com/phpguard/phpguard/policy"
)

// BUG(phpguard): plan and apply run on Linux only: overlayfs mounts and
// the openat2(2) walks of the account trees have no equivalent elsewhere.

func run(p *policy.Policy, o Options, dry bool) (*Result, error) {
	return nil, errors.New("plan and apply need Linux")
}
