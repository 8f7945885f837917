// Entries of the CUDA kernels (cuda/*.cu), called by engine/src/ops.cpp for CUDA tensors when the
// engine is built with GAM_CUDA=ON. ops.cpp has checked ranks, dtypes, lengths and value ranges;
// each entry checks what is CUDA's own (device, contiguity, sizes), launches on the current stream
// and returns new tensors on the input's device. Failures are thrown as gam::Error through fail(),
// so the .cu files need none of the engine's headers.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "gam.h"

namespace gam {
namespace gpu {

// Throws gam::Error(code, what), code a GAM_ERR_*. Defined in ops.cpp.
[[noreturn]] void fail(int32_t code, const std::string &what);

// x [N,C,H,W] float32, severity [N] float32 in [0, 1] on x's device -> new [N,C,H,W].
at::Tensor condition(const at::Tensor &x, int32_t condition, const at::Tensor &severity, uint64_t seed);

// x [N,C,H,W] float32 -> new [N,4] float32 (gam::ops::kStat* columns).
at::Tensor image_stats(const at::Tensor &x);

// logits [N,K] float32, intended [N] int64, conf [N] float32 or an undefined tensor (no check).
// Sets verdict [N] int64, prob [N] float32 and accepted [M] int64 (ascending).
void screen(const at::Tensor &logits, const at::Tensor &intended, const at::Tensor &conf,
            float prob_threshold, float conf_threshold, at::Tensor *verdict, at::Tensor *prob,
            at::Tensor *accepted);

// The same verdicts and probabilities without a confidence check, the compaction or any wait for
// the stream (intended must already be known to lie in [0, K)); safe inside a CUDA graph capture.
void screen_rows(const at::Tensor &logits, const at::Tensor &intended, float prob_threshold,
                 at::Tensor *verdict, at::Tensor *prob);

}  // namespace gpu
}  // namespace gam
