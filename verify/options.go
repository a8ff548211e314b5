package verify

// Options are the settings of Run.
type Options struct {
	// Root is the directory taken as the host's / (SPEC 6, --root).
	// Empty means "/".
	Root string

	// Apache is the apache2 binary; empty means DefaultApache.
	Apache string

	// ModulesDir holds the Apache modules and mod_php (libphp*.so);
	// empty means DefaultModulesDir.
	ModulesDir string

	// Port is the port on 127.0.0.1 to listen on; 0 picks a free one.
	Port int

	// Logf, when set, receives progress messages.
	Logf func(format string, args ...any)
}
