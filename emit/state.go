package emit

import (
	"fmt"
	"path"
	"sort"

	"github.com/phpguard/phpguard/policy"
	"github.com/phpguard/phpguard/rootfs"
)

// File is one generated file.
type File struct {
	Name    string // slash-separated path in the compile tree
	Host    string // absolute path apply writes it to; empty for review files
	Account string // the account it belongs to; empty for server-wide files
	Data    []byte
}

// Account is the desired state of one account's tree.
type Account struct {
	Name     string
	UID, GID int
	Dirs     rootfs.AccountDirs
	Overlay  rootfs.Overlay
	Skeleton []policy.SkeletonEntry
	Docroots []string // inside the account's root, sorted, without repeats
}

// DenyTarget is one path that the deny step gives the HTTP user no
// permission on: Path resolved inside the tree Tree, which is "/" for the
// host or a layer directory.
type DenyTarget struct {
	Tree string
	Path string
}

// Desired is the state phpguard converges a host to.
type Desired struct {
	Files    []File    // sorted by Name
	Accounts []Account // in policy order
	HTTPUser string    // as the policy names it
	Deny     []DenyTarget
	Layers   []string // every declared layer directory, in declaration order
}

// vhostSize is about the size of a rendered vhost file.
const vhostSize = 768

// Compile computes the desired state of a validated policy.
func Compile(p *policy.Policy) (*Desired, error) {
	d := &Desired{HTTPUser: p.Server.HTTPUser}
	paths := p.Server.Paths

	for _, l := range p.Server.Layers {
		d.Layers = append(d.Layers, path.Join(paths.Layers, l.Name))
	}

	var overlays []rootfs.Overlay
	var vhostFiles []string
	// All vhost files share one buffer: one allocation in a few instead
	// of one per file. A file's slice is capped, so no append reaches
	// the next file.
	nvhosts := 0
	for i := range p.Accounts {
		nvhosts += len(p.Accounts[i].Vhosts)
	}
	arena := make([]byte, 0, nvhosts*vhostSize)
	for i := range p.Accounts {
		a := &p.Accounts[i]
		o, err := rootfs.OverlayOf(p, a)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Name, err)
		}
		overlays = append(overlays, o)
		dirs := rootfs.DirsOf(paths.Accounts, a.Name)
		acc := Account{
			Name: a.Name, UID: a.UID, GID: a.GID,
			Dirs:     dirs,
			Overlay:  o,
			Skeleton: p.Server.Skeleton,
			Docroots: docroots(a),
		}
		d.Accounts = append(d.Accounts, acc)
		for j := range a.Vhosts {
			v := &a.Vhosts[j]
			name := v.ServerName + ".conf"
			host := path.Join(paths.Apache, a.Name, name)
			vhostFiles = append(vhostFiles, host)
			start := len(arena)
			arena = appendVhost(arena, p, dirs.Root, a, v)
			d.Files = append(d.Files, File{
				Name:    "apache/" + a.Name + "/" + name,
				Host:    host,
				Account: a.Name,
				Data:    arena[start:len(arena):len(arena)],
			})
		}
	}

	d.Files = append(d.Files,
		File{Name: "apache/" + path.Base(paths.ApacheInclude), Host: paths.ApacheInclude, Data: Include(p, vhostFiles)},
		File{Name: "php/" + path.Base(paths.PHPIni), Host: paths.PHPIni, Data: PHPIni(p)},
		File{Name: "rootfs/fstab", Data: Fstab(overlays)},
		File{Name: "rootfs/layout", Data: LayoutFile(rootfs.DefaultLayout())},
		File{Name: "acl/deny.facl", Data: DenyFacl(p)},
	)
	sort.Slice(d.Files, func(i, j int) bool { return d.Files[i].Name < d.Files[j].Name })

	for _, b := range p.Server.Deny.Binaries {
		d.Deny = append(d.Deny, DenyTarget{Tree: "/", Path: b})
		for _, l := range d.Layers {
			d.Deny = append(d.Deny, DenyTarget{Tree: l, Path: b})
		}
	}
	return d, nil
}

func docroots(a *policy.Account) []string {
	seen := make(map[string]bool, len(a.Vhosts))
	var out []string
	for _, v := range a.Vhosts {
		r := path.Clean(v.Docroot)
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}
