package apply

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
)

// StateDir is where apply keeps its record and lock, under --root.
const StateDir = "/var/lib/phpguard"

// recordVersion is the version of the record's format.
const recordVersion = 1

// record is the list of what apply made outside the account trees: the
// generated files and the directories it created for them, as host paths.
// Only what it holds is ever removed.
type record struct {
	Version int      `json:"version"`
	Files   []string `json:"files"`
	Dirs    []string `json:"dirs"`
}

// recordFile is the host path of the record.
const recordFile = StateDir + "/state.json"

// loadRecord reads the record; a missing one is empty. What it lists is
// not trusted further: see checkRecordedFile.
func loadRecord(root *hostRoot) (record, error) {
	name := root.real(recordFile)
	st, err := readState(root, recordFile)
	if err != nil {
		return record{}, fmt.Errorf("read record: %w", err)
	}
	if !st.exists {
		return record{Version: recordVersion}, nil
	}
	var r record
	dec := json.NewDecoder(bytes.NewReader(st.data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return record{}, fmt.Errorf("read record %s: %w (move it away to start afresh; phpguard then removes no file it wrote before)", name, err)
	}
	if r.Version != recordVersion {
		return record{}, fmt.Errorf("read record %s: version %d, this phpguard reads %d", name, r.Version, recordVersion)
	}
	r.normalize()
	return r, nil
}

// save writes the record atomically.
func (r record) save(root *hostRoot) error {
	r.normalize()
	data, err := json.MarshalIndent(r, "", "\t")
	if err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	data = append(data, '\n')
	if err := root.mkdirAll(StateDir); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	if err := writeAtomic(root, recordFile, data, fileMode, 0, 0); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

// normalize sorts the lists, drops repeats and makes them non-nil.
func (r *record) normalize() {
	r.Version = recordVersion
	r.Files = sortedSet(r.Files)
	r.Dirs = sortedSet(r.Dirs)
}

func sortedSet(s []string) []string {
	out := append(make([]string, 0, len(s)), s...)
	sort.Strings(out)
	return slices.Compact(out)
}

// equal reports whether two normalized records hold the same paths.
func (r record) equal(s record) bool {
	return slices.Equal(r.Files, s.Files) && slices.Equal(r.Dirs, s.Dirs)
}

// union returns the record holding the paths of both.
func (r record) union(s record) record {
	u := record{Files: append(append([]string{}, r.Files...), s.Files...), Dirs: append(append([]string{}, r.Dirs...), s.Dirs...)}
	u.normalize()
	return u
}

// existing returns the record of the paths of r that exist under root:
// files that are regular files and directories that are directories.
func (r record) existing(root *hostRoot) record {
	var out record
	for _, p := range r.Files {
		if st, err := root.lstat(p); err == nil && isRegular(&st) {
			out.Files = append(out.Files, p)
		}
	}
	for _, p := range r.Dirs {
		if st, err := root.lstat(p); err == nil && isDir(&st) {
			out.Dirs = append(out.Dirs, p)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			out.Dirs = append(out.Dirs, p) // unknown: keep it listed
		}
	}
	out.normalize()
	return out
}
