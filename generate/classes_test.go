package generate

import (
	"strings"
	"testing"

	"github.com/gam-native/gam-native/plan"
)

var fashion = []string{"tshirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"}

// TestMatchClassesByName (issue 22, item 1): a plan's classes are the models' by name, not by
// index: an alphabetical plan's "tshirt_top" (index 9 there) is the models' class 0.
func TestMatchClassesByName(t *testing.T) {
	alpha := []string{"ankle_boot", "bag", "coat", "dress", "pullover", "sandal", "shirt", "sneaker", "trouser", "tshirt_top"}
	cases := []struct {
		desc        string
		planClasses []string
		targets     []plan.Target
		want        []int // the targets' classes after the match
		wantConf    int   // the first target's first confuser's class
		wantErr     string
	}{
		{"alphabetical metrics", alpha, []plan.Target{
			{ID: "tshirt_top", Class: 9, ClassName: "tshirt_top", ConfusedWith: []plan.Confuser{{Class: 6, Name: "shirt"}}},
			{ID: "coat/blurry", Class: 2, ClassName: "coat", Condition: "blur"}}, []int{0, 4}, 6, ""},
		{"names only in the plan's class list", alpha, []plan.Target{{ID: "x", Class: 0}}, []int{9}, -1, ""},
		{"torchvision's names, loosely", []string{"T-shirt/top", "Ankle boot"}, []plan.Target{
			{ID: "T-shirt/top", Class: 0, ClassName: "T-shirt/top"}, {ID: "Ankle boot", Class: 1, ClassName: "Ankle boot"}}, []int{0, 9}, -1, ""},
		{"no names at all: the index", nil, []plan.Target{{ID: "c3", Class: 3}}, []int{3}, -1, ""},
		{"unknown names are all listed", nil, []plan.Target{{ID: "a", Class: 0, ClassName: "hat"}, {ID: "b", Class: 1, ClassName: "scarf"}}, nil, -1,
			`"hat", "scarf"`},
		{"an unknown confuser", nil, []plan.Target{{ID: "coat", Class: 4, ClassName: "coat", ConfusedWith: []plan.Confuser{{Class: 11, Name: "hat"}}}}, nil, -1, `"hat"`},
		{"an index outside the models' classes", nil, []plan.Target{{ID: "c12", Class: 12}}, nil, -1, "class 12 without a name"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			got, matches, err := MatchClasses(c.targets, c.planClasses, fashion)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to say %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range c.want {
				if got[i].Class != k || got[i].ClassName != fashion[k] {
					t.Errorf("target %s: class %d %q, want %d %q", got[i].ID, got[i].Class, got[i].ClassName, k, fashion[k])
				}
			}
			if c.wantConf >= 0 && got[0].ConfusedWith[0].Class != c.wantConf {
				t.Errorf("confuser class %d, want %d", got[0].ConfusedWith[0].Class, c.wantConf)
			}
			if c.targets[0].ConfusedWith != nil && &c.targets[0].ConfusedWith[0] == &got[0].ConfusedWith[0] {
				t.Error("the confusers are shared with the input")
			}
			for _, m := range matches {
				if m.Loose != (m.Plan != m.Model) {
					t.Errorf("match %+v", m)
				}
			}
		})
	}
}
