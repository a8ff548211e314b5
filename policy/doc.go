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
// yaml.v3 does; a YAML syntax error, for which yaml.v3 gives only a line,
// has column 1. YAML.PATH names the value, such as
// accounts[3].vhosts[0].server_name. Accounts are numbered across the
// whole policy, also in the directory form: accounts[i] is always
// Policy.Accounts[i], whichever file it came from, and
// Policy.Position finds its position.
//
// # What the loader refuses
//
// Unknown keys, duplicate keys, values of the wrong type (a number where
// a string belongs is refused, not converted: YAML reads mode: 0755 as
// 493), an empty file, more than one YAML document, anchors, aliases and
// merge keys, tags, bytes that are not UTF-8 or characters YAML forbids,
// and files over MaxFileSize. Aliases are never expanded, so a YAML bomb
// costs no more than its own size.
//
// # Defaults and normal forms
//
// An omitted key takes the default shown in the SPEC; an explicitly empty
// list stays empty. A skeleton that lacks /tmp gets /tmp (root, 1777),
// since the vhost files point upload_tmp_dir and session.save_path there.
// Server names, aliases and PHP function names are stored in ASCII lower
// case; function lists lose repeats, keeping the first. Lists without a
// default (services, aliases, requires, a vhost's php lists) are nil when
// empty. A docroot of "/" is allowed: it is the account's whole root,
// which is the account's own.
package policy
