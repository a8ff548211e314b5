package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest policy file Load and Parse read. A policy of
// 10,000 accounts is a few MiB; anything near this size is a mistake.
const MaxFileSize = 64 << 20

// Load reads the policy name, a YAML file or a directory holding
// server.yaml and accounts/*.yaml, and validates it. It returns the
// policy and its lint warnings, or a nil policy and an error: a List of
// every problem found in the policy, or the error of a file that could
// not be read. Messages name files as name names them.
func Load(name string) (*Policy, List, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, nil, fmt.Errorf("read policy: %w", err)
	}
	if !fi.IsDir() {
		data, err := readFile(name)
		if err != nil {
			return nil, nil, err
		}
		return Parse(name, data)
	}
	return loadDir(name)
}

// Parse reads a policy held in a single file, named file in messages,
// from data, and validates it, as Load does.
func Parse(file string, data []byte) (*Policy, List, error) {
	d := newDecoder()
	if root := d.document(file, data, emptyPolicy); root != nil {
		d.policy(root)
	}
	return d.finish()
}

// What document says of an empty file.
const (
	emptyPolicy   = "file is empty: a policy needs at least version: 1"
	emptyAccounts = "file is empty: an accounts file holds one account mapping or a list of them"
)

// loadDir reads the directory form: server.yaml, then every
// accounts/*.yaml in file-name order.
func loadDir(dir string) (*Policy, List, error) {
	d := newDecoder()
	if err := d.checkDir(dir); err != nil {
		return nil, nil, err
	}
	server := filepath.Join(dir, "server.yaml")
	data, err := readFile(server)
	if err != nil {
		return nil, nil, err
	}
	if root := d.document(server, data, emptyPolicy); root != nil {
		d.policy(root)
	}
	serverBroken := d.broken

	files, err := d.accountFiles(filepath.Join(dir, "accounts"))
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			return nil, nil, err
		}
		if root := d.document(f, data, emptyAccounts); root != nil {
			d.accountFile(root)
		}
	}
	// A broken account file leaves out its accounts, and the others can
	// still be checked; a broken server.yaml leaves nothing to check
	// them against.
	d.broken = serverBroken
	return d.finish()
}

// checkDir reports every entry of a policy directory other than
// server.yaml, accounts and hidden files. A misnamed accounts
// directory (account/) would otherwise load as a policy of no
// accounts, and apply would take every vhost down.
func (d *decoder) checkDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read policy: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if hidden(n) || n == "server.yaml" || n == "accounts" {
			continue
		}
		f := filepath.Join(dir, n)
		if e.IsDir() {
			f += "/"
		}
		d.errs.Add(SevError, Pos{File: f}, "", "not part of the policy: a policy directory holds only server.yaml and accounts/ (and hidden files, which are skipped), so accounts anywhere else would be left out; move or remove it")
	}
	return nil
}

// hidden reports whether a directory entry is skipped: dot files, such
// as .git and the lock and swap files editors leave (.#a.yaml,
// .a.yaml.swp).
func hidden(name string) bool {
	return strings.HasPrefix(name, ".")
}

// accountFiles lists dir/*.yaml sorted by name. A missing directory
// holds no accounts. Hidden files are skipped, and so are other regular
// files (a README), but not *.yml files, directories or anything that
// is not a regular file: left unread, the accounts in them would vanish
// from the policy, and apply would take their vhosts down. Those are
// reported. A symbolic link counts as what it leads to.
func (d *decoder) accountFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if hidden(n) {
			continue
		}
		f := filepath.Join(dir, n)
		mode, link := e.Type(), e.Type()&fs.ModeSymlink != 0
		if link {
			fi, err := os.Stat(f)
			if err != nil {
				d.errs.Add(SevError, Pos{File: f}, "", "a symbolic link that cannot be followed (%v): fix or remove it", unwrapPath(err))
				continue
			}
			mode = fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if !link {
				f += "/"
			}
			d.errs.Add(SevError, Pos{File: f}, "", "%s, not an account file: accounts/ is not searched recursively, so the accounts in it would be left out; move them up or remove it", kindOf(mode, link))
		case !mode.IsRegular():
			d.errs.Add(SevError, Pos{File: f}, "", "%s, not an account file: account files are regular files named *.yaml; remove it", kindOf(mode, link))
		case strings.HasSuffix(n, ".yaml"):
			files = append(files, f)
		case strings.HasSuffix(n, ".yml"):
			d.errs.Add(SevError, Pos{File: f}, "", "account files end in .yaml: this file is not read; rename it")
		}
	}
	return files, nil
}

// kindOf names a file type that is not a regular file, for messages.
func kindOf(mode fs.FileMode, link bool) string {
	var k string
	switch {
	case mode.IsDir():
		k = "a directory"
	case mode&fs.ModeNamedPipe != 0:
		k = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		k = "a socket"
	case mode&fs.ModeCharDevice != 0:
		k = "a character device"
	case mode&fs.ModeDevice != 0:
		k = "a block device"
	default:
		k = "a special file"
	}
	if link {
		return "a symbolic link to " + k
	}
	return k
}

// unwrapPath returns the cause inside a *fs.PathError, whose path the
// message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readFile reads a policy file of at most MaxFileSize bytes, and
// refuses anything that is not a regular file (a symbolic link to one
// is followed: where the policy lives is the operator's choice).
func readFile(name string) ([]byte, error) {
	// Opening a FIFO for reading blocks until a writer opens it (fifo(7));
	// with O_NONBLOCK the open returns at once and fstat refuses the FIFO.
	// On a regular file O_NONBLOCK changes nothing (open(2)).
	f, err := os.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read policy %s: %s, not a regular file", name, kindOf(fi.Mode().Type(), false))
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("read policy %s: file is larger than %d MiB", name, MaxFileSize>>20)
	}
	// The file may grow between fstat and read: read through a limit.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("read policy %s: file is larger than %d MiB", name, MaxFileSize>>20)
	}
	return data, nil
}

// document checks data and parses it into the root node of its single
// YAML document. It reports and returns nil for anything that is not
// one plain document: too large, not UTF-8, a YAML syntax error, no
// document or several, anchors, aliases, merge keys or tags.
func (d *decoder) document(file string, data []byte, empty string) *yaml.Node {
	d.file = file
	fail := func(line, col int, format string, args ...any) *yaml.Node {
		d.broken = true
		d.errs.Add(SevError, Pos{File: file, Line: line, Col: col}, "", format, args...)
		return nil
	}
	if len(data) > MaxFileSize {
		return fail(0, 0, "file is larger than %d MiB", MaxFileSize>>20)
	}

	// yaml.v3 reports a bad byte without its position; find it first.
	if line, col, msg := checkText(data); msg != "" {
		return fail(line, col, "%s", msg)
	}

	docs, err := parseYAML(data)
	if err != nil {
		line, col, msg := yamlError(err, data)
		return fail(line, col, "%s", msg)
	}
	if len(docs) == 0 || isEmpty(docs[0]) {
		return fail(1, 1, "%s", empty)
	}
	if len(docs) > 1 {
		return fail(docs[1].Line, docs[1].Column, "file holds more than one YAML document; write one")
	}
	root := docs[0].Content[0]
	if !d.plain(root) {
		d.broken = true
		return nil
	}
	return root
}

// parseYAML parses every document of data into nodes. Parsing into
// yaml.Node never expands aliases, so a YAML bomb stays small here and
// is refused by plain.
func parseYAML(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		// yaml.v3 turns its own failures into errors but lets any other
		// panic through; a hostile file must not take the command down.
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("yaml: internal error in the YAML parser: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

func isEmpty(doc *yaml.Node) bool {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == ""
}

// plain reports the first anchor or alias, and every merge key and tag,
// under n. Anchors and aliases are refused outright, not expanded with a
// limit: a policy never needs them, and refusing them is what makes a
// YAML bomb ("billion laughs") harmless.
func (d *decoder) plain(n *yaml.Node) bool {
	ok := true
	nodes := 0
	stack := []*yaml.Node{n}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nodes++
		if n.Kind == yaml.MappingNode {
			nodes -= len(n.Content) / 2 // keys have no position of their own
		}
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			d.errs.Add(SevError, d.at(n), "", "anchors and aliases are not supported: write the value out")
			d.broken = true
			return false
		}
		if n.Kind == yaml.ScalarNode && n.Tag == "!!merge" {
			d.errs.Add(SevError, d.at(n), "", "merge keys (<<) are not supported: write the keys out")
			ok = false
		}
		if n.Style&yaml.TaggedStyle != 0 {
			d.errs.Add(SevError, d.at(n), "", "YAML tags such as %s are not supported: write a plain or quoted value", clip(n.Tag))
			ok = false
		}
		// Push children in reverse so that reports come in file order.
		for i := len(n.Content) - 1; i >= 0; i-- {
			stack = append(stack, n.Content[i])
		}
	}
	// Every node but the keys is a value with a position to record;
	// sizing the map once saves rehashing it as it grows.
	if len(d.p.pos) == 0 && nodes > 64 {
		d.p.pos = make(map[string]Pos, nodes)
	}
	return ok
}

// checkText finds the first byte sequence that is not UTF-8, or the
// first character YAML does not allow in a file (YAML 1.2, 5.1), and
// returns its line and column (in characters, as yaml.v3 counts them).
func checkText(data []byte) (line, col int, msg string) {
	for i := 0; i < len(data); {
		if c := data[i]; c < utf8.RuneSelf && (c >= 0x20 && c != 0x7f || c == '\t' || c == '\n' || c == '\r') {
			i++ // the common case
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			line, col = lineCol(data[:i])
			return line, col, fmt.Sprintf("file is not UTF-8: byte 0x%02x at offset %d", data[i], i)
		case !yamlPrintable(r):
			line, col = lineCol(data[:i])
			return line, col, fmt.Sprintf("character %U is not allowed in a YAML file", r)
		}
		i += size
	}
	return 0, 0, ""
}

// lineCol returns the line and column just after prefix, counting line
// breaks as YAML does (LF, CR, CR LF, NEL, LS, PS) and columns in
// characters.
func lineCol(prefix []byte) (line, col int) {
	line, col = 1, 1
	for i := 0; i < len(prefix); {
		r, size := utf8.DecodeRune(prefix[i:])
		i += size
		switch {
		case r == '\n', r == 0x85, r == 0x2028, r == 0x2029:
			line, col = line+1, 1
		case r == '\r':
			if i < len(prefix) && prefix[i] == '\n' {
				col++ // the LF that follows ends the line
			} else {
				line, col = line+1, 1
			}
		default:
			col++
		}
	}
	return line, col
}

// yamlPrintable is YAML's c-printable.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd:
		return true
	case r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// yamlError turns a yaml.v3 error into a line, a column and a message.
// yaml.v3 gives the line of a syntax error but not its column: the
// column is then 1.
func yamlError(err error, data []byte) (line, col int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")

	// An alias to an anchor that is not defined fails before any node
	// exists; find the alias in the text so that the message has a place.
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		name = strings.TrimSuffix(name, "' referenced")
		line, col = find(data, "*"+name)
		return line, col, "anchors and aliases are not supported: write the value out"
	}

	// yaml.v3 prints "line N: " only when N, counted from 0, is not 0.
	// It adds 1 for scanner errors but not for parser errors, whose N is
	// then the line, counted from 0, of the problem or of the block
	// around it.
	line = 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	if line == 0 || parserError(msg) {
		line++
	}
	return line, 1, "invalid YAML: " + msg
}

// parserError reports whether msg is one of libyaml's parser (not
// scanner) problems, as in yaml.v3's parserc.go.
func parserError(msg string) bool {
	for _, p := range []string{"did not find expected", "found duplicate %", "found incompatible YAML document", "found undefined tag handle"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// find returns the line and column of the first s in data, or 0, 0.
func find(data []byte, s string) (line, col int) {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 0, 0
	}
	line = 1 + bytes.Count(data[:i], []byte("\n"))
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	return line, 1 + utf8.RuneCount(data[start:i])
}
