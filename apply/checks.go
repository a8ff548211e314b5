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
// layer, an unknown HTTP user, an account with the HTTP user's uid or one
// of its groups.
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
	http, err := lookupHTTPUser(d.HTTPUser)
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		for i, a := range p.Accounts {
			if uint32(a.UID) == http.uid {
				problems = append(problems, positioned(p, fmt.Sprintf("accounts[%d].uid", i),
					fmt.Sprintf("account %s: uid %d is the HTTP user's (%s): its files would be PHP's", a.Name, a.UID, d.HTTPUser)))
			}
			// The docroot is the account's uid and gid: with the HTTP
			// user's group, whatever the account makes group-writable
			// is writable by every account's PHP. Apache's children
			// get the user's supplementary groups too (initgroups(3)
			// in mod_unixd), so those count as well.
			if g, ok := http.groups[uint32(a.GID)]; ok {
				problems = append(problems, positioned(p, fmt.Sprintf("accounts[%d].gid", i),
					fmt.Sprintf("account %s: gid %d is a group of the HTTP user %s (%s): what the account makes group-writable, every account's PHP could write", a.Name, a.GID, d.HTTPUser, g)))
			}
		}
	}

	if len(problems) > 0 {
		return 0, &HostError{Problems: problems}
	}
	return http.uid, nil
}

// positioned writes msg about the policy value at yamlPath as a policy
// diagnostic does: file:line:col: yamlPath: msg.
func positioned(p *policy.Policy, yamlPath, msg string) string {
	pos := p.Position(yamlPath)
	if pos == (policy.Pos{}) {
		return yamlPath + ": " + msg
	}
	d := policy.Diagnostic{Pos: pos, Path: yamlPath, Msg: msg}
	return d.Error()
}

// httpUser is the HTTP user as the running system knows it.
type httpUser struct {
	uid    uint32
	groups map[uint32]string // its primary and supplementary groups: gid → name
}

// lookupHTTPUser resolves a user name or a decimal uid, with the user's
// groups. A uid that no user has has no known groups.
func lookupHTTPUser(name string) (httpUser, error) {
	var u *user.User
	var h httpUser
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		h.uid = uint32(n)
		u, err = user.LookupId(name)
		if err != nil {
			return h, nil
		}
	} else {
		u, err = user.Lookup(name)
		if err != nil {
			return h, fmt.Errorf("resolve HTTP user %s: %w", name, err)
		}
		n, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return h, fmt.Errorf("resolve HTTP user %s: uid %q is not a number", name, u.Uid)
		}
		h.uid = uint32(n)
	}

	// The supplementary groups are best effort: the primary group is
	// what a docroot of gid 33 on Debian shares.
	gids, err := u.GroupIds()
	if err != nil {
		gids = nil
	}
	h.groups = make(map[uint32]string)
	for _, g := range append([]string{u.Gid}, gids...) {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			continue
		}
		h.groups[uint32(n)] = g
		if grp, err := user.LookupGroupId(g); err == nil {
			h.groups[uint32(n)] = grp.Name
		}
	}
	return h, nil
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
