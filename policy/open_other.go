//go:build !unix

package policy

// openFlags are added to O_RDONLY when readFile opens a policy file.
const openFlags = 0
