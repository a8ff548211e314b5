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
// # Directory form
//
// Load of a directory reads server.yaml (version, server and, if it
// likes, accounts), then every accounts/*.yaml in file-name order; each
// holds one account mapping or a list of them. Hidden files are skipped;
// an accounts/*.yml file is an error rather than silently left out,
// since its accounts would vanish from the policy.
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

// BUG(policy): yaml.v3 reports a YAML syntax error with a line but no
// column, and for some errors (such as "did not find expected key") the
// line of the block around the mistake rather than of the mistake
// itself. Such messages have column 1.
