// Per-row math of the fused screen, shared by ops.cpp and screen.cu.
#pragma once

#include "gam_hd.cuh"
#include "gam.h"

namespace gam {
namespace ops {

// One pass over a row of K logits: NaN/Inf check, online (max-rescaled, so stable) softmax and
// argmax (the first of equal maxima), then the verdicts in gam.h's order: NAN, LABEL, PROB,
// CONFIDENCE, ACCEPT. *prob is the softmax probability of the intended class, 0 when the logits
// hold a NaN or Inf. The caller has checked 0 <= intended < K; an out-of-range value still reads
// nothing out of bounds and gives LABEL.
GAM_HD inline void screen_row(const float *l, int64_t K, int64_t intended, bool has_conf, float conf,
                              float prob_threshold, float conf_threshold, int64_t *verdict,
                              float *prob) {
  bool bad = !finite(l[0]);
  float m = l[0], sum = 1.f;
  int64_t arg = 0;
  for (int64_t k = 1; k < K; ++k) {
    const float v = l[k];
    if (!finite(v)) {
      bad = true;
    } else if (v > m) {
      sum = sum * expf(m - v) + 1.f;
      m = v;
      arg = k;
    } else {
      sum += expf(v - m);
    }
  }
  if (bad) {
    *verdict = GAM_SCREEN_NAN;
    *prob = 0.f;
    return;
  }
  if (intended < 0 || intended >= K) {
    *verdict = GAM_SCREEN_LABEL;
    *prob = 0.f;
    return;
  }
  const float p = expf(l[intended] - m) / sum;
  *prob = p;
  if (has_conf && !finite(conf))
    *verdict = GAM_SCREEN_NAN;
  else if (arg != intended)
    *verdict = GAM_SCREEN_LABEL;
  else if (p < prob_threshold)
    *verdict = GAM_SCREEN_PROB;
  else if (has_conf && conf < conf_threshold)
    *verdict = GAM_SCREEN_CONFIDENCE;
  else
    *verdict = GAM_SCREEN_ACCEPT;
}

}  // namespace ops
}  // namespace gam
