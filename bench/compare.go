package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/gam-native/gam-native/report"
)

// Change is one figure's ratio between an old and a new run.
type Change struct {
	Key      string  `json:"key"`
	Old      float64 `json:"old"`
	New      float64 `json:"new"`
	Ratio    float64 `json:"ratio"`
	OldRange [2]float64
	NewRange [2]float64
	// Drop: the new median is below the old run's measured minimum and the new maximum is below
	// the old median, i.e. the fall is beyond the spread both runs measured.
	Drop bool `json:"drop"`
}

// LoadResult reads a result written by `gam-native bench --json`.
func LoadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Compare pairs the figures of old and cur by name and batch (all figures are higher-is-better
// rates).
func Compare(old, cur *Result) []Change {
	var out []Change
	for _, f := range cur.Figures {
		o := old.Find(f.Name, f.Batch)
		if o == nil || o.Median == 0 {
			continue
		}
		c := Change{Key: f.Key(), Old: o.Median, New: f.Median, Ratio: f.Median / o.Median,
			OldRange: [2]float64{o.Min, o.Max}, NewRange: [2]float64{f.Min, f.Max}}
		c.Drop = f.Median < o.Min && f.Max < o.Median
		out = append(out, c)
	}
	return out
}

// PrintCompare writes the ratios and flags the drops; it returns the number of drops.
func PrintCompare(w io.Writer, oldPath string, changes []Change) int {
	var rows [][]string
	drops := 0
	for _, c := range changes {
		flag := ""
		if c.Drop {
			flag = "DROP"
			drops++
		}
		rows = append(rows, []string{c.Key, num(c.Old), fmt.Sprintf("%s..%s", num(c.OldRange[0]), num(c.OldRange[1])),
			num(c.New), fmt.Sprintf("%s..%s", num(c.NewRange[0]), num(c.NewRange[1])), fmt.Sprintf("%.3f", c.Ratio), flag})
	}
	fmt.Fprintf(w, "\ncompared with %s (ratio = new / old median; DROP = beyond both runs' measured spread):\n", oldPath)
	fmt.Fprint(w, report.Aligned([]string{"figure", "old", "old range", "new", "new range", "ratio", ""}, rows))
	fmt.Fprintf(w, "%d of %d figures dropped beyond the spread\n", drops, len(changes))
	return drops
}
