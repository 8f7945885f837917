package generate

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/gam-native/gam-native/plan"
)

// ClassMatch is how one of a plan's classes was found among the models' classes.
type ClassMatch struct {
	Plan, Model string
	// Loose: not the same string, the same letters and digits ignoring case ("T-shirt/top" and
	// "tshirt_top"), the only model class that is.
	Loose bool
}

// MatchClasses maps the targets of a plan to the models' classes by name: a plan's class index
// is the index in the metrics it was made from, which need not be the models' order (a service
// trained on a torchvision ImageFolder numbers its classes alphabetically). Each target's
// class (and each confuser's) is looked up by its name, exactly or else loosely (ClassMatch);
// a name found neither way is an error that lists every such name with the models' classes. A
// target without a name keeps its index, which must be one of the models' classes. The targets
// are returned as copies with the models' indices and names.
func MatchClasses(targets []plan.Target, planClasses, modelClasses []string) ([]plan.Target, []ClassMatch, error) {
	seen := map[string]*ClassMatch{}
	var missing []string
	find := func(name string) (int, bool) {
		if k := slices.Index(modelClasses, name); k >= 0 {
			if seen[name] == nil {
				seen[name] = &ClassMatch{Plan: name, Model: name}
			}
			return k, true
		}
		key, hit := looseKey(name), -1
		for i, m := range modelClasses {
			if looseKey(m) == key {
				if hit >= 0 {
					hit = -2 // two candidates: no loose match
					break
				}
				hit = i
			}
		}
		if key == "" || hit < 0 {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return 0, false
		}
		if seen[name] == nil {
			seen[name] = &ClassMatch{Plan: name, Model: modelClasses[hit], Loose: true}
		}
		return hit, true
	}
	nameOf := func(class int, name string) string {
		if name == "" && class >= 0 && class < len(planClasses) {
			return planClasses[class]
		}
		return name
	}
	out := make([]plan.Target, len(targets))
	for i, t := range targets {
		t.ConfusedWith = slices.Clone(t.ConfusedWith)
		if name := nameOf(t.Class, t.ClassName); name != "" {
			if k, ok := find(name); ok {
				t.Class, t.ClassName = k, modelClasses[k]
			}
		} else if t.Class < 0 || t.Class >= len(modelClasses) {
			return nil, nil, fmt.Errorf("target %s: class %d without a name, and the models have %d classes", t.ID, t.Class, len(modelClasses))
		} else {
			t.ClassName = modelClasses[t.Class]
		}
		for j, c := range t.ConfusedWith {
			if name := nameOf(c.Class, c.Name); name != "" {
				if k, ok := find(name); ok {
					t.ConfusedWith[j].Class, t.ConfusedWith[j].Name = k, modelClasses[k]
				}
			} else if c.Class < 0 || c.Class >= len(modelClasses) {
				return nil, nil, fmt.Errorf("target %s: confuser class %d without a name, and the models have %d classes", t.ID, c.Class, len(modelClasses))
			}
		}
		out[i] = t
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("the plan names classes the models do not have: %s (the models' classes, from the data: %s)",
			quoteList(missing), strings.Join(modelClasses, ", "))
	}
	var matches []ClassMatch
	for _, m := range seen {
		matches = append(matches, *m)
	}
	slices.SortFunc(matches, func(a, b ClassMatch) int { return strings.Compare(a.Plan, b.Plan) })
	return out, matches, nil
}

// looseKey is name's letters and digits, lower case.
func looseKey(name string) string {
	var b strings.Builder
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
