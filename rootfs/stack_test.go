package rootfs

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phpguard/phpguard/policy"
)

func TestStack(t *testing.T) {
	// The layers of the bundled example, plus one more always layer.
	example := []policy.Layer{
		{Name: "base", Always: true},
		{Name: "terminal", Requires: []string{"base"}},
		{Name: "ruby", Requires: []string{"terminal"}},
		{Name: "java", Requires: []string{"base"}},
	}
	tests := []struct {
		name     string
		layers   []policy.Layer
		services []string
		want     []string
	}{
		{"always only", example, nil, []string{"base"}},
		{"closure through requires", example, []string{"ruby"}, []string{"base", "terminal", "ruby"}},
		{"declaration order breaks ties", example, []string{"java", "terminal"}, []string{"base", "terminal", "java"}},
		{"service order does not matter", example, []string{"terminal", "java"}, []string{"base", "terminal", "java"}},
		{"repeated service", example, []string{"ruby", "ruby", "terminal"}, []string{"base", "terminal", "ruby"}},
		{
			// b is declared first but requires c, so c is placed before it.
			"a layer waits for what it requires",
			[]policy.Layer{{Name: "a", Always: true}, {Name: "b", Requires: []string{"c"}}, {Name: "c"}},
			[]string{"b"},
			[]string{"a", "c", "b"},
		},
		{
			"no layers at all",
			nil, nil, nil,
		},
		{
			// Diamond: d requires b and c, both on a; b before c by declaration.
			"diamond",
			[]policy.Layer{{Name: "d", Requires: []string{"c", "b"}}, {Name: "c", Requires: []string{"a"}}, {Name: "b", Requires: []string{"a"}}, {Name: "a"}},
			[]string{"d"},
			[]string{"a", "c", "b", "d"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Stack(tt.layers, tt.services)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Stack(%v) (-want +got):\n%s", tt.services, diff)
			}
			// Every layer lies above everything it requires.
			at := map[string]int{}
			for i, n := range got {
				at[n] = i
			}
			for _, l := range tt.layers {
				if _, ok := at[l.Name]; !ok {
					continue
				}
				for _, r := range l.Requires {
					if at[r] > at[l.Name] {
						t.Errorf("%s placed below %s, which it requires", l.Name, r)
					}
				}
			}
		})
	}
}

func TestStackErrors(t *testing.T) {
	cyclic := []policy.Layer{
		{Name: "base", Always: true},
		{Name: "a", Requires: []string{"b"}},
		{Name: "b", Requires: []string{"c"}},
		{Name: "c", Requires: []string{"a"}},
	}
	_, err := Stack(cyclic, []string{"a"})
	var ce *CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("Stack with a cycle: got %v, want a *CycleError", err)
	}
	if want := "layer requires form a cycle: a -> b -> c -> a"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}

	// A cycle the account does not reach does not stop its stack.
	if got, err := Stack(cyclic, nil); err != nil || !cmp.Equal(got, []string{"base"}) {
		t.Errorf("Stack without the cycle = %v, %v; want [base]", got, err)
	}

	if _, err := Stack(cyclic, []string{"nosuch"}); err == nil || err.Error() != `service names unknown layer "nosuch"` {
		t.Errorf("unknown service: got %v", err)
	}
	if got := FindCycle([]policy.Layer{{Name: "x", Requires: []string{"x"}}}); !cmp.Equal(got, []string{"x", "x"}) {
		t.Errorf("self cycle: got %v", got)
	}
	if got := FindCycle(cyclic[:2]); got != nil {
		t.Errorf("no cycle: got %v", got)
	}
}

func BenchmarkStack(b *testing.B) {
	layers := []policy.Layer{
		{Name: "base", Always: true},
		{Name: "terminal", Requires: []string{"base"}},
		{Name: "ruby", Requires: []string{"terminal"}},
		{Name: "java", Requires: []string{"base"}},
	}
	for b.Loop() {
		if _, err := Stack(layers, []string{"ruby", "java"}); err != nil {
			b.Fatal(err)
		}
	}
}
