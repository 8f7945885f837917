package human

import "testing"

func TestCounts(t *testing.T) {
	for _, c := range []struct {
		m    map[string]int
		want string
	}{
		{nil, "none"},
		{map[string]int{"label": 45}, "label 45"},
		{map[string]int{"dup": 3, "label": 45, "conf": 3, "zero": 0}, "label 45, conf 3, dup 3"},
	} {
		if got := Counts(c.m); got != c.want {
			t.Errorf("Counts(%v) = %q, want %q", c.m, got, c.want)
		}
	}
	if got := List([]string{"coat", "shirt"}); got != "coat, shirt" {
		t.Errorf("List = %q", got)
	}
	if got := Delta(-0.7000000000000001); got != "-0.70" {
		t.Errorf("Delta = %q", got)
	}
}
