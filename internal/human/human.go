// Package human formats values for logs and reports as people read them, not as Go prints
// them: "label 45, dup 3" rather than map[dup:3 label:45], "coat -0.70" rather than
// {coat -0.7000000000000001}.
package human

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Counts is "k1 n1, k2 n2", largest count first (ties by name); "none" for no counts.
func Counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k, n := range m {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// List is "a, b, c"; "none" for an empty list.
func List(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Delta is a signed change with two decimals: "+0.03", "-0.70".
func Delta(v float64) string { return fmt.Sprintf("%+.2f", v) }
