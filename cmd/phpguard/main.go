// Command phpguard compiles a shared hosting server's account policy into
// the isolation that keeps the accounts apart, and converges a host to it.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
