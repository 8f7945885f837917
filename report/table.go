package report

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Table renders a Markdown (GitHub) table. Columns are padded so the source
// reads as a table too, and columns whose cells are all numbers (optionally
// "x%" or "x ± y") are right-aligned. Rows shorter than the widest row or
// the headers are padded with empty cells; "|" in a cell is escaped and
// newlines become spaces.
func Table(headers []string, rows [][]string) string {
	t := newTable(headers, rows, markdownCell)
	if t.cols == 0 {
		return ""
	}
	sep := make([]string, t.cols)
	for j := range sep {
		t.width[j] = max(t.width[j], 3) // Markdown needs "---"
		if t.right[j] {
			sep[j] = strings.Repeat("-", t.width[j]-1) + ":"
		} else {
			sep[j] = strings.Repeat("-", t.width[j])
		}
	}
	var b strings.Builder
	t.line(&b, "| ", " | ", " |", t.head)
	t.line(&b, "| ", " | ", " |", sep)
	for _, r := range t.body {
		t.line(&b, "| ", " | ", " |", r)
	}
	return b.String()
}

// Aligned renders a plain text table for terminals: columns two spaces
// apart, a dashed rule under the headers, numeric columns right-aligned,
// no trailing spaces.
func Aligned(headers []string, rows [][]string) string {
	t := newTable(headers, rows, plainCell)
	if t.cols == 0 {
		return ""
	}
	var b strings.Builder
	if len(headers) > 0 {
		t.line(&b, "", "  ", "", t.head)
		rule := make([]string, t.cols)
		for j := range rule {
			rule[j] = strings.Repeat("-", t.width[j])
		}
		t.line(&b, "", "  ", "", rule)
	}
	for _, r := range t.body {
		t.line(&b, "", "  ", "", r)
	}
	return b.String()
}

type table struct {
	cols  int
	head  []string
	body  [][]string
	width []int
	right []bool
}

func newTable(headers []string, rows [][]string, clean func(string) string) *table {
	t := &table{cols: len(headers)}
	for _, r := range rows {
		t.cols = max(t.cols, len(r))
	}
	pad := func(in []string) []string {
		out := make([]string, t.cols)
		for j, s := range in {
			out[j] = clean(s)
		}
		return out
	}
	t.head = pad(headers)
	t.body = make([][]string, len(rows))
	for i, r := range rows {
		t.body[i] = pad(r)
	}
	t.width = make([]int, t.cols)
	t.right = make([]bool, t.cols)
	for j := 0; j < t.cols; j++ {
		t.width[j] = utf8.RuneCountInString(t.head[j])
		numeric, filled := true, false
		for _, r := range t.body {
			t.width[j] = max(t.width[j], utf8.RuneCountInString(r[j]))
			if r[j] != "" {
				filled = true
				numeric = numeric && isNumber(r[j])
			}
		}
		t.right[j] = filled && numeric
	}
	return t
}

// line writes cells padded to the column widths. The last cell of a plain
// line is not padded when left-aligned, so lines carry no trailing spaces.
func (t *table) line(b *strings.Builder, open, sep, close string, cells []string) {
	var l strings.Builder
	l.WriteString(open)
	for j, s := range cells {
		if j > 0 {
			l.WriteString(sep)
		}
		gap := strings.Repeat(" ", t.width[j]-utf8.RuneCountInString(s))
		if t.right[j] {
			l.WriteString(gap + s)
		} else {
			l.WriteString(s + gap)
		}
	}
	l.WriteString(close)
	b.WriteString(strings.TrimRight(l.String(), " "))
	b.WriteByte('\n')
}

func markdownCell(s string) string {
	return strings.ReplaceAll(plainCell(s), "|", `\|`)
}

func plainCell(s string) string {
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.TrimSpace(strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s))
}

// isNumber accepts "0.91", "-3", "12.5%" and "0.91 ± 0.02".
func isNumber(s string) bool {
	for _, part := range strings.Split(s, "±") {
		part = strings.TrimSuffix(strings.TrimSpace(part), "%")
		if _, err := strconv.ParseFloat(part, 64); err != nil {
			return false
		}
	}
	return true
}
