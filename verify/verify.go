package verify

import (
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
	"github.com/phpguard/phpguard/rootfs"
)

// Status is the outcome of one check.
type Status int

// The outcomes of a check.
const (
	// Enforced: the promise holds.
	Enforced Status = iota
	// NotEnforced: the promise does not hold; Result.Detail says why.
	NotEnforced
	// Skipped: the check does not apply here (Result.Detail says why).
	Skipped
)

func (s Status) String() string {
	switch s {
	case Enforced:
		return "enforced"
	case NotEnforced:
		return "NOT ENFORCED"
	case Skipped:
		return "skipped"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Promise names one promise that verify checks for each vhost.
type Promise string

// The promises of SPEC 4, checked for each vhost.
const (
	OwnFiles         Promise = "PHP reads the account's own files"
	OtherAccount     Promise = "another account's file is not readable"
	PrefixAccount    Promise = "a prefix-sharing account's file is not readable"
	HostFile         Promise = "the host's /etc/passwd is not readable"
	Symlink          Promise = "a symlink to another account's file is not served"
	DisableFunctions Promise = "disable_functions are gone"
	Uploads          Promise = "uploads land in the account's /tmp"
	Sessions         Promise = "sessions land in the account's /tmp"
	TempFiles        Promise = "temporary files land in the account's /tmp"
)

// Promises are the promises checked for each vhost, in report order.
var Promises = []Promise{
	OwnFiles, OtherAccount, PrefixAccount, HostFile, Symlink,
	DisableFunctions, Uploads, Sessions, TempFiles,
}

// HostPasswd is the host file the probe tries to read: under
// Options.Root when it exists there, else the running machine's, which
// mod_php sees as well.
const HostPasswd = "/etc/passwd"

// Result is the outcome of one check.
type Result struct {
	Promise string
	Status  Status
	Detail  string
}

// VhostReport holds the results of one vhost, in the order of Promises.
type VhostReport struct {
	Account    string
	ServerName string
	Results    []Result
}

// Report is the outcome of a verify run.
type Report struct {
	Address    string // where the private Apache listened, 127.0.0.1:PORT
	PHPVersion string // as the probe reported it
	HTTPUser   string
	Vhosts     []VhostReport
	ACL        []Result // one per denied binary, on the host and in each layer
}

// OK reports whether no promise is NOT ENFORCED.
func (r *Report) OK() bool {
	for _, res := range r.all() {
		if res.Status == NotEnforced {
			return false
		}
	}
	return true
}

// Find returns the result of promise for the vhost serverName, and
// whether there is one.
func (r *Report) Find(serverName string, promise Promise) (Result, bool) {
	for _, v := range r.Vhosts {
		if v.ServerName != serverName {
			continue
		}
		for _, res := range v.Results {
			if res.Promise == string(promise) {
				return res, true
			}
		}
	}
	return Result{}, false
}

func (r *Report) all() []Result {
	var out []Result
	for _, v := range r.Vhosts {
		out = append(out, v.Results...)
	}
	return append(out, r.ACL...)
}

// Render writes the report as text: one block per vhost, one line per
// promise, the ACL block, and a summary line.
func (r *Report) Render(w io.Writer) error {
	var b strings.Builder
	if r.Address != "" {
		fmt.Fprintf(&b, "Private Apache on %s", r.Address)
		if r.PHPVersion != "" {
			fmt.Fprintf(&b, ", PHP %s", r.PHPVersion)
		}
		fmt.Fprintf(&b, ", HTTP user %s.\n\n", r.HTTPUser)
	}
	for _, v := range r.Vhosts {
		fmt.Fprintf(&b, "%s (account %s)\n", v.ServerName, v.Account)
		renderResults(&b, v.Results)
		b.WriteString("\n")
	}
	if len(r.ACL) > 0 {
		fmt.Fprintf(&b, "Denied binaries, as %s (neither read nor executed)\n", r.HTTPUser)
		renderResults(&b, r.ACL)
		b.WriteString("\n")
	}
	counts := map[Status]int{}
	for _, res := range r.all() {
		counts[res.Status]++
	}
	fmt.Fprintf(&b, "%d enforced, %d NOT ENFORCED, %d skipped.\n",
		counts[Enforced], counts[NotEnforced], counts[Skipped])
	_, err := io.WriteString(w, b.String())
	return err
}

func renderResults(b *strings.Builder, results []Result) {
	for _, res := range results {
		fmt.Fprintf(b, "  %-13s %s", res.Status, res.Promise)
		if res.Detail != "" {
			fmt.Fprintf(b, ": %s", res.Detail)
		}
		b.WriteString("\n")
	}
}

// Plan is what verify checks, worked out from the policy alone. Paths
// are the host's, as the generated files hold them.
type Plan struct {
	HTTPUser      string
	Accounts      []AccountPlan // the accounts that have vhosts, in policy order
	Vhosts        []VhostPlan   // in policy order
	Deny          []emit.DenyTarget
	ApacheInclude string
	PHPIni        string
}

// AccountPlan is an account whose root gets a probe directory.
type AccountPlan struct {
	Name     string
	UID, GID int
	Overlay  rootfs.Overlay
	Root     string // the account's root
}

// VhostPlan is what verify checks for one vhost.
type VhostPlan struct {
	Account    string
	UID, GID   int
	ServerName string
	Root       string // the account's root
	Docroot    string // the docroot as the host sees it
	Tmp        string // the account's /tmp as the host sees it

	// Functions is the vhost's effective disable_functions, the server
	// list first. VhostOnly are those only the vhost's own list names:
	// the ones mod_php without the fix for GH-19018 leaves callable.
	Functions []string
	VhostOnly []string

	// Other is an account whose file the probe tries to read, Prefix one
	// whose name shares a prefix with this account's; "" when the policy
	// has none.
	Other, Prefix string
}

// NewPlan works out what verify checks for a validated policy.
func NewPlan(p *policy.Policy) (*Plan, error) {
	d, err := emit.Compile(p)
	if err != nil {
		return nil, err
	}
	pl := &Plan{
		HTTPUser:      p.Server.HTTPUser,
		Deny:          d.Deny,
		ApacheInclude: p.Server.Paths.ApacheInclude,
		PHPIni:        p.Server.Paths.PHPIni,
	}
	var names []string
	for i, a := range p.Accounts {
		if len(a.Vhosts) == 0 {
			continue
		}
		names = append(names, a.Name)
		pl.Accounts = append(pl.Accounts, AccountPlan{
			Name: a.Name, UID: a.UID, GID: a.GID,
			Overlay: d.Accounts[i].Overlay,
			Root:    d.Accounts[i].Dirs.Root,
		})
	}
	for i, a := range p.Accounts {
		root := d.Accounts[i].Dirs.Root
		for _, v := range a.Vhosts {
			vp := VhostPlan{
				Account: a.Name, UID: a.UID, GID: a.GID,
				ServerName: v.ServerName,
				Root:       root,
				Docroot:    path.Join(root, v.Docroot),
				Tmp:        path.Join(root, "tmp"),
				Functions:  union(p.Server.PHP.DisableFunctions, v.PHP.DisableFunctions),
			}
			server := len(union(p.Server.PHP.DisableFunctions, nil))
			vp.VhostOnly = slices.Clone(vp.Functions[server:])
			vp.Other, vp.Prefix = partners(a.Name, names)
			pl.Vhosts = append(pl.Vhosts, vp)
		}
	}
	return pl, nil
}

// partners picks, among names, an account other than name whose name
// does not share a prefix with it (else any other), and one whose name
// does (site1 and site10).
func partners(name string, names []string) (other, prefix string) {
	var any string
	for _, n := range names {
		if n == name {
			continue
		}
		shares := strings.HasPrefix(n, name) || strings.HasPrefix(name, n)
		switch {
		case shares && prefix == "":
			prefix = n
		case !shares && other == "":
			other = n
		}
		if any == "" {
			any = n
		}
	}
	if other == "" {
		other = any
	}
	return other, prefix
}

// union returns a followed by the names of b not in a, without regard to
// case (PHP's function names are case-insensitive), each in lower case.
func union(a, b []string) []string {
	var out []string
	for _, list := range [][]string{a, b} {
		for _, s := range list {
			s = strings.ToLower(s)
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
