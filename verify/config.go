package verify

import (
	"bytes"
	"fmt"
	"path"
	"strings"
)

// Module is one LoadModule line of the private Apache.
type Module struct {
	Name, File string
}

// MainConfig is what the private Apache's own configuration file needs.
type MainConfig struct {
	Dir       string // the temporary directory: ServerRoot, PidFile, ErrorLog
	Port      int    // Listen 127.0.0.1:Port, the only listener
	User      string // the HTTP user, as Apache's User takes it: quoted name or #uid
	Group     string // its group: quoted name or #gid
	Modules   []Module
	MimeTypes string // a mime.types file
	PHPIniDir string // where mod_php looks for php.ini
	Include   string // verify's copy of paths.apache_include
}

// Render returns the configuration file. Its defaults for the file
// system are Debian's (apache2.conf): everything denied, and symbolic
// links followed, which the generated include must narrow for the
// accounts directory. PHP files are handled as Debian's php8.2.conf does.
func (c MainConfig) Render() []byte {
	var b bytes.Buffer
	b.WriteString("# The private Apache of phpguard verify. It is removed when verify ends.\n")
	fmt.Fprintf(&b, "ServerRoot %s\n", quote(c.Dir))
	fmt.Fprintf(&b, "DefaultRuntimeDir %s\n", quote(c.Dir))
	fmt.Fprintf(&b, "PidFile %s\n", quote(path.Join(c.Dir, "apache2.pid")))
	fmt.Fprintf(&b, "ErrorLog %s\n", quote(path.Join(c.Dir, "error.log")))
	b.WriteString("LogLevel warn\n")
	for _, m := range c.Modules {
		fmt.Fprintf(&b, "LoadModule %s %s\n", m.Name, quote(m.File))
	}
	fmt.Fprintf(&b, "Listen 127.0.0.1:%d\n", c.Port)
	b.WriteString("ServerName 127.0.0.1\n")
	fmt.Fprintf(&b, "User %s\nGroup %s\n", c.User, c.Group)
	b.WriteString("StartServers 1\nMinSpareServers 1\nMaxSpareServers 2\nMaxRequestWorkers 4\n")
	b.WriteString("Timeout 30\nKeepAlive Off\n")
	fmt.Fprintf(&b, "TypesConfig %s\n", quote(c.MimeTypes))
	b.WriteString(`AccessFileName .htaccess
DirectoryIndex index.php index.html
<Directory />
	Options FollowSymLinks
	AllowOverride None
	Require all denied
</Directory>
<FilesMatch "^\.ht">
	Require all denied
</FilesMatch>
<FilesMatch ".+\.ph(?:ar|p|tml)$">
	SetHandler application/x-httpd-php
</FilesMatch>
`)
	fmt.Fprintf(&b, "PHPINIDir %s\n", quote(c.PHPIniDir))
	fmt.Fprintf(&b, "Include %s\n", quote(c.Include))
	return b.Bytes()
}

// rewriter copies a generated Apache file into the private Apache's
// configuration: host paths move under root, every VirtualHost address
// becomes the private listener, directives that would reach outside the
// private Apache (Listen, logs) are dropped, and each vhost named in
// extra gets extra's lines.
type rewriter struct {
	root   string // Options.Root; "/" moves nothing
	listen string // 127.0.0.1:PORT

	// extra holds the lines added at the end of a VirtualHost, by its
	// ServerName in lower case.
	extra map[string][]string

	// include replaces an Include directive's path (already under root)
	// by the paths of verify's copies. nil keeps the directive, with its
	// path under root.
	include func(pattern string) []string
}

// dropped are directives that must not reach the private Apache: it has
// one listener on 127.0.0.1 and writes only to its temporary directory.
var dropped = map[string]bool{
	"listen": true, "errorlog": true, "customlog": true, "transferlog": true,
	"globallog": true, "pidfile": true, "serverroot": true, "user": true,
	"group": true, "phpinidir": true, "defaultruntimedir": true,
}

// phpPathValues are the PHP settings whose values are host paths.
// open_basedir and include_path are lists, session.save_path may carry
// "N;MODE;" before its path.
var phpPathValues = map[string]bool{
	"open_basedir": true, "include_path": true, "upload_tmp_dir": true,
	"sys_temp_dir": true, "session.save_path": true, "error_log": true,
	"doc_root": true, "auto_prepend_file": true, "auto_append_file": true,
}

// rewrite returns the copy of an Apache configuration file.
func (rw *rewriter) rewrite(data []byte) []byte {
	var b bytes.Buffer
	var serverName string
	inVhost := false
	for _, line := range logicalLines(string(data)) {
		trimmed := strings.TrimSpace(line)
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			b.WriteString(line + "\n")
			continue
		}
		name, args := splitDirective(trimmed)
		lower := strings.ToLower(name)
		switch {
		case lower == "<virtualhost":
			inVhost, serverName = true, ""
			fmt.Fprintf(&b, "%s<VirtualHost %s>\n", indent, rw.listen)
		case lower == "</virtualhost":
			if inVhost {
				for _, l := range rw.extra[serverName] {
					fmt.Fprintf(&b, "%s\t%s\n", indent, l)
				}
			}
			inVhost = false
			b.WriteString(line + "\n")
		case lower == "<directory" && len(args) == 1:
			fmt.Fprintf(&b, "%s<Directory %s>\n", indent, quote(rw.under(args[0])))
		case lower == "servername" && len(args) >= 1:
			serverName = strings.ToLower(args[0])
			if h, _, ok := strings.Cut(serverName, ":"); ok {
				serverName = h
			}
			b.WriteString(line + "\n")
		case lower == "documentroot" && len(args) == 1:
			fmt.Fprintf(&b, "%s%s %s\n", indent, name, quote(rw.under(args[0])))
		case (lower == "alias" || lower == "scriptalias") && len(args) == 2:
			fmt.Fprintf(&b, "%s%s %s %s\n", indent, name, quote(args[0]), quote(rw.under(args[1])))
		case (lower == "php_admin_value" || lower == "php_value") && len(args) == 2 && phpPathValues[strings.ToLower(args[0])]:
			fmt.Fprintf(&b, "%s%s %s %s\n", indent, name, args[0], quote(rw.phpValue(strings.ToLower(args[0]), args[1])))
		case (lower == "include" || lower == "includeoptional") && len(args) == 1:
			if rw.include == nil {
				fmt.Fprintf(&b, "%s%s %s\n", indent, name, quote(rw.under(args[0])))
				break
			}
			copies := rw.include(rw.under(args[0]))
			if len(copies) == 0 {
				fmt.Fprintf(&b, "%s# phpguard verify: nothing to include at %s\n", indent, rw.under(args[0]))
			}
			for _, c := range copies {
				fmt.Fprintf(&b, "%sInclude %s\n", indent, quote(c))
			}
		case dropped[lower]:
			fmt.Fprintf(&b, "%s# phpguard verify dropped: %s\n", indent, trimmed)
		default:
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

// under moves a host path under the root. Relative paths are kept, and
// so is a trailing slash (open_basedir needs it).
func (rw *rewriter) under(p string) string {
	if rw.root == "" || rw.root == "/" || !strings.HasPrefix(p, "/") {
		return p
	}
	return strings.TrimSuffix(rw.root, "/") + p
}

// phpValue moves the paths of a PHP setting under the root.
func (rw *rewriter) phpValue(key, v string) string {
	switch key {
	case "open_basedir", "include_path":
		parts := strings.Split(v, ":")
		for i, p := range parts {
			parts[i] = rw.under(p)
		}
		return strings.Join(parts, ":")
	case "session.save_path":
		i := strings.LastIndexByte(v, ';')
		return v[:i+1] + rw.under(v[i+1:])
	}
	return rw.under(v)
}

// logicalLines splits a configuration file into lines, joining a line
// that ends in a backslash with the next one, as Apache does.
func logicalLines(s string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\"))
			continue
		}
		cur.WriteString(l)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// splitDirective splits a trimmed line into the directive's name (with
// its "<" for a section) and its arguments, reading quotes as Apache's
// ap_getword_conf does. A section's closing ">" is removed.
func splitDirective(line string) (string, []string) {
	if strings.HasPrefix(line, "<") {
		line = strings.TrimSuffix(line, ">")
	}
	var words []string
	for {
		line = strings.TrimLeft(line, " \t")
		if line == "" {
			break
		}
		var w string
		if q := line[0]; q == '"' || q == '\'' {
			var b strings.Builder
			i := 1
			for ; i < len(line) && line[i] != q; i++ {
				if line[i] == '\\' && i+1 < len(line) && line[i+1] == q {
					i++
				}
				b.WriteByte(line[i])
			}
			w, line = b.String(), line[min(i+1, len(line)):]
		} else {
			end := strings.IndexAny(line, " \t")
			if end < 0 {
				end = len(line)
			}
			w, line = line[:end], line[end:]
		}
		words = append(words, w)
	}
	if len(words) == 0 {
		return "", nil
	}
	return words[0], words[1:]
}

// quote writes s as one quoted argument of an Apache directive.
func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
