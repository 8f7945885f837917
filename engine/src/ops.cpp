// The native image operations of gam.h (gam_ops_*): argument checks shared by both devices, the
// CPU path (plain loops over contiguous float32 tensors, one image per parallel task) and the
// dispatch of CUDA tensors to cuda/*.cu. The per-pixel and per-row math lives in cuda/*.cuh and is
// the same function on both devices.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "condition.cuh"
#include "image_stats.cuh"
#include "internal.h"
#include "screen.cuh"

#ifdef GAM_WITH_CUDA
#include "launchers.h"
#endif

#ifdef GAM_WITH_CUDA
namespace gam {
namespace gpu {
void fail(int32_t code, const std::string &what) { throw Error(code, what); }
}  // namespace gpu
}  // namespace gam
#endif

namespace {

using gam::Error;

const char *dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}

std::string shape_of(const at::Tensor &t) {
  std::ostringstream o;
  o << t.sizes();
  return o.str();
}

[[noreturn]] void invalid(const std::string &msg) { throw Error(GAM_ERR_INVALID, msg); }

// Checks t's dtype and rank; layout names the expected shape in the message ("[N,C,H,W]").
void need_tensor(const at::Tensor &t, const char *name, at::ScalarType dtype, int64_t rank, const char *layout) {
  if (t.scalar_type() != dtype)
    invalid(std::string(name) + " must be " + dtype_name(dtype) + " " + layout + ", got " +
            dtype_name(t.scalar_type()) + " " + shape_of(t));
  if (t.dim() != rank)
    invalid(std::string(name) + " must have shape " + layout + " (rank " + std::to_string(rank) + "), got " +
            shape_of(t));
}

void need_rows(const at::Tensor &t, const char *name, int64_t n, const char *ref) {
  if (t.size(0) != n)
    invalid(std::string(name) + " has " + std::to_string(t.size(0)) + " rows, " + ref + " has " +
            std::to_string(n));
}

// CPU tensors run here; CUDA tensors need the kernels built in.
void need_supported_device(const at::Tensor &t, const char *name) {
  if (t.is_cpu()) return;
#ifdef GAM_WITH_CUDA
  if (t.is_cuda()) return;
#else
  if (t.is_cuda())
    invalid(std::string(name) + " is on " + t.device().str() +
            " but this engine was built without the CUDA kernels (configure with -DGAM_CUDA=ON)");
#endif
  invalid(std::string(name) + " is on " + t.device().str() + ", which the native ops do not support");
}

// Severities must lie in [0, 1] (NaN included in "not"): one reduction, and on a GPU one sync.
void need_unit_range(const at::Tensor &s, const char *name) {
  if (s.numel() == 0) return;
  at::Tensor ok = at::logical_and(s.ge(0), s.le(1));
  if (ok.all().item<bool>()) return;
  const int64_t i = ok.logical_not().nonzero()[0][0].item<int64_t>();
  std::ostringstream o;
  o << name << "[" << i << "] = " << s[i].item<float>() << " is outside [0, 1]";
  invalid(o.str());
}

// Splits n images over LibTorch's intra-op threads, a few hundred kilobytes of pixels per task.
template <typename F> void for_images(int64_t n, int64_t pixels_per_image, F &&f) {
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, pixels_per_image));
  at::parallel_for(0, n, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) f(i);
  });
}

// ---- CPU paths ----

at::Tensor condition_cpu(const at::Tensor &x, int32_t cond, const at::Tensor &severity, uint64_t seed) {
  using namespace gam::ops;
  const int64_t N = x.size(0), C = x.size(1);
  const int H = (int)x.size(2), W = (int)x.size(3);
  const int64_t plane = (int64_t)H * W, img = C * plane;
  at::Tensor out = at::empty_like(x);
  const float *in = x.data_ptr<float>(), *sev = severity.data_ptr<float>();
  float *o = out.data_ptr<float>();
  for_images(N, img, [&](int64_t n) {
    const float *p = in + n * img;
    float *q = o + n * img;
    const float s = sev[n];
    if (!(s > 0.f)) {
      std::copy(p, p + img, q);
      return;
    }
    switch (cond) {
      case GAM_COND_BLUR: {
        const BlurTaps taps = blur_taps(blur_sigma(s));
        std::vector<float> tmp((size_t)plane);
        for (int64_t c = 0; c < C; ++c) {
          const float *pc = p + c * plane;
          float *qc = q + c * plane;
          for (int y = 0; y < H; ++y)
            for (int xx = 0; xx < W; ++xx) tmp[(size_t)y * W + xx] = blur_line(pc + (int64_t)y * W, 1, W, xx, taps);
          for (int y = 0; y < H; ++y)
            for (int xx = 0; xx < W; ++xx) qc[(int64_t)y * W + xx] = blur_line(tmp.data() + xx, W, H, y, taps);
        }
        break;
      }
      case GAM_COND_SHADOW: {
        float cs, sn;
        shadow_direction(seed, n, &cs, &sn);
        for (int64_t c = 0; c < C; ++c)
          for (int y = 0; y < H; ++y)
            for (int xx = 0; xx < W; ++xx) {
              const int64_t i = c * plane + (int64_t)y * W + xx;
              q[i] = p[i] * shadow_factor(s, cs, sn, H, W, y, xx);
            }
        break;
      }
      case GAM_COND_LOW_CONTRAST: {
        double acc = 0.0;
        for (int64_t i = 0; i < img; ++i) acc += p[i];
        const float mean = (float)(acc / (double)img);
        for (int64_t i = 0; i < img; ++i) q[i] = low_contrast_pixel(p[i], mean, s);
        break;
      }
      case GAM_COND_NOISE:
        for (int64_t i = 0; i < img; ++i) q[i] = noise_pixel(p[i], s, noise_normal(seed, n, i));
        break;
    }
  });
  return out;
}

at::Tensor image_stats_cpu(const at::Tensor &x) {
  using namespace gam::ops;
  const int64_t N = x.size(0);
  const int C = (int)x.size(1), H = (int)x.size(2), W = (int)x.size(3);
  const int64_t plane = (int64_t)H * W, img = plane * C;
  at::Tensor out = at::empty({N, (int64_t)kNumStats}, x.options());
  const float *in = x.data_ptr<float>();
  float *o = out.data_ptr<float>();
  for_images(N, img, [&](int64_t n) {
    const float *p = in + n * img;
    StatSums s{0.0, 0.0, 0.0, 0.0};
    for (int64_t i = 0; i < img; ++i) {
      const double v = p[i];
      s.sum += v;
      s.sum2 += v * v;
    }
    if (H >= 3 && W >= 3) {
      const double interior = (double)(H - 2) * (W - 2);
      for (int c = 0; c < C; ++c) {
        const float *q = p + c * plane;
        double ls = 0.0, ls2 = 0.0;
        for (int y = 1; y < H - 1; ++y)
          for (int xx = 1; xx < W - 1; ++xx) {
            const double l = laplacian_at(q, W, y, xx);
            ls += l;
            ls2 += l * l;
            s.abs_mask += std::fabs((double)immerkaer_at(q, W, y, xx));
          }
        s.lap_var += variance_of(ls, ls2, interior);
      }
    }
    stats_finish(s, C, H, W, o + n * kNumStats);
  });
  return out;
}

// The fused screen's verdicts and probabilities, one row per task; cf may be NULL (no confidence).
void screen_rows_cpu(const at::Tensor &logits, const at::Tensor &intended, const float *cf, float pt, float ct,
                     at::Tensor *verdict, at::Tensor *prob) {
  const int64_t N = logits.size(0), K = logits.size(1);
  const float *l = logits.data_ptr<float>();
  const int64_t *want = intended.data_ptr<int64_t>();
  *verdict = at::empty({N}, logits.options().dtype(at::kLong));
  *prob = at::empty({N}, logits.options());
  int64_t *v = verdict->data_ptr<int64_t>();
  float *p = prob->data_ptr<float>();
  at::parallel_for(0, N, std::max<int64_t>(1, 16384 / K), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      gam::ops::screen_row(l + i * K, K, want[i], cf != nullptr, cf != nullptr ? cf[i] : 0.f, pt, ct, v + i, p + i);
  });
}

void screen_cpu(const at::Tensor &logits, const at::Tensor &intended, const at::Tensor &conf, float pt,
                float ct, at::Tensor *verdict, at::Tensor *prob, at::Tensor *accepted) {
  const int64_t N = logits.size(0), K = logits.size(1);
  const int64_t *want = intended.data_ptr<int64_t>();
  const float *cf = conf.defined() ? conf.data_ptr<float>() : nullptr;
  for (int64_t i = 0; i < N; ++i)
    if (want[i] < 0 || want[i] >= K)
      invalid("intended[" + std::to_string(i) + "] = " + std::to_string(want[i]) + " is outside [0, " +
              std::to_string(K) + ")");
  screen_rows_cpu(logits, intended, cf, pt, ct, verdict, prob);
  const int64_t *v = verdict->data_ptr<int64_t>();
  int64_t m = 0;
  for (int64_t i = 0; i < N; ++i) m += v[i] == GAM_SCREEN_ACCEPT;
  *accepted = at::empty({m}, logits.options().dtype(at::kLong));
  int64_t *a = accepted->data_ptr<int64_t>();
  for (int64_t i = 0, j = 0; i < N; ++i)
    if (v[i] == GAM_SCREEN_ACCEPT) a[j++] = i;
}

// Images: float32 [N,C,H,W] on a supported device.
void need_images(const at::Tensor &x, const char *name) {
  need_tensor(x, name, at::kFloat, 4, "[N,C,H,W]");
  need_supported_device(x, name);
}

}  // namespace

namespace gam {

void screen_rows(const at::Tensor &logits, const at::Tensor &intended, float prob_threshold, at::Tensor *verdict,
                 at::Tensor *prob) {
  const at::Tensor l = logits.contiguous(), in = intended.contiguous();
  if (l.is_cuda()) {
#ifdef GAM_WITH_CUDA
    gam::gpu::screen_rows(l, in, prob_threshold, verdict, prob);
    return;
#endif
  }
  need_supported_device(l, "logits");
  screen_rows_cpu(l, in, nullptr, prob_threshold, 0.f, verdict, prob);
}

}  // namespace gam

GAM_EXPORT int32_t gam_ops_condition(const gam_tensor *xh, int32_t condition, const gam_tensor *sh,
                                     uint64_t seed, gam_tensor **out) {
  return gam::guard([&] {
    *gam::need(out, "out") = nullptr;
    const at::Tensor &x0 = gam::tensor_of(xh, "x");
    need_images(x0, "x");
    if (condition < GAM_COND_BLUR || condition > GAM_COND_NOISE)
      invalid("condition " + std::to_string(condition) +
              " is unknown (0 blur, 1 shadow, 2 low_contrast, 3 noise)");
    const at::Tensor &s0 = gam::tensor_of(sh, "severity");
    need_tensor(s0, "severity", at::kFloat, 1, "[N]");
    need_rows(s0, "severity", x0.size(0), "x");
    at::NoGradGuard no_grad;
    const at::Tensor x = x0.contiguous();
    const at::Tensor s = s0.to(x.device()).contiguous();
    need_unit_range(s, "severity");
    at::Tensor r;
    if (x.is_cuda()) {
#ifdef GAM_WITH_CUDA
      r = gam::gpu::condition(x, condition, s, seed);
#endif
    } else {
      r = condition_cpu(x, condition, s, seed);
    }
    *out = gam::wrap(std::move(r));
  });
}

GAM_EXPORT int32_t gam_ops_image_stats(const gam_tensor *xh, gam_tensor **out) {
  return gam::guard([&] {
    *gam::need(out, "out") = nullptr;
    const at::Tensor &x0 = gam::tensor_of(xh, "x");
    need_images(x0, "x");
    if (x0.size(0) > 0 && x0.numel() == 0) invalid("x has empty images: shape " + shape_of(x0));
    at::NoGradGuard no_grad;
    const at::Tensor x = x0.contiguous();
    at::Tensor r;
    if (x.is_cuda()) {
#ifdef GAM_WITH_CUDA
      r = gam::gpu::image_stats(x);
#endif
    } else {
      r = image_stats_cpu(x);
    }
    *out = gam::wrap(std::move(r));
  });
}

GAM_EXPORT int32_t gam_ops_screen(const gam_tensor *lh, const gam_tensor *ih, const gam_tensor *ch,
                                  float prob_threshold, float conf_threshold, gam_tensor **verdict,
                                  gam_tensor **prob, gam_tensor **accepted) {
  return gam::guard([&] {
    *gam::need(verdict, "verdict") = nullptr;
    *gam::need(prob, "prob") = nullptr;
    *gam::need(accepted, "accepted") = nullptr;
    const at::Tensor &l0 = gam::tensor_of(lh, "logits");
    need_tensor(l0, "logits", at::kFloat, 2, "[N,K]");
    need_supported_device(l0, "logits");
    if (l0.size(1) < 1) invalid("logits must have at least one class, got shape " + shape_of(l0));
    const at::Tensor &i0 = gam::tensor_of(ih, "intended");
    need_tensor(i0, "intended", at::kLong, 1, "[N]");
    need_rows(i0, "intended", l0.size(0), "logits");
    if (ch != nullptr) {
      need_tensor(ch->t, "conf", at::kFloat, 1, "[N]");
      need_rows(ch->t, "conf", l0.size(0), "logits");
    }
    if (std::isnan(prob_threshold)) invalid("prob_threshold is NaN");
    if (std::isnan(conf_threshold)) invalid("conf_threshold is NaN");
    at::NoGradGuard no_grad;
    const at::Tensor l = l0.contiguous();
    const at::Tensor in = i0.to(l.device()).contiguous();
    const at::Tensor c = ch != nullptr ? ch->t.to(l.device()).contiguous() : at::Tensor();
    at::Tensor v, p, a;
    if (l.is_cuda()) {
#ifdef GAM_WITH_CUDA
      gam::gpu::screen(l, in, c, prob_threshold, conf_threshold, &v, &p, &a);
#endif
    } else {
      screen_cpu(l, in, c, prob_threshold, conf_threshold, &v, &p, &a);
    }
    *verdict = gam::wrap(std::move(v));
    *prob = gam::wrap(std::move(p));
    *accepted = gam::wrap(std::move(a));
  });
}
