package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Severity tells an error from a lint warning.
type Severity int

// The severities of a Diagnostic.
const (
	SevError Severity = iota
	SevWarning
)

// Diagnostic is one problem found in a policy, at a position.
type Diagnostic struct {
	Pos      Pos
	Path     string // YAML path of the value, such as "accounts[0].uid"; may be empty
	Severity Severity
	Msg      string
}

// Error formats the diagnostic as file:line:col: [warning: ]path: message.
func (d *Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity == SevWarning {
		b.WriteString("warning: ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// List is a list of diagnostics. As an error it prints one per line.
type List []*Diagnostic

// Add appends a diagnostic.
func (l *List) Add(sev Severity, pos Pos, path, format string, args ...any) {
	*l = append(*l, &Diagnostic{Pos: pos, Path: path, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}

// Sort orders the list by file, line, column and message.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Msg < b.Msg
	})
}

// Errors returns the diagnostics of severity SevError.
func (l List) Errors() List { return l.filter(SevError) }

// Warnings returns the diagnostics of severity SevWarning.
func (l List) Warnings() List { return l.filter(SevWarning) }

func (l List) filter(sev Severity) List {
	var out List
	for _, d := range l {
		if d.Severity == sev {
			out = append(out, d)
		}
	}
	return out
}

func (l List) Error() string {
	var b strings.Builder
	for i, d := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// Err returns the list as an error if it holds any error, else nil.
func (l List) Err() error {
	if errs := l.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}
