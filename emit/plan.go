package emit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Kind is the kind of object a Change acts on.
type Kind string

// The kinds of a Change (SPEC 6).
const (
	KindFile  Kind = "file"
	KindDir   Kind = "dir"
	KindMount Kind = "mount"
	KindACL   Kind = "acl"
)

// Change is one difference between the desired state and a host, found by
// package apply and rendered here.
type Change struct {
	Kind    Kind
	Action  Action
	Path    string // the path on the host as the policy names it, never under --root
	Account string // the account the object belongs to; empty for the server
	Detail  string // a short note for review, such as "root 0711" or "user:www-data:---"

	// Old and New are a file's content before and after. A file whose
	// content stays the same (a mode or owner change) has equal ones.
	Old, New []byte
}

// symbol is the fixed one-character mark of an action.
func (a Action) symbol() string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Remove:
		return "-"
	}
	return "?"
}

// Line renders the change as one line: symbol, kind, path and detail.
func (c Change) Line() string {
	s := c.Action.symbol() + " " + string(c.Kind) + " " + c.Path
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// Unified returns the unified diff of a file change, or "" for a change of
// another kind or a file whose content stays the same.
func (c Change) Unified() string {
	if c.Kind != KindFile || (c.Action == Update && bytes.Equal(c.Old, c.New)) {
		return ""
	}
	return Unified(FileChange{Name: strings.TrimPrefix(c.Path, "/"), Action: c.Action, Old: c.Old, New: c.New})
}

// Counts returns how many changes create, update and remove an object.
func Counts(changes []Change) (add, change, remove int) {
	for _, c := range changes {
		switch c.Action {
		case Create:
			add++
		case Update:
			change++
		case Remove:
			remove++
		}
	}
	return add, change, remove
}

// PlanSummary is the summary line of a plan: "3 to add, 1 to change, 0 to
// remove", or "No changes." when there are none.
func PlanSummary(changes []Change) string {
	if len(changes) == 0 {
		return "No changes."
	}
	a, c, r := Counts(changes)
	return fmt.Sprintf("%d to add, %d to change, %d to remove", a, c, r)
}

// DoneSummary is the summary line of an apply: "3 added, 1 changed, 0
// removed", or "No changes." when there were none.
func DoneSummary(changes []Change) string {
	if len(changes) == 0 {
		return "No changes."
	}
	a, c, r := Counts(changes)
	return fmt.Sprintf("%d added, %d changed, %d removed", a, c, r)
}

// TextOptions say how RenderText renders a plan.
type TextOptions struct {
	Diff    bool   // print each file change as a unified diff after its line
	Color   bool   // ANSI colours, for a terminal
	Summary string // the last line; PlanSummary(changes) when empty
}

// ANSI colours of the review output.
const (
	colorReset  = "\x1b[0m"
	colorBold   = "\x1b[1m"
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorRed    = "\x1b[31m"
	colorCyan   = "\x1b[36m"
)

// RenderText renders changes for review: the server's changes first, then
// each account's under a "# account NAME" heading, in the order each group
// first appears and, inside a group, in the order given; one line per
// change, each file change followed by its unified diff when asked; then
// one summary line. With no changes it is "No changes.".
func RenderText(changes []Change, o TextOptions) string {
	var b strings.Builder
	paint := func(color, s string) string {
		if !o.Color || s == "" {
			return s
		}
		return color + s + colorReset
	}
	for i, g := range groups(changes) {
		if i > 0 {
			b.WriteByte('\n')
		}
		heading := "# server"
		if g[0].Account != "" {
			heading = "# account " + g[0].Account
		}
		b.WriteString(paint(colorBold, heading))
		b.WriteByte('\n')
		for _, c := range g {
			b.WriteString(paint(actionColor(c.Action), c.Line()))
			b.WriteByte('\n')
			if o.Diff {
				b.WriteString(colorDiff(c.Unified(), o.Color))
			}
		}
	}
	summary := o.Summary
	if summary == "" {
		summary = PlanSummary(changes)
	}
	if len(changes) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(summary)
	b.WriteByte('\n')
	return b.String()
}

// groups splits changes by account, the server's group first and the
// others in the order each account first appears, keeping the order of
// the changes inside each group.
func groups(changes []Change) [][]Change {
	index := map[string]int{"": 0}
	out := [][]Change{nil}
	for _, c := range changes {
		i, ok := index[c.Account]
		if !ok {
			i = len(out)
			index[c.Account] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], c)
	}
	if len(out[0]) == 0 {
		out = out[1:]
	}
	return out
}

func actionColor(a Action) string {
	switch a {
	case Create:
		return colorGreen
	case Update:
		return colorYellow
	}
	return colorRed
}

// colorDiff colours the lines of a unified diff: additions green,
// deletions red, hunk headers cyan.
func colorDiff(diff string, color bool) string {
	if !color || diff == "" {
		return diff
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(diff, "\n") {
		if line == "" {
			continue
		}
		text, nl := strings.CutSuffix(line, "\n")
		c := ""
		switch {
		case strings.HasPrefix(text, "+++"), strings.HasPrefix(text, "---"):
			c = colorBold
		case strings.HasPrefix(text, "@@"):
			c = colorCyan
		case strings.HasPrefix(text, "+"):
			c = colorGreen
		case strings.HasPrefix(text, "-"):
			c = colorRed
		}
		if c != "" {
			text = c + text + colorReset
		}
		b.WriteString(text)
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Report is the result of a plan or an apply as the --json output gives
// it (SPEC 6).
type Report struct {
	Changes  []Change
	Warnings []string
	Failed   bool
	Msg      string // one line; says why when Failed
	Diff     bool   // add the before and after of each file change
}

type jsonReport struct {
	Changed  bool         `json:"changed"`
	Failed   bool         `json:"failed"`
	Msg      string       `json:"msg"`
	Changes  []jsonChange `json:"changes"`
	Warnings []string     `json:"warnings"`
	Diff     *[]jsonDiff  `json:"diff,omitempty"` // present, maybe empty, with --diff
}

type jsonChange struct {
	Kind    Kind   `json:"kind"`
	Path    string `json:"path"`
	Action  Action `json:"action"`
	Account string `json:"account,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// jsonDiff is one entry of Ansible's diff list, the shape its modules
// return under --diff.
type jsonDiff struct {
	BeforeHeader string `json:"before_header"`
	AfterHeader  string `json:"after_header"`
	Before       string `json:"before"`
	After        string `json:"after"`
}

// JSON renders the report as one JSON object followed by a newline. The
// changes and warnings are arrays, never null, so a consumer can index
// them without a check.
func (r Report) JSON() []byte {
	out := jsonReport{
		Changed:  len(r.Changes) > 0,
		Failed:   r.Failed,
		Msg:      r.Msg,
		Changes:  make([]jsonChange, 0, len(r.Changes)),
		Warnings: append(make([]string, 0, len(r.Warnings)), r.Warnings...),
	}
	if out.Msg == "" {
		out.Msg = PlanSummary(r.Changes)
	}
	var diffs []jsonDiff
	for _, c := range r.Changes {
		out.Changes = append(out.Changes, jsonChange{Kind: c.Kind, Path: c.Path, Action: c.Action, Account: c.Account, Detail: c.Detail})
		if r.Diff && c.Kind == KindFile {
			d := jsonDiff{BeforeHeader: c.Path, AfterHeader: c.Path, Before: string(c.Old), After: string(c.New)}
			switch c.Action {
			case Create:
				d.BeforeHeader = "/dev/null"
			case Remove:
				d.AfterHeader = "/dev/null"
			}
			diffs = append(diffs, d)
		}
	}
	if r.Diff {
		diffs = append(make([]jsonDiff, 0, len(diffs)), diffs...)
		out.Diff = &diffs
	}
	// Keep <VirtualHost> readable: HTML escaping is for embedding in HTML.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		// Only strings, bools and slices of them: Encode cannot fail.
		panic("emit: encode report: " + err.Error())
	}
	return b.Bytes()
}
