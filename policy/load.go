package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
	if root := d.document(file, data); root != nil {
		d.policy(root)
	}
	return d.finish()
}

// loadDir reads the directory form: server.yaml, then every
// accounts/*.yaml in file-name order.
func loadDir(dir string) (*Policy, List, error) {
	d := newDecoder()
	server := filepath.Join(dir, "server.yaml")
	data, err := readFile(server)
	if err != nil {
		return nil, nil, err
	}
	if root := d.document(server, data); root != nil {
		d.policy(root)
	}
	serverBroken := d.broken

	files, yml, err := accountFiles(filepath.Join(dir, "accounts"))
	if err != nil {
		return nil, nil, err
	}
	for _, f := range yml {
		// Left unread, the accounts in it would vanish from the policy,
		// and apply would take their vhosts down.
		d.errs.Add(SevError, Pos{File: f}, "", "account files end in .yaml: this file is not read; rename it")
	}
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			return nil, nil, err
		}
		if root := d.document(f, data); root != nil {
			d.accountFile(root)
		}
	}
	// A broken account file leaves out its accounts, and the others can
	// still be checked; a broken server.yaml leaves nothing to check
	// them against.
	d.broken = serverBroken
	return d.finish()
}

// accountFiles lists dir/*.yaml sorted by name, and apart the *.yml
// files, which are not read. A missing directory holds no accounts.
// Hidden files (editor backups, lock files) are left out.
func accountFiles(dir string) (files, yml []string, err error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read policy: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || e.IsDir() {
			continue
		}
		switch {
		case strings.HasSuffix(n, ".yaml"):
			files = append(files, filepath.Join(dir, n))
		case strings.HasSuffix(n, ".yml"):
			yml = append(yml, filepath.Join(dir, n))
		}
	}
	return files, yml, nil
}

// readFile reads a policy file of at most MaxFileSize bytes. It reads
// through a limit rather than trusting the size from stat, so that a
// FIFO or a device such as /dev/zero ends too.
func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	defer f.Close()
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
func (d *decoder) document(file string, data []byte) *yaml.Node {
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
		return fail(1, 1, "file is empty: a policy needs at least version: 1")
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
			d.errs.Add(SevError, d.at(n), "", "YAML tags such as %s are not supported: write a plain or quoted value", n.Tag)
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
