package plan

import (
	"strings"
	"testing"
)

// TestErrorsListNamesForPeople (issue 22, item 6): an unknown name is refused with the known
// ones as a list people read ("known: a, b"), not as Go prints a slice ("[a b]").
func TestErrorsListNamesForPeople(t *testing.T) {
	_, err := ReadMetrics(strings.NewReader(`{"format": "gam.metrics/v1", "classes": ["coat", "shirt"], "metrics": {"classes": [{"class": "cot", "support": 10, "recall": 0.5}]}}`), MetricsOptions{})
	if err == nil || !strings.Contains(err.Error(), "known: coat, shirt") || strings.Contains(err.Error(), "[coat") {
		t.Fatalf("unknown class: %v; want the known classes listed as \"coat, shirt\"", err)
	}
}
