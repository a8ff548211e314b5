// Package policy reads a phpguard policy (SPEC section 2) from YAML into
// a Policy, fills in the defaults, validates it and lints it.
//
// It never looks at the host: it does not stat the paths it reads, does
// not resolve user names, does not check that layers exist and does not
// follow symbolic links. A path the policy names is checked as text only,
// so a symbolic link on the host (say /srv/shared -> /home/virtual) can
// still give open_basedir more than the policy shows; apply checks the
// host. The package performs no I/O other than reading the policy files
// in Load, and logs nothing.
//
// # Messages
//
// Every problem is reported, not only the first, as a Diagnostic:
//
//	FILE:LINE:COL: YAML.PATH: message
//	FILE:LINE:COL: warning: YAML.PATH: message
//
// FILE is the file name as given to Load or Parse (in the directory form,
// joined to server.yaml or accounts/NAME.yaml). COL counts characters, as
// yaml.v3 does. YAML.PATH names the value, such as
// accounts[3].vhosts[0].server_name. Accounts are numbered across the
// whole policy, also in the directory form: accounts[i] is always
// Policy.Accounts[i], whichever file it came from, and
// Policy.Position finds its position.
//
// A value that was not written but took its default (such as the
// server-wide open_basedir) is reported at the nearest value around it
// that was written. Errors about a whole file (too large, an account
// file named *.yml) carry no line.
//
// A message shows at most 64 characters of any value it quotes, then
// "…" and the value's length, as in "aaaa…" (200000 bytes): a policy
// may be a 200 KB name, or a symbolic link to /etc/shadow, and a
// message does not copy it out. Server names, aliases and function
// names are shown as written, not as folded to lower case.
//
// # Directory form
//
// Load of a directory reads server.yaml (version, server and, if it
// likes, accounts), then every accounts/*.yaml in file-name order; each
// holds one account mapping or a list of them. Files whose name starts
// with a dot (.git, the .#a.yaml and .a.yaml.swp files editors leave)
// are skipped, in the directory and in accounts/. What else would not
// be read is an error rather than silently left out, since its
// accounts would vanish from the policy and apply would take their
// vhosts down: any other entry of the directory (a misnamed account/,
// a README), and in accounts/ a *.yml file, a subdirectory, a symbolic
// link to one, or anything that is not a regular file (a FIFO, a
// socket, a device). Other regular files in accounts/, such as a
// README, are skipped.
//
// # What the loader refuses
//
// Unknown keys, duplicate keys, missing required keys (version;
// an account's name, uid and gid; a vhost's server_name; a layer's name;
// a skeleton entry's path, mode and owner), values of the wrong type (a number where
// a string belongs is refused, not converted: YAML reads mode: 0755 as
// 493), an empty file, more than one YAML document, anchors, aliases and
// merge keys, tags, bytes that are not UTF-8 or characters YAML forbids,
// and files over MaxFileSize. Aliases are never expanded, so a YAML bomb
// costs no more than its own size. A policy file must be a regular file
// (a symbolic link to one is followed): a FIFO or a device is refused
// without being read, and opening it does not block.
//
// # Names and docroots
//
// Apache gives a request to the first vhost, in Include order, whose
// ServerName or ServerAlias matches, and the * of an alias matches dots
// too. So, besides a name used twice: a wildcard alias *.D may not cover
// a server name or alias of another account (a name under D, or a
// wildcard *.E with E under D), whichever comes first in the policy; it
// may cover its own account's names. A wildcard needs two labels after
// "*." (*.com would take every .com name pointed at the server). A name
// whose last label is all digits is refused: no top-level domain is
// numeric (RFC 3696, section 2), so 127.0.0.1 is an address, and a vhost
// of that name would take the requests made to the server by address.
//
// A docroot may not be "/" (the top of the account's root is root's by
// design), nor lie in /proc, /dev or /sys, which phpguard enter mounts
// over, nor in /tmp, where PHP keeps uploads and sessions, nor be a
// skeleton directory that root owns. server.paths.accounts may not hold
// ':', since each vhost's open_basedir holds a directory inside it.
//
// # Defaults and normal forms
//
// An omitted key takes the default shown in the SPEC; an explicitly empty
// list stays empty. A skeleton that lacks /tmp gets /tmp (root, 1777),
// since the vhost files point upload_tmp_dir and session.save_path there.
// Server names, aliases and PHP function names are stored in ASCII lower
// case; function lists lose repeats, keeping the first. Lists without a
// default (services, aliases, requires, a vhost's php lists) are nil when
// empty.
package policy

// BUG(policy): yaml.v3 reports a YAML syntax error with a line but no
// column, and for some errors (such as "did not find expected key") the
// line of the block around the mistake rather than of the mistake
// itself. Such messages have column 1.

// BUG(policy): the two labels a wildcard alias needs are counted, not
// checked against the public suffix list: *.co.uk and *.github.io pass,
// and would take every name under them pointed at the server that no
// other vhost claims first. Names of other accounts under them are
// still refused.
