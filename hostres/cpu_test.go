package hostres

import "testing"

func TestParseCPUMax(t *testing.T) {
	cases := []struct {
		desc string
		in   string
		want int
		ok   bool
	}{
		{"two CPUs", "200000 100000\n", 2, true},
		{"a fraction rounds up", "150000 100000", 2, true},
		{"under one CPU is one", "50000 100000", 1, true},
		{"no limit (v2)", "max 100000", 0, false},
		{"no limit (v1: quota -1)", "-1 100000", 0, false},
		{"garbage", "lots", 0, false},
	}
	for _, c := range cases {
		got, ok := parseCPUMax(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: parseCPUMax(%q) = %d, %v; want %d, %v", c.desc, c.in, got, ok, c.want, c.ok)
		}
	}
	if n := CPUQuota(); n < 1 {
		t.Errorf("CPUQuota() = %d", n)
	}
}
