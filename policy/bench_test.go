package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// genPolicy returns a policy of n accounts with 3 vhosts each, with the
// layers and services of the SPEC example.
func genPolicy(n int) []byte {
	var b strings.Builder
	b.WriteString(`version: 1
server:
  layers:
    - {name: base, always: true}
    - {name: terminal, requires: [base]}
    - {name: ruby, requires: [terminal]}
    - {name: java, requires: [terminal]}
accounts:
`)
	services := []string{"[]", "[terminal]", "[ruby]", "[ruby, java]"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - name: site%d\n    uid: %d\n    gid: %d\n    services: %s\n    vhosts:\n",
			i, 10000+i, 10000+i, services[i%len(services)])
		for j := 0; j < 3; j++ {
			fmt.Fprintf(&b, "      - server_name: s%d-v%d.example.com\n        aliases: [www.s%d-v%d.example.com, \"*.s%d-v%d.example.net\"]\n        docroot: /var/www/v%d\n",
				i, j, i, j, i, j, j)
			if j == 0 {
				b.WriteString("        php:\n          open_basedir: [/srv/shared/]\n")
			}
		}
	}
	return []byte(b.String())
}

// BenchmarkLoad parses, validates and lints a policy of 10,000 accounts
// of 3 vhosts each, from memory.
func BenchmarkLoad(b *testing.B) {
	data := genPolicy(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		p, _, err := Parse("bench.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Accounts) != 10000 {
			b.Fatalf("%d accounts", len(p.Accounts))
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// TestValidateLinear guards against quadratic checks (uniqueness by
// pairwise scans rather than by map): 8 times the accounts may not cost
// much more than 8 times the CPU time. A quadratic check would cost 64
// times.
func TestValidateLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	measure := func(n, runs int) time.Duration {
		p := bigPolicy(n)
		start := cpuTime()
		for i := 0; i < runs; i++ {
			if errs := Validate(p); len(errs) > 0 {
				t.Fatal(errs[0])
			}
			Lint(p)
		}
		return cpuTime() - start
	}
	measure(1000, 1) // warm up
	small, large := measure(2000, 4), measure(16000, 1)
	if small == 0 {
		t.Skip("no CPU time on this system")
	}
	t.Logf("2000 accounts x4: %v, 16000 accounts x1: %v", small, large)
	// Both runs check 16,000 accounts in all.
	if ratio := float64(large) / float64(small); ratio > 4 {
		t.Errorf("8x the accounts took %.1fx the CPU time per account", ratio)
	}
}

// bigPolicy builds a valid policy of n accounts of 3 vhosts in code.
func bigPolicy(n int) *Policy {
	p := &Policy{Version: 1, Server: defaultServer()}
	p.Server.Layers = []Layer{{Name: "base", Always: true}, {Name: "terminal", Requires: []string{"base"}}}
	p.Accounts = make([]Account, n)
	for i := range p.Accounts {
		a := &p.Accounts[i]
		a.Name = fmt.Sprintf("site%d", i)
		a.UID, a.GID = 10000+i, 10000+i
		a.Services = []string{"terminal"}
		for j := 0; j < 3; j++ {
			a.Vhosts = append(a.Vhosts, Vhost{
				ServerName: fmt.Sprintf("s%d-v%d.example.com", i, j),
				Aliases:    []string{fmt.Sprintf("www.s%d-v%d.example.com", i, j), fmt.Sprintf("*.s%d-v%d.example.net", i, j)},
				Docroot:    "/var/www/html",
				PHP:        PHP{OpenBasedir: []string{"/srv/shared/"}},
			})
		}
	}
	return p
}
