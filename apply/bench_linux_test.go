package apply

import (
	"fmt"
	"testing"
)

// manyAccounts is a policy of n accounts without layers (no mounts),
// each with one vhost.
func manyAccounts(n int) spec {
	sp := spec{}
	for i := range n {
		name := fmt.Sprintf("a%04d", i)
		sp.accounts = append(sp.accounts, acct{name: name, uid: 20000 + i, vhosts: []string{name + ".example.com"}})
	}
	return sp
}

// BenchmarkPlan plans a host of 1,000 accounts that are all converged:
// the cost of `phpguard plan` (and of an apply with nothing to do, but
// the lock) on a large server. It fails if the plan finds a change.
func BenchmarkPlan(b *testing.B) {
	requireRoot(b)
	s := newSandbox(b)
	s.write(b, "/usr/bin/rm", "#!/bin/sh\n")
	p := s.policy(b, manyAccounts(1000).yaml())
	mustApply(b, p, Options{Root: s.root})
	b.ResetTimer()
	for b.Loop() {
		res, err := Plan(p, Options{Root: s.root})
		if err != nil || res.Changed() || res.Err() != nil {
			b.Fatalf("plan of a converged host: %v, %v, %d changes", err, res.Err(), len(res.Changes))
		}
	}
}

// BenchmarkApplyFirst is the first apply of the same 1,000 accounts on
// an empty root: about 10,000 directories and 1,002 files.
func BenchmarkApplyFirst(b *testing.B) {
	requireRoot(b)
	sp := manyAccounts(1000).yaml()
	for b.Loop() {
		b.StopTimer()
		s := newSandbox(b)
		s.write(b, "/usr/bin/rm", "#!/bin/sh\n")
		p := s.policy(b, sp)
		b.StartTimer()
		mustApply(b, p, Options{Root: s.root})
	}
}
