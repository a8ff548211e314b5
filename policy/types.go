package policy

import "fmt"

// Version is the only policy format version this build reads.
const Version = 1

// Policy is a loaded policy. A Policy returned by Load has passed Validate;
// its slices keep the order of the source and every default is filled in.
type Policy struct {
	Version  int
	Server   Server
	Accounts []Account

	// pos maps a YAML path such as "accounts[2].vhosts[0].docroot" to the
	// position of its value, for messages that come after loading.
	pos map[string]Pos
}

// Server holds the settings shared by every account of the server.
type Server struct {
	// HTTPUser is the user Apache and mod_php run as, a name or a uid, as
	// written in the policy. Names are resolved on the running system by
	// the commands that need a uid, never by this package.
	HTTPUser string
	Paths    Paths
	Layers   []Layer
	PHP      PHP
	Deny     Deny
	Apache   Apache
	Skeleton []SkeletonEntry
}

// Paths are the host paths phpguard reads and writes.
type Paths struct {
	Layers        string // layer NAME is the directory Layers/NAME
	Accounts      string // account NAME lives in Accounts/NAME
	Apache        string // generated vhost files: Apache/ACCOUNT/SERVER_NAME.conf
	ApacheInclude string // the include file that loads them
	PHPIni        string // the SAPI's conf.d file
}

// Layer is a read-only directory tree shared by the accounts that use it.
type Layer struct {
	Name     string
	Always   bool     // part of every account's stack
	Requires []string // layers that must lie below this one
}

// PHP is a list of PHP settings. On the server it is the server-wide list;
// on a vhost it holds what the vhost adds.
type PHP struct {
	DisableFunctions []string
	OpenBasedir      []string
}

// Deny lists what the HTTP user may not use.
type Deny struct {
	Binaries []string // absolute paths, on the host and in every layer
}

// Apache holds how phpguard talks to Apache.
type Apache struct {
	Listen     string   // the VirtualHost address
	ConfigTest []string // argv run after writing Apache files
	Reload     []string // argv run after a successful change
}

// Owner says who owns a skeleton directory.
type Owner string

// The owners a skeleton entry may name.
const (
	OwnerRoot    Owner = "root"
	OwnerAccount Owner = "account"
)

// SkeletonEntry is a directory made in every client layer.
type SkeletonEntry struct {
	Path  string // absolute, inside the account's root
	Mode  uint32 // permission bits, with setuid, setgid and sticky
	Owner Owner
}

// Account is one hosting account.
type Account struct {
	Name     string
	UID, GID int
	Services []string
	Vhosts   []Vhost
}

// Vhost is one Apache virtual host of an account.
type Vhost struct {
	ServerName string // lower case
	Aliases    []string
	Docroot    string // absolute, inside the account's root
	PHP        PHP    // what this vhost adds to the server's PHP settings
}

// Pos is a position in a policy file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Position returns where the value at the YAML path yamlPath was read,
// for example "accounts[0].vhosts[1].server_name", or the zero Pos.
func (p *Policy) Position(yamlPath string) Pos {
	return p.pos[yamlPath]
}
