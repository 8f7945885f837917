package data

import (
	"fmt"
	"slices"
	"strings"
)

// Scenario holds the parameters of every scenario; each name reads the
// ones it needs. Decode the TOML job over DefaultScenario() so that absent
// keys keep their defaults.
type Scenario struct {
	Seed            int64    `toml:"seed"`
	ValPerClass     int      `toml:"val_per_class"`
	ImbalanceFactor float64  `toml:"imbalance_factor"` // long-tail
	ScarceClasses   []string `toml:"scarce_classes"`   // scarce: class names
	ScarceFraction  float64  `toml:"scarce_fraction"`  // scarce
	Conditions      []string `toml:"conditions"`       // condition-shift
	ShiftFraction   float64  `toml:"shift_fraction"`   // condition-shift
	SeverityMin     float64  `toml:"severity_min"`     // condition-shift
	SeverityMax     float64  `toml:"severity_max"`     // condition-shift
}

// DefaultScenario is Fashion-MNIST-LT's usual setting.
func DefaultScenario() Scenario {
	return Scenario{
		Seed: 1, ValPerClass: 100, ImbalanceFactor: 100,
		ScarceClasses: []string{"shirt"}, ScarceFraction: 0.02,
		Conditions: []string{"blur", "shadow"}, ShiftFraction: 0.3, SeverityMin: 0.3, SeverityMax: 0.9,
	}
}

// Splits is what a scenario hands the loop.
type Splits struct {
	Train, Val, Test *Dataset
	// Info says how an ImageFolder's training images were read (sizes, resizing, modes); nil for
	// other sources.
	Info *ImageInfo
	// Held names the splits held out of the training images because the source has none of its
	// own ("validation", "test"), for the log and the report.
	Held []string
}

// Scenario names; a split name may be joined with ShiftScenario by "+".
const (
	BalancedScenario = "balanced"
	LongTailScenario = "long-tail"
	ScarceScenario   = "scarce"
	ShiftScenario    = "condition-shift"
)

// ScenarioNames lists the names ApplyScenario knows.
var ScenarioNames = []string{BalancedScenario, LongTailScenario, ScarceScenario, ShiftScenario}

// ApplyScenario splits train into training and validation sets by the
// named scenario and, with condition-shift, degrades part of validation
// and test. apply may be nil when no condition shift is asked for.
func ApplyScenario(name string, sc Scenario, train, test *Dataset, apply ConditionFunc) (*Splits, error) {
	return ApplyScenarioVal(name, sc, train, nil, test, apply)
}

// ApplyScenarioVal is ApplyScenario with a validation set of the data's own (an ImageFolder's
// val/) when val is not nil: the scenario then holds out nothing from train, and condition-shift
// degrades part of val.
func ApplyScenarioVal(name string, sc Scenario, train, val, test *Dataset, apply ConditionFunc) (*Splits, error) {
	if val != nil {
		sc.ValPerClass = 0
	}
	base, shift, err := parseScenarioName(name)
	if err != nil {
		return nil, err
	}
	var s Splits
	switch base {
	case BalancedScenario:
		var ti, vi []int
		ti, vi, err = StratifiedSplit(train.Labels, train.NumClasses(), sc.ValPerClass, sc.Seed)
		if err == nil {
			s.Train, s.Val = named(train.Subset(ti), train.Name+"-train"), named(train.Subset(vi), train.Name+"-val")
		}
	case LongTailScenario:
		s.Train, s.Val, err = LongTail(train, sc.ImbalanceFactor, sc.ValPerClass, sc.Seed)
	case ScarceScenario:
		var classes []int
		if classes, err = classIndices(train.ClassNames, sc.ScarceClasses); err == nil {
			s.Train, s.Val, err = Scarce(train, classes, sc.ScarceFraction, sc.ValPerClass, sc.Seed)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	s.Test = test
	if val != nil {
		s.Val = val
	}
	if shift {
		s.Val, err = ConditionShift(s.Val, sc.Conditions, sc.ShiftFraction, sc.SeverityMin, sc.SeverityMax, sc.Seed, apply)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: validation: %w", name, err)
		}
		if test != nil {
			// Another seed, so test images are not degraded like their validation twins.
			s.Test, err = ConditionShift(test, sc.Conditions, sc.ShiftFraction, sc.SeverityMin, sc.SeverityMax, int64(mix(uint64(sc.Seed), 1<<32)), apply)
			if err != nil {
				return nil, fmt.Errorf("scenario %s: test: %w", name, err)
			}
		}
	}
	return &s, nil
}

func parseScenarioName(name string) (base string, shift bool, err error) {
	parts := strings.Split(name, "+")
	base = BalancedScenario
	seenBase := false
	for _, p := range parts {
		switch p {
		case ShiftScenario:
			if shift {
				return "", false, fmt.Errorf("scenario %q names %s twice", name, ShiftScenario)
			}
			shift = true
		case BalancedScenario, LongTailScenario, ScarceScenario:
			if seenBase {
				return "", false, fmt.Errorf("scenario %q names two splits; pick one of %s, %s, %s", name, BalancedScenario, LongTailScenario, ScarceScenario)
			}
			base, seenBase = p, true
		default:
			return "", false, fmt.Errorf("unknown scenario %q (known: %s; join a split and %s with \"+\", e.g. %q)",
				name, strings.Join(ScenarioNames, ", "), ShiftScenario, LongTailScenario+"+"+ShiftScenario)
		}
	}
	return base, shift, nil
}

func classIndices(classNames, want []string) ([]int, error) {
	if len(want) == 0 {
		return nil, fmt.Errorf("no scarce classes named")
	}
	out := make([]int, len(want))
	for i, w := range want {
		if out[i] = slices.Index(classNames, w); out[i] < 0 {
			return nil, fmt.Errorf("unknown class %q (known: %s)", w, strings.Join(classNames, ", "))
		}
	}
	return out, nil
}
