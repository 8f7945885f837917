package loop

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gam-native/gam-native/report"
)

// segmentMarkdown is report.md's per-segment table: the validation recall of every class/condition
// segment in each round, and the change from round 0 to the last, so that a condition-shift job's
// targets (coat/blurry) can be followed; "" when no round measured segments.
func segmentMarkdown(rep *Report) string {
	ids := map[string]bool{}
	for _, e := range rep.Rounds {
		for id := range e.SegmentRecall {
			ids[id] = true
		}
	}
	if len(ids) == 0 {
		return ""
	}
	header := []string{"segment"}
	for _, e := range rep.Rounds {
		header = append(header, fmt.Sprintf("round %d", e.Round))
	}
	header = append(header, "change")
	var rows [][]string
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		row := []string{id}
		first, last, seen := 0.0, 0.0, 0
		for _, e := range rep.Rounds {
			v, ok := e.SegmentRecall[id]
			if !ok {
				row = append(row, "-")
				continue
			}
			if seen == 0 {
				first = v
			}
			last, seen = v, seen+1
			row = append(row, f4(v))
		}
		change := "-"
		if seen > 1 {
			change = fmt.Sprintf("%+.4f", last-first)
		}
		rows = append(rows, append(row, change))
	}
	var b strings.Builder
	b.WriteString("\n## Segments (validation recall)\n\n")
	b.WriteString(report.Table(header, rows))
	return b.String()
}
