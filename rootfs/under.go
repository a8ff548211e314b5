package rootfs

import "path"

// Under returns the host path p as seen under root, the directory that
// --root makes the host's / (SPEC 6). An empty root or "/" leaves p as it
// is.
func Under(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return path.Join(root, p)
}

// Under returns o with every host path moved under root (see the function
// Under). The account and layer names are kept.
func (o Overlay) Under(root string) Overlay {
	u := o
	u.Target = Under(root, o.Target)
	u.Upper = Under(root, o.Upper)
	u.Work = Under(root, o.Work)
	u.Lower = make([]string, len(o.Lower))
	for i, l := range o.Lower {
		u.Lower[i] = Under(root, l)
	}
	return u
}

// Under returns d with every path moved under root (see the function
// Under).
func (d AccountDirs) Under(root string) AccountDirs {
	return AccountDirs{
		Dir:   Under(root, d.Dir),
		Upper: Under(root, d.Upper),
		Work:  Under(root, d.Work),
		Root:  Under(root, d.Root),
	}
}
