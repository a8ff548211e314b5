package rootfs

import (
	"fmt"
	"strings"

	"github.com/phpguard/phpguard/policy"
)

// CycleError reports layers whose requires form a cycle.
type CycleError struct {
	Cycle []string // the names along the cycle; the first comes again at the end
}

func (e *CycleError) Error() string {
	return "layer requires form a cycle: " + strings.Join(e.Cycle, " -> ")
}

// Stack returns the layers of an account's stack, bottom-up: the closure
// of the always layers, services and their requires, placed so that the
// next layer is always the earliest declared of those whose requires are
// all placed. Unknown names are an error; a validated policy has none.
func Stack(layers []policy.Layer, services []string) ([]string, error) {
	index := make(map[string]int, len(layers))
	for i, l := range layers {
		index[l.Name] = i
	}

	// Closure: everything reachable from the always layers and services.
	in := make([]bool, len(layers))
	var todo []int
	want := func(name, from string) error {
		i, ok := index[name]
		if !ok {
			return fmt.Errorf("%s names unknown layer %q", from, name)
		}
		if !in[i] {
			in[i] = true
			todo = append(todo, i)
		}
		return nil
	}
	for _, l := range layers {
		if l.Always {
			_ = want(l.Name, "")
		}
	}
	for _, s := range services {
		if err := want(s, "service"); err != nil {
			return nil, err
		}
	}
	for len(todo) > 0 {
		i := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, r := range layers[i].Requires {
			if err := want(r, "layer "+layers[i].Name+" requires"); err != nil {
				return nil, err
			}
		}
	}

	// Placement, bottom-up, earliest declared first among the ready ones.
	placed := make([]bool, len(layers))
	var out []string
	for {
		progress := false
		for i, l := range layers {
			if !in[i] || placed[i] || !ready(l, index, placed) {
				continue
			}
			placed[i] = true
			out = append(out, l.Name)
			progress = true
			break
		}
		if !progress {
			break
		}
	}
	for i := range layers {
		if in[i] && !placed[i] {
			return nil, &CycleError{Cycle: FindCycle(layers)}
		}
	}
	return out, nil
}

func ready(l policy.Layer, index map[string]int, placed []bool) bool {
	for _, r := range l.Requires {
		if !placed[index[r]] {
			return false
		}
	}
	return true
}

// FindCycle returns the first cycle among the layers' requires, in
// declaration order, as names with the first repeated at the end, or nil.
// Requires that name unknown layers are ignored.
func FindCycle(layers []policy.Layer) []string {
	index := make(map[string]int, len(layers))
	for i, l := range layers {
		index[l.Name] = i
	}
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(layers))
	var path []int
	var found []string
	var visit func(i int) bool
	visit = func(i int) bool {
		color[i] = grey
		path = append(path, i)
		for _, r := range layers[i].Requires {
			j, ok := index[r]
			if !ok {
				continue
			}
			if color[j] == grey {
				start := 0
				for k, p := range path {
					if p == j {
						start = k
					}
				}
				for _, p := range path[start:] {
					found = append(found, layers[p].Name)
				}
				found = append(found, layers[j].Name)
				return true
			}
			if color[j] == white && visit(j) {
				return true
			}
		}
		path = path[:len(path)-1]
		color[i] = black
		return false
	}
	for i := range layers {
		if color[i] == white && visit(i) {
			return found
		}
	}
	return nil
}
