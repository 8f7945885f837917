package report

import (
	"fmt"
	"math"
)

func argErr(fn, format string, args ...any) error {
	return fmt.Errorf("report.%s: "+format, append([]any{fn}, args...)...)
}

// checkNames rejects an empty list of names where each series or group
// needs a label.
func checkNames(fn, arg string, names []string) error {
	if len(names) == 0 {
		return argErr(fn, "%s is empty", arg)
	}
	return nil
}

// checkMatrix checks that m has rows rows of cols finite values each; NaN
// passes only when allowNaN (a gap in a line), and values outside [0,1]
// fail when unit (recalls).
func checkMatrix(fn, arg string, m [][]float64, rows, cols int, allowNaN, unit bool) error {
	if len(m) != rows {
		return argErr(fn, "%s has %d rows, want %d", arg, len(m), rows)
	}
	for i, row := range m {
		if len(row) != cols {
			return argErr(fn, "%s[%d] has %d values, want %d", arg, i, len(row), cols)
		}
		for j, v := range row {
			if err := checkValue(v, allowNaN, unit); err != nil {
				return argErr(fn, "%s[%d][%d] %v", arg, i, j, err)
			}
		}
	}
	return nil
}

func checkVector(fn, arg string, v []float64, n int, unit bool) error {
	if len(v) != n {
		return argErr(fn, "%s has %d values, want %d", arg, len(v), n)
	}
	for i, x := range v {
		if err := checkValue(x, false, unit); err != nil {
			return argErr(fn, "%s[%d] %v", arg, i, err)
		}
	}
	return nil
}

func checkValue(v float64, allowNaN, unit bool) error {
	switch {
	case math.IsNaN(v):
		if !allowNaN {
			return fmt.Errorf("is NaN")
		}
	case math.IsInf(v, 0):
		return fmt.Errorf("is %v", v)
	case unit && (v < 0 || v > 1):
		return fmt.Errorf("= %v, outside [0,1]", v)
	}
	return nil
}
