package bindings

/*
#include "gam_dl.h"
*/
import "C"

import (
	"fmt"
	"strings"
)

// Condition is a native image condition (GAM_COND_*): the degradations that the scenarios apply
// to real images and that the pipeline applies after sampling when a generator does not list
// the condition in its attr_names.
type Condition int32

const (
	CondBlur        Condition = C.GAM_COND_BLUR         // Gaussian blur, sigma = 2.5 x severity
	CondShadow      Condition = C.GAM_COND_SHADOW       // directional brightness ramp, down to 1 - 0.8 x severity
	CondLowContrast Condition = C.GAM_COND_LOW_CONTRAST // pull towards the image mean by 0.8 x severity
	CondNoise       Condition = C.GAM_COND_NOISE        // additive Gaussian noise, std 0.2 x severity, clamped to [0, 1]
)

// Conditions lists every condition in id order; its names are the contract's attr names.
var Conditions = []Condition{CondBlur, CondShadow, CondLowContrast, CondNoise}

// ConditionNames maps the contract's attr names to condition ids.
var ConditionNames = map[string]Condition{
	"blur":         CondBlur,
	"shadow":       CondShadow,
	"low_contrast": CondLowContrast,
	"noise":        CondNoise,
}

func (c Condition) String() string {
	if c >= 0 && int(c) < len(conditionNames) {
		return conditionNames[c]
	}
	return fmt.Sprintf("condition(%d)", int32(c))
}

var conditionNames = []string{"blur", "shadow", "low_contrast", "noise"}

// ParseCondition returns the condition called name ("blur", "shadow", "low_contrast", "noise").
func ParseCondition(name string) (Condition, error) {
	if c, ok := ConditionNames[name]; ok {
		return c, nil
	}
	names := make([]string, len(Conditions))
	for i, c := range Conditions {
		names[i] = c.String()
	}
	return 0, fmt.Errorf("unknown condition %q (known: %s)", name, strings.Join(names, ", "))
}

// Columns of ImageStats' [N,4] result.
const (
	StatSharpness  = 0 // variance of the 3x3 Laplacian over interior pixels, mean over channels
	StatBrightness = 1 // mean pixel
	StatContrast   = 2 // standard deviation of the pixels
	StatNoise      = 3 // Immerkaer's noise sigma, mean over channels
	NumStats       = 4
)

// StatNames names ImageStats' columns in order.
var StatNames = []string{"sharpness", "brightness", "contrast", "noise"}

// Verdict is the fused screen's decision for one image (GAM_SCREEN_*); the rejections are
// checked in the order NaN, Label, Prob, Confidence.
type Verdict int64

const (
	VerdictAccept     Verdict = C.GAM_SCREEN_ACCEPT
	VerdictNaN        Verdict = C.GAM_SCREEN_NAN        // a NaN or Inf in the logits or the confidence
	VerdictLabel      Verdict = C.GAM_SCREEN_LABEL      // the screen's argmax is not the intended class
	VerdictProb       Verdict = C.GAM_SCREEN_PROB       // intended-class probability under its threshold
	VerdictConfidence Verdict = C.GAM_SCREEN_CONFIDENCE // generation confidence under its threshold
)

// VerdictNames are the verdicts' names in code order, as rejection reasons are counted.
var VerdictNames = []string{"accept", "nan", "label", "prob", "confidence"}

func (v Verdict) String() string {
	if v >= 0 && int(v) < len(VerdictNames) {
		return VerdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", int64(v))
}

// opRun runs one engine op that makes a single tensor.
func (e *Engine) opRun(op string, f func(out **C.gam_tensor) C.int32_t) (*Tensor, error) {
	var out *C.gam_tensor
	if err := e.call(op, func() C.int32_t { return f(&out) }); err != nil {
		return nil, err
	}
	return newTensor(e, out), nil
}

// Condition applies cond to images x [N,C,H,W] with per-image severities [N] in [0, 1] and
// returns new images on x's device. Severity 0 leaves an image bit-for-bit unchanged. Noise, and
// the shadow's direction, depend only on (seed, image index in x, pixel), the same on CPU and GPU:
// give each batch its own seed, or image i of every batch gets the same noise.
func (e *Engine) Condition(x *Tensor, cond Condition, severity *Tensor, seed uint64) (*Tensor, error) {
	return e.opRun("condition "+cond.String(), func(o **C.gam_tensor) C.int32_t {
		return C.gamdl_gam_ops_condition(x.ptr(), C.int32_t(cond), severity.ptr(), C.uint64_t(seed), o)
	})
}

// ConditionNamed is Condition with the condition given by its attr name and the severities, one
// per image of x, as a Go slice (uploaded to x's device for the call).
func (e *Engine) ConditionNamed(x *Tensor, name string, sev []float32, seed uint64) (*Tensor, error) {
	c, err := ParseCondition(name)
	if err != nil {
		return nil, err
	}
	st, err := e.FromF32(sev, int64(len(sev)))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return e.Condition(x, c, st, seed)
}

// ImageStats measures images x [N,C,H,W]: [N,4] float32 with the Stat* columns.
func (e *Engine) ImageStats(x *Tensor) (*Tensor, error) {
	return e.opRun("image stats", func(o **C.gam_tensor) C.int32_t { return C.gamdl_gam_ops_image_stats(x.ptr(), o) })
}

// Screen runs the fused screen over logits [N,K] for intended labels [N] (int64) and, unless conf
// is nil, generation confidences [N]. It returns verdict [N] int64 (Verdict codes), prob [N]
// float32 (softmax probability of the intended class; 0 where the logits hold a NaN or Inf) and
// accepted [M] int64, the indices of the accepted rows in ascending order. A probability or a
// confidence equal to its threshold passes.
func (e *Engine) Screen(logits, intended, conf *Tensor, probThr, confThr float32) (verdict, prob, accepted *Tensor, err error) {
	var v, p, a *C.gam_tensor
	err = e.call("screen", func() C.int32_t {
		return C.gamdl_gam_ops_screen(logits.ptr(), intended.ptr(), conf.ptr(), C.float(probThr), C.float(confThr), &v, &p, &a)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return newTensor(e, v), newTensor(e, p), newTensor(e, a), nil
}
