// Per-pixel math of the native conditions (GAM_COND_*), shared by ops.cpp and condition.cu.
// Every condition is the identity at severity 0; callers copy the image unchanged when s <= 0 so
// that this holds bit for bit.
#pragma once

#include "gam_hd.cuh"

namespace gam {
namespace ops {

// The scenario's calibration (shared/EFFICACY_NOTES.md): blur sigma = 2.5 s, shadow darkens up to
// 0.8 s, low contrast keeps (1 - 0.8 s) of the deviation from the mean, noise std = 0.2 s.
constexpr float kBlurSigmaPerSeverity = 2.5f;
constexpr int kBlurMaxRadius = 8;  // ceil(3 * 2.5): severities are at most 1
constexpr float kShadowDepth = 0.8f;
constexpr float kLowContrastPull = 0.8f;
constexpr float kNoiseStd = 0.2f;

// Salts that keep the shadow direction and the noise uncorrelated for the same seed.
constexpr uint64_t kShadowSalt = 0x5348414457000001ull;
constexpr uint64_t kNoiseSalt = 0x4E4F495345000002ull;

GAM_HD inline float blur_sigma(float s) { return kBlurSigmaPerSeverity * s; }

GAM_HD inline int blur_radius(float sigma) {
  if (!(sigma > 0.f)) return 0;
  int r = (int)ceilf(3.f * sigma);
  return r > kBlurMaxRadius ? kBlurMaxRadius : r;
}

// The 1-D Gaussian taps for one sigma: w[k + r] = exp(-k^2 / (2 sigma^2)) for |k| <= r, and
// their sum (the normalisation, so a flat image stays flat). Computed once per image on the CPU
// and once per thread on the GPU, by the same code.
struct BlurTaps {
  int r;
  float wsum;
  float w[2 * kBlurMaxRadius + 1];
};

GAM_HD inline BlurTaps blur_taps(float sigma) {
  BlurTaps t;
  t.r = blur_radius(sigma);
  t.wsum = 0.f;
  const float k2 = t.r > 0 ? -0.5f / (sigma * sigma) : 0.f;
  for (int k = -t.r; k <= t.r; ++k) {
    t.w[k + t.r] = expf(k2 * (float)(k * k));
    t.wsum += t.w[k + t.r];
  }
  return t;
}

// One output of the 1-D Gaussian along a line of len values, stride apart, at position i, with
// clamp-to-edge borders. The separable blur is this along rows, then along columns of the result.
GAM_HD inline float blur_line(const float *line, int64_t stride, int len, int i, const BlurTaps &t) {
  if (t.r == 0) return line[(int64_t)i * stride];
  float acc = 0.f;
  for (int k = -t.r; k <= t.r; ++k) {
    int j = i + k;
    j = j < 0 ? 0 : (j >= len ? len - 1 : j);
    acc += t.w[k + t.r] * line[(int64_t)j * stride];
  }
  return acc / t.wsum;
}

// The shadow's direction for one image: a unit vector (cs, sn) from (seed, image).
GAM_HD inline void shadow_direction(uint64_t seed, int64_t image, float *cs, float *sn) {
  const uint64_t h = mix64(mix64(seed ^ kShadowSalt) + (uint64_t)image);
  const float a = 6.28318530718f * uniform24((uint32_t)(h >> 40));
  *cs = cosf(a);
  *sn = sinf(a);
}

// Brightness factor at (y, x): a linear ramp along the direction, 1 on the lit edge of the image
// and 1 - 0.8 s on the far edge.
GAM_HD inline float shadow_factor(float s, float cs, float sn, int H, int W, int y, int x) {
  const float cx = 0.5f * (float)(W - 1), cy = 0.5f * (float)(H - 1);
  const float half = fabsf(cs) * cx + fabsf(sn) * cy;
  float t = 0.5f;
  if (half > 0.f) t = 0.5f + 0.5f * (((float)x - cx) * cs + ((float)y - cy) * sn) / half;
  t = clamp01(t);
  return 1.f - kShadowDepth * s * t;
}

GAM_HD inline float low_contrast_pixel(float v, float mean, float s) {
  const float f = 1.f - kLowContrastPull * s;
  return v * f + mean * (1.f - f);
}

// A standard normal draw for pixel idx of image `image`: splitmix64 over the counter, then
// Box-Muller on two 24-bit uniforms. The same value on the CPU and the GPU (to float rounding).
GAM_HD inline float noise_normal(uint64_t seed, int64_t image, int64_t idx) {
  const uint64_t key = mix64(mix64(seed ^ kNoiseSalt) + (uint64_t)image);
  const uint64_t r = mix64(key ^ mix64((uint64_t)idx));
  const float u1 = uniform24((uint32_t)(r >> 40)) + (1.0f / 16777216.0f);  // (0, 1]
  const float u2 = uniform24((uint32_t)(r >> 8) & 0xFFFFFFu);              // [0, 1)
  return sqrtf(-2.f * logf(u1)) * cosf(6.28318530718f * u2);
}

GAM_HD inline float noise_pixel(float v, float s, float z) { return clamp01(v + kNoiseStd * s * z); }

}  // namespace ops
}  // namespace gam
