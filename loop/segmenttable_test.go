package loop

import (
	"strings"
	"testing"
)

// TestReportHasASegmentTable (issue 22, item 6): report.md lists every segment's validation
// recall per round with its change; a job without segments has no such table.
func TestReportHasASegmentTable(t *testing.T) {
	rep := &Report{Job: "cs", Classes: []string{"coat", "shirt"}, Rounds: []RoundEntry{
		{Round: 0, SegmentRecall: map[string]float64{"coat/blurry": 0.4, "shirt/clean": 0.7}},
		{Round: 1, SegmentRecall: map[string]float64{"coat/blurry": 0.55, "shirt/clean": 0.68}},
	}}
	md := markdown(rep)
	i := strings.Index(md, "## Segments (validation recall)")
	if i < 0 {
		t.Fatalf("no segment table in report.md:\n%s", md)
	}
	table := md[i:]
	for _, want := range []string{"round 0", "round 1", "change", "coat/blurry", "0.4000", "0.5500", "+0.1500", "shirt/clean", "-0.0200"} {
		if !strings.Contains(table, want) {
			t.Errorf("the segment table has no %q:\n%s", want, table)
		}
	}
	if strings.Index(table, "coat/blurry") > strings.Index(table, "shirt/clean") {
		t.Error("segments not in order")
	}
	rep.Rounds[0].SegmentRecall, rep.Rounds[1].SegmentRecall = nil, nil
	if strings.Contains(markdown(rep), "## Segments") {
		t.Error("a segment table for a job without segments")
	}
}
