package policy

import (
	"fmt"
	"strings"
	"testing"
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

// TestLoadLinear guards against quadratic checks: 4 times the accounts
// may not cost much more than 4 times the time.
func TestLoadLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	small, large := genPolicy(2000), genPolicy(8000)
	measure := func(data []byte) float64 {
		r := testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				if _, _, err := Parse("p.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
		return float64(r.NsPerOp())
	}
	ratio := measure(large) / measure(small)
	if ratio > 8 {
		t.Errorf("4x the accounts took %.1fx the time; want about 4x", ratio)
	}
}
