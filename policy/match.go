package policy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// facetMatch reports whether a rule's facet field covers a request facet.
func facetMatch(facet, pattern string) bool {
	return pattern == "*" || facet == pattern
}

// valueMatch reports whether a rule's value pattern covers a facet value.
//
//	"*"       anything, including the empty value
//	""        only the empty value (a field that is not set)
//	"<=N"     a whole number 1..N; N may end in k, m, g or t (powers of 1024).
//	          0 (unlimited) and non-numbers never match.
//	">N"      a whole number greater than N (same suffixes): for deny rules
//	          that cap what a profile allows (`memory, >4g, deny`).
//	          Non-numbers never match.
//	otherwise a glob: * matches any run of characters (including /), ? one
//	          character, everything else literally and case-sensitively.
func valueMatch(value, pattern string) bool {
	switch {
	case pattern == "*":
		return true
	case pattern == "":
		return value == ""
	case strings.HasPrefix(pattern, "<="):
		max, err := parseQuantity(pattern[2:])
		if err != nil {
			return false
		}
		v, err := strconv.ParseInt(value, 10, 64)
		return err == nil && v >= 1 && v <= max
	case strings.HasPrefix(pattern, ">") && !strings.HasPrefix(pattern, ">="):
		min, err := parseQuantity(pattern[1:])
		if err != nil {
			return false
		}
		v, err := strconv.ParseInt(value, 10, 64)
		return err == nil && v > min
	default:
		return glob(pattern, value)
	}
}

// checkPattern validates a value pattern at load time.
func checkPattern(pattern string) error {
	if strings.HasPrefix(pattern, "<=") {
		if _, err := parseQuantity(pattern[2:]); err != nil {
			return fmt.Errorf("value %q: %v", pattern, err)
		}
	}
	if strings.HasPrefix(pattern, ">") {
		if _, err := parseQuantity(pattern[1:]); err != nil {
			return fmt.Errorf("value %q: want >N with N a positive whole number, optionally ending in k, m, g or t", pattern)
		}
	}
	for _, r := range pattern {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("value %q contains a control character", pattern)
		}
	}
	return nil
}

// parseQuantity parses "512", "64m", "2g" (powers of 1024).
func parseQuantity(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, s = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, s = 1<<30, s[:n-1]
		case 't', 'T':
			mult, s = 1<<40, s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("want <=N with N a positive whole number, optionally ending in k, m, g or t")
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("number too large")
	}
	return n * mult, nil
}

// glob matches s against a pattern where * is any run of bytes and ? is one
// character. Iterative with single backtracking point: linear in practice,
// never exponential.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				_, size := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += size
				continue
			default:
				if c == s[sx] {
					px++
					sx++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		px, sx = starP+1, starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
