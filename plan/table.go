package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the summary, the difficulty table (hardest first) and the plan as aligned text.
func WriteTable(w io.Writer, p *Plan) error {
	s := p.Summary
	fmt.Fprintf(w, "summary: accuracy %.4f  balanced accuracy %.4f  macro-F1 %.4f  g-mean recall %.4f  worst recall %.4f (%s)\n\n",
		s.Accuracy, s.BalancedAccuracy, s.MacroF1, s.GeoMeanRecall, s.WorstRecall, s.WorstClass)
	rows := append(append([]Difficulty{}, p.Classes...), p.Segments...)
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].Score > rows[b].Score })
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "unit\tsupport\trecall\trecall 95% CI\tprecision\tFPR\traw\tshrink\tdifficulty\t")
	for _, d := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t[%.3f, %.3f]\t%.3f\t%.3f\t%.3f\t%.2f\t%.3f\t\n",
			d.ID, d.Support, d.Recall, d.RecallCI[0], d.RecallCI[1], d.Precision, d.FPR, d.Raw, d.Shrink, d.Score)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nplan: %d images over %d targets (temperature %g, floor %d, cap %s)\n\n",
		p.Budget, len(p.Targets), p.Temperature, p.Floor, capText(p.Cap))
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\timages\tshare\tdifficulty\tcondition\tseverity\thardness\tconfused with\t")
	for _, t := range p.Targets {
		cond, sev := "-", "-"
		if t.Condition != "" {
			cond, sev = t.Condition, fmt.Sprintf("%.2f-%.2f", t.SeverityMin, t.SeverityMax)
		}
		var conf []string
		for _, c := range t.ConfusedWith {
			conf = append(conf, fmt.Sprintf("%s %.0f%%", c.Name, 100*c.Share))
		}
		if len(conf) == 0 {
			conf = []string{"-"}
		}
		share := 0.0
		if p.Budget > 0 {
			share = 100 * float64(t.Count) / float64(p.Budget)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%.3f\t%s\t%s\t%.2f\t%s\t\n",
			t.ID, t.Count, share, t.Difficulty, cond, sev, t.Hardness, strings.Join(conf, ", "))
	}
	return tw.Flush()
}

func capText(c int) string {
	if c == 0 {
		return "none"
	}
	return fmt.Sprint(c)
}
