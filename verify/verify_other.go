//go:build !linux

package verify

import (
	"context"
	"errors"

	"github.com/phpguard/phpguard/policy"
)

// Run needs Linux: the probes are placed through the accounts' mounted
// overlay roots.
func Run(ctx context.Context, p *policy.Policy, opts Options) (*Report, error) {
	return nil, errors.New("verify needs Linux")
}
