package emit

import (
	"bytes"
	"fmt"

	"github.com/aymanbagabas/go-udiff"
)

// Action is what a change does to an object.
type Action string

// The actions of a change.
const (
	Create Action = "create"
	Update Action = "update"
	Remove Action = "remove"
)

// FileChange is a file that differs between two sets of files.
type FileChange struct {
	Name     string
	Action   Action
	Old, New []byte
}

// DiffFiles compares two sets of files sorted by Name and returns the
// changes, sorted by Name.
func DiffFiles(old, new []File) []FileChange {
	var out []FileChange
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && old[i].Name < new[j].Name):
			out = append(out, FileChange{Name: old[i].Name, Action: Remove, Old: old[i].Data})
			i++
		case i == len(old) || new[j].Name < old[i].Name:
			out = append(out, FileChange{Name: new[j].Name, Action: Create, New: new[j].Data})
			j++
		default:
			if !bytes.Equal(old[i].Data, new[j].Data) {
				out = append(out, FileChange{Name: new[j].Name, Action: Update, Old: old[i].Data, New: new[j].Data})
			}
			i++
			j++
		}
	}
	return out
}

// Unified renders a change as a unified diff with the labels a/NAME and
// b/NAME, or /dev/null for the side that does not exist.
func Unified(c FileChange) string {
	before, after := "a/"+c.Name, "b/"+c.Name
	switch c.Action {
	case Create:
		before = "/dev/null"
	case Remove:
		after = "/dev/null"
	}
	return udiff.Unified(before, after, string(c.Old), string(c.New))
}

// Summary counts the changes in one line, such as
// "2 files added, 1 changed, 0 removed".
func Summary(changes []FileChange) string {
	var n [3]int
	for _, c := range changes {
		switch c.Action {
		case Create:
			n[0]++
		case Update:
			n[1]++
		case Remove:
			n[2]++
		}
	}
	noun := "files"
	if n[0] == 1 {
		noun = "file"
	}
	return fmt.Sprintf("%d %s added, %d changed, %d removed", n[0], noun, n[1], n[2])
}
