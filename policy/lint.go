package policy

import (
	"strings"
)

// execFamily are the functions that run a program. Disabling some of
// them and not the others closes nothing: each one runs any program.
var execFamily = []string{"exec", "passthru", "shell_exec", "system", "proc_open", "popen", "pcntl_exec"}

// mailers are functions that start a program (the sendmail binary, or
// an IMAP helper) without being in the exec family. With putenv, a
// script sets LD_PRELOAD to a library it wrote, and the program they
// start loads it: the classic bypass of disable_functions.
var mailers = []string{"mail", "mb_send_mail", "error_log", "imap_open"}

// systemDirs are host directories PHP has no business reading.
var systemDirs = []string{
	"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/boot", "/root", "/proc", "/sys", "/dev", "/run",
	"/var/lib", "/var/log", "/var/spool", "/var/mail", "/var/backups", "/var/cache",
}

// Lint returns the warnings for a valid policy: settings that pass
// validation but weaken the isolation.
func Lint(p *Policy) List {
	var l List
	warn := func(path, format string, args ...any) {
		l.Add(SevWarning, posOf(p, path), path, format, args...)
	}

	// Only the server list is enforced by mod_php (see below), so that
	// is the one the exec family and putenv checks look at.
	const fnPath = "server.php.disable_functions"
	disabled := make(map[string]bool)
	for _, f := range p.Server.PHP.DisableFunctions {
		disabled[f] = true
	}
	var enabled []string
	for _, f := range execFamily {
		if !disabled[f] {
			enabled = append(enabled, f)
		}
	}
	switch {
	case len(enabled) == len(execFamily):
		warn(fnPath, "disables none of the exec family (%s): PHP scripts can run any program", strings.Join(execFamily, ", "))
	case len(enabled) > 0:
		warn(fnPath, "disables only part of the exec family: %s still enabled, and each of them runs any program", strings.Join(enabled, ", "))
	}
	if !disabled["putenv"] {
		var on []string
		for _, f := range mailers {
			if !disabled[f] {
				on = append(on, f)
			}
		}
		if len(on) > 0 {
			warn(fnPath, "putenv is enabled together with %s: a script can set LD_PRELOAD so that the program they start loads its own library, bypassing disable_functions; disable putenv", strings.Join(on, ", "))
		}
	}

	systemDirWarnings(p.Server.PHP.OpenBasedir, "server.php.open_basedir", warn)
	for i, a := range p.Accounts {
		for j, v := range a.Vhosts {
			if len(v.PHP.OpenBasedir) == 0 && len(v.PHP.DisableFunctions) == 0 {
				continue
			}
			base := index(index("accounts", i)+".vhosts", j) + ".php"
			systemDirWarnings(v.PHP.OpenBasedir, base+".open_basedir", warn)
			if len(v.PHP.DisableFunctions) > 0 {
				// php-src GH-19018: with mod_php on PHP 8.x,
				// php_admin_value disable_functions is shown by ini_get
				// but the functions stay callable.
				warn(base+".disable_functions", "mod_php on PHP 8.x does not enforce disable_functions per vhost (php-src GH-19018): only the server list, written to %s, is enforced; phpguard verify reports whether this host's PHP enforces it", clip(p.Server.Paths.PHPIni))
			}
		}
	}
	return l
}

func systemDirWarnings(dirs []string, path string, warn func(path, format string, args ...any)) {
	for i, d := range dirs {
		d = cleanPath(d)
		for _, s := range systemDirs {
			if withinClean(d, s) {
				warn(index(path, i), "open_basedir entry %s lies in the system directory %s: PHP may read everything there", quote(dirs[i]), s)
				break
			}
			if withinClean(s, d) {
				warn(index(path, i), "open_basedir entry %s contains the system directory %s: PHP may read everything there", quote(dirs[i]), s)
				break
			}
		}
	}
}
