package report

import "testing"

func TestTable(t *testing.T) {
	tests := []struct {
		desc    string
		headers []string
		rows    [][]string
		want    string
	}{
		{"numbers right-aligned, text left",
			[]string{"class", "recall"},
			[][]string{{"cat", "0.91"}, {"automobile", "0.8"}},
			"| class      | recall |\n" +
				"| ---------- | -----: |\n" +
				"| cat        |   0.91 |\n" +
				"| automobile |    0.8 |\n"},
		{"short columns get three dashes; mean ± sd and % are numbers",
			[]string{"m", "bal", "Δ"},
			[][]string{{"ERM", "0.71 ± 0.02", "-3%"}, {"GAM", "0.86 ± 0.01", "+12.5%"}},
			"| m   |         bal |      Δ |\n" +
				"| --- | ----------: | -----: |\n" +
				"| ERM | 0.71 ± 0.02 |    -3% |\n" +
				"| GAM | 0.86 ± 0.01 | +12.5% |\n"},
		{"ragged rows padded, pipes escaped, newlines flattened",
			[]string{"a"},
			[][]string{{"x|y", "1"}, {"two\nlines"}},
			"| a         |     |\n" +
				"| --------- | --: |\n" +
				"| x\\|y      |   1 |\n" +
				"| two lines |     |\n"},
		{"headers only", []string{"a", "b"}, nil,
			"| a   | b   |\n| --- | --- |\n"},
		{"nothing", nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := Table(tc.headers, tc.rows); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestAligned(t *testing.T) {
	tests := []struct {
		desc    string
		headers []string
		rows    [][]string
		want    string
	}{
		{"numbers right-aligned, no trailing spaces",
			[]string{"class", "recall", "note"},
			[][]string{{"cat", "0.91", "ok"}, {"automobile", "0.8", ""}},
			"class       recall  note\n" +
				"----------  ------  ----\n" +
				"cat           0.91  ok\n" +
				"automobile     0.8\n"},
		{"no headers, no rule",
			nil,
			[][]string{{"a", "1"}, {"bb", "22"}},
			"a    1\n" +
				"bb  22\n"},
		{"multi-byte runes counted once",
			[]string{"Δ", "x"},
			[][]string{{"ΔΔΔ", "1"}},
			"Δ    x\n" +
				"---  -\n" +
				"ΔΔΔ  1\n"},
		{"nothing", nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := Aligned(tc.headers, tc.rows); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
