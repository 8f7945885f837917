package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// MaxBudget is the most images one plan may ask for, over all its targets together (and so the
// most `plan --budget` and a job's plan.budget accept): 1,000,000, about 3 GB of 28x28 PNGs. A
// larger count is a typo or an overflow, and a run at it would not end.
const MaxBudget = 1_000_000

// ReadPlanFile reads a gam.plan/v1 file strictly (DecodePlan).
func ReadPlanFile(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	p, err := DecodePlan(b)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return p, nil
}

// DecodePlan decodes a plan and checks it: an unknown field is an error (a typo would otherwise
// be dropped silently), and so is anything Validate refuses.
func DecodePlan(b []byte) (*Plan, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the plan's JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks what `generate` acts on: the format, and every target's count (>= 0, all of
// them together at most MaxBudget) and severity range (within [0, 1], min <= max).
func (p *Plan) Validate() error {
	if p.Format != PlanFormat {
		return fmt.Errorf("format %q, want %q", p.Format, PlanFormat)
	}
	for i, n := range p.ClassNames {
		if n == "" || slices.Index(p.ClassNames, n) != i {
			return fmt.Errorf("classes[%d] (%q): empty or repeated", i, n)
		}
	}
	total := 0
	for i, t := range p.Targets {
		if p.ClassNames != nil {
			switch {
			case t.Class >= len(p.ClassNames):
				return fmt.Errorf("targets[%d] (%s).class = %d: the plan has %d classes", i, t.ID, t.Class, len(p.ClassNames))
			case t.Class >= 0 && t.ClassName != "" && t.ClassName != p.ClassNames[t.Class]:
				return fmt.Errorf("targets[%d] (%s): class %d is %q in the plan's classes, not %q", i, t.ID, t.Class, p.ClassNames[t.Class], t.ClassName)
			}
		}
		switch {
		case t.ID == "":
			return fmt.Errorf("targets[%d].id: empty", i)
		case t.Count < 0 || t.Count > MaxBudget:
			return fmt.Errorf("targets[%d] (%s).count = %d: want a value in [0, %d]", i, t.ID, t.Count, MaxBudget)
		case t.Class < 0:
			return fmt.Errorf("targets[%d] (%s).class = %d: want >= 0", i, t.ID, t.Class)
		}
		for _, s := range []struct {
			key string
			v   float64
		}{{"severity_min", t.SeverityMin}, {"severity_max", t.SeverityMax}} {
			if !(s.v >= 0 && s.v <= 1) {
				return fmt.Errorf("targets[%d] (%s).%s = %v: want a value in [0, 1]", i, t.ID, s.key, s.v)
			}
		}
		if t.SeverityMax != 0 && t.SeverityMin > t.SeverityMax {
			return fmt.Errorf("targets[%d] (%s): severity_min %v is above severity_max %v", i, t.ID, t.SeverityMin, t.SeverityMax)
		}
		if math.IsNaN(t.Difficulty) || math.IsInf(t.Difficulty, 0) {
			return fmt.Errorf("targets[%d] (%s).difficulty = %v: want a finite number", i, t.ID, t.Difficulty)
		}
		total += t.Count
		if total > MaxBudget {
			return fmt.Errorf("targets: counts sum to more than %d (the most one plan may ask for)", MaxBudget)
		}
	}
	return nil
}
