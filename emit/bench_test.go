package emit_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
)

// bigPolicy returns a policy of n accounts with 3 vhosts each, layers and
// services as in the bundled example.
func bigPolicy(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`version: 1
server:
  layers:
    - {name: base, always: true}
    - {name: terminal, requires: [base]}
    - {name: ruby, requires: [terminal]}
    - {name: java, requires: [base]}
accounts:
`)
	services := []string{"[]", "[terminal]", "[ruby]", "[java, terminal]"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - name: acct%d\n    uid: %d\n    gid: %d\n    services: %s\n    vhosts:\n", i, 100000+i, 100000+i, services[i%len(services)])
		for j := 0; j < 3; j++ {
			fmt.Fprintf(&b, "      - server_name: v%d.acct%d.example.com\n        aliases: [www.v%d.acct%d.example.com]\n", j, i, j, i)
		}
	}
	return b.Bytes()
}

// BenchmarkCompile loads, validates and renders 10,000 accounts × 3
// vhosts in memory. The budget is 1 s and 300 MB an operation.
func BenchmarkCompile(b *testing.B) {
	data := bigPolicy(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p, _, err := policy.Parse("big.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		d, err := emit.Compile(p)
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Files) != 30000+5 {
			b.Fatalf("got %d files", len(d.Files))
		}
	}
}
