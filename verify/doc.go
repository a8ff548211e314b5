// Package verify proves, with a real Apache and mod_php, that the
// isolation phpguard generated holds on this host.
//
// Run starts a private Apache: the host's apache2 binary and mod_php, a
// configuration file that verify writes in a temporary directory, one
// listener on 127.0.0.1, and the generated vhost and include files as they
// are on disk (so an edited file shows up), with PHP reading its SAPI
// configuration (php.ini and the conf.d directory) from the host. For each
// vhost it places a probe at the top of the account's mounted root, a
// fresh directory with an unpredictable name that only root may write,
// serves it through an Alias added to verify's copy of the vhost, and
// checks each promise of SPEC 4: open_basedir keeps the account away from
// another account's files (also one whose name shares a prefix) and from
// the host's /etc/passwd, a symbolic link in the docroot to another
// account's file is not served, every function of the vhost's
// disable_functions is gone, and uploads, sessions and temporary files
// land in the account's /tmp. For the symbolic link it puts a link, owned
// by the account, into the docroot (made in the probe directory and moved
// there, so the account cannot swap it before its owner is set) and
// removes it afterwards. As the HTTP user, it then checks that each
// denied binary can neither be read nor executed. Each result is enforced,
// NOT ENFORCED or skipped (a check that does not apply, such as the prefix
// check when no account shares a prefix); Report.OK is false when any
// promise is not enforced.
//
// mod_php reads php.ini from the SAPI's directory, /etc/php/VERSION/apache2
// on Debian (VERSION from the module's name, libphpVERSION.so), and scans
// its conf.d, as the operator's Apache does: a paths.php_ini outside that
// directory is not read, and verify shows it. With Options.Root, R is taken
// as the host's /: the generated files are read under R and the host paths
// they hold (DocumentRoot, Directory, Alias, Include, and PHP settings that
// hold paths, such as open_basedir) are moved under R in verify's copies;
// PHP reads R/etc/php/VERSION/apache2/php.ini and scans the conf.d directory
// under R, with the host's extension modules. The host's /etc/passwd is
// R/etc/passwd when there is one, else the machine's.
//
// Whether a function is gone is asked with function_exists on a name read
// at run time, never with ini_get or phpinfo: under php-src GH-19018 those
// show a per-vhost disable_functions while the function still runs, and
// opcache may fold a function_exists call on a literal name at compile
// time. Each vhost gets its own probe file, because opcache shares one
// compiled script between vhosts that run the same file.
//
// verify never listens anywhere but 127.0.0.1, never uses the system's
// Apache configuration or apache2ctl, never writes under /etc/apache2,
// and stops its Apache (the whole process group) and removes every probe
// before it returns, also when a check fails. The probes call nothing
// that would replace the worker or send mail.
//
// What verify does not prove: the private Apache loads only the modules
// verify needs and none of the operator's other configuration (another
// module or a global directive there can weaken what is proven here), and
// the Apache that serves the customers is not asked. verify needs root: it
// reads the mount table, writes into the accounts' roots and runs Apache
// and its checks as the HTTP user.
package verify

// BUG(verify): Options.Root moves the paths of the generated Apache files
// under R, not those of PHP's ini files: the server-wide open_basedir of the
// SAPI ini (server.php.open_basedir) still names the machine's directories.
// It confines only requests outside every generated vhost.

// BUG(verify): a verify killed with SIGKILL leaves its probe directories,
// .phpguard-verify-* at the top of each account's root (root-owned, safe to
// remove), and links named phpguard-verify-*.txt in the docroots.

// BUG(verify): since PHP 5.3.4 an open_basedir entry is a directory name,
// not a string prefix, so the prefix check (site1/site10) holds on PHP 8
// whether or not the entry ends in a slash. verify checks the effect all
// the same.
