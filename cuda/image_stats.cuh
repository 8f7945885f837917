// Per-pixel math of the image statistics, shared by ops.cpp and image_stats.cu. Pixel sums are
// accumulated in double on both paths, so the CPU and the GPU agree to float rounding.
#pragma once

#include "gam_hd.cuh"

namespace gam {
namespace ops {

// Columns of gam_ops_image_stats' output.
enum { kStatSharpness = 0, kStatBrightness = 1, kStatContrast = 2, kStatNoise = 3, kNumStats = 4 };

// 4-neighbour Laplacian at an interior pixel (y, x) of a plane of width W.
GAM_HD inline float laplacian_at(const float *p, int W, int y, int x) {
  const float *c = p + (int64_t)y * W + x;
  return c[-W] + c[W] + c[-1] + c[1] - 4.f * c[0];
}

// Immerkaer's noise mask [1 -2 1; -2 4 -2; 1 -2 1] at an interior pixel: the difference of two
// Laplacians, which cancels image structure up to second order and leaves the noise.
GAM_HD inline float immerkaer_at(const float *p, int W, int y, int x) {
  const float *a = p + (int64_t)(y - 1) * W + x, *b = a + W, *d = b + W;
  return (a[-1] - 2.f * a[0] + a[1]) - 2.f * (b[-1] - 2.f * b[0] + b[1]) + (d[-1] - 2.f * d[0] + d[1]);
}

// Population variance from a sum and a sum of squares over n values (never negative).
GAM_HD inline double variance_of(double sum, double sum2, double n) {
  const double m = sum / n, v = sum2 / n - m * m;
  return v > 0.0 ? v : 0.0;
}

// Per-image sums that both paths accumulate.
struct StatSums {
  double sum;      // pixels, all channels
  double sum2;     // squared pixels
  double lap_var;  // sum over channels of the Laplacian's variance over interior pixels
  double abs_mask; // sum of |Immerkaer mask| over interior pixels of all channels
};

// Statistics of one [C,H,W] image from its sums. Images under 3x3 have no interior: sharpness
// and noise are 0 there.
GAM_HD inline void stats_finish(const StatSums &s, int C, int H, int W, float *out) {
  const double n = (double)C * H * W;
  const double mean = s.sum / n;
  out[kStatBrightness] = (float)mean;
  out[kStatContrast] = (float)sqrt(variance_of(s.sum, s.sum2, n));
  if (H < 3 || W < 3) {
    out[kStatSharpness] = 0.f;
    out[kStatNoise] = 0.f;
    return;
  }
  out[kStatSharpness] = (float)(s.lap_var / C);
  // Immerkaer (1996): sigma = sqrt(pi/2) / (6 (W-2) (H-2)) * sum |I * M|, averaged over channels.
  out[kStatNoise] = (float)(1.2533141373155003 * s.abs_mask / (6.0 * (W - 2) * (H - 2) * C));
}

}  // namespace ops
}  // namespace gam
