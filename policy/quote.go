package policy

import (
	"strconv"
)

// maxShown is how many characters of a value a message shows.
const maxShown = 64

// quote quotes a value for a message, as strconv.Quote does, showing at
// most its first maxShown characters, then "…" and the value's length:
//
//	"aaaa…" (200000 bytes)
//
// Every value a message quotes goes through quote (or quoteASCII, or
// clip when unquoted): a value may be a whole file's worth, such as a
// 200 KB name or a policy that is a symbolic link to /etc/shadow, and a
// message must not copy it out.
func quote(s string) string {
	return capQuote(s, strconv.Quote)
}

// quoteASCII is quote with strconv.QuoteToASCII, for values where a
// non-ASCII letter that looks like an ASCII one must show (a Kelvin
// sign in a function name).
func quoteASCII(s string) string {
	return capQuote(s, strconv.QuoteToASCII)
}

// clip is quote for values shown without quotes: numbers, tags and
// paths that passed validation.
func clip(s string) string {
	head, cut := shorten(s)
	if !cut {
		return s
	}
	return head + "…" + length(s)
}

func capQuote(s string, q func(string) string) string {
	head, cut := shorten(s)
	if !cut {
		return q(s)
	}
	out := q(head)
	return out[:len(out)-1] + `…"` + length(s)
}

func length(s string) string {
	return " (" + strconv.Itoa(len(s)) + " bytes)"
}

// shorten returns the first maxShown characters of s (a byte that is
// not UTF-8 counts as one) and whether that is not all of s.
func shorten(s string) (string, bool) {
	n := 0
	for i := range s {
		if n == maxShown {
			return s[:i], true
		}
		n++
	}
	return s, false
}
