package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path"
	"strconv"

	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
	"github.com/phpguard/phpguard/rootfs"
)

// HostError is a host check that failed before any change: a missing
// layer, an unknown HTTP user, an account with the HTTP user's uid.
type HostError struct {
	Problems []string
}

func (e *HostError) Error() string {
	if len(e.Problems) == 1 {
		return "check host: " + e.Problems[0]
	}
	s := fmt.Sprintf("check host: %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		s += "\n\t" + p
	}
	return s
}

// checkHost makes the checks that must pass before the first change and
// returns the HTTP user's uid.
func checkHost(p *policy.Policy, d *emit.Desired, root string) (uint32, error) {
	var problems []string

	// Layers: phpguard does not build them, it needs them there.
	for i, dir := range d.Layers {
		real := rootfs.Under(root, dir)
		fi, err := os.Stat(real)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, fmt.Sprintf("layer %s: %s is missing", p.Server.Layers[i].Name, real))
		case err != nil:
			problems = append(problems, fmt.Sprintf("layer %s: %v", p.Server.Layers[i].Name, err))
		case !fi.IsDir():
			problems = append(problems, fmt.Sprintf("layer %s: %s is not a directory", p.Server.Layers[i].Name, real))
		}
	}

	// The HTTP user, resolved on the running system even under --root
	// (SPEC 6): Apache runs here, not in R.
	uid, err := lookupUID(d.HTTPUser)
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		for _, a := range d.Accounts {
			if uint32(a.UID) == uid {
				problems = append(problems, fmt.Sprintf("account %s: uid %d is the HTTP user's (%s): its files would be PHP's", a.Name, a.UID, d.HTTPUser))
			}
		}
	}

	if len(problems) > 0 {
		return 0, &HostError{Problems: problems}
	}
	return uid, nil
}

// lookupUID resolves a user name or a decimal uid.
func lookupUID(name string) (uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("resolve HTTP user %s: %w", name, err)
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("resolve HTTP user %s: uid %q is not a number", name, u.Uid)
	}
	return uint32(n), nil
}

// under returns the host path p under root.
func under(root, p string) string { return rootfs.Under(root, p) }

// accountOfVhostPath returns the account a file at the host path p
// belongs to when it lies in apacheDir/ACCOUNT/, or "".
func accountOfVhostPath(apacheDir, p string) string {
	dir := path.Dir(p)
	if path.Dir(dir) == path.Clean(apacheDir) {
		return path.Base(dir)
	}
	return ""
}
