// Tensor handles: copies in and out at the boundary, and the few row operations the Go pipeline
// needs to move batches between stages without pixels leaving engine memory.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "internal.h"

namespace {

std::vector<int64_t> dims(const int64_t *shape, int32_t ndim) {
  if (ndim < 0 || ndim > 8) throw gam::Error(GAM_ERR_INVALID, "ndim must be in [0, 8], got " + std::to_string(ndim));
  if (ndim > 0) gam::need(shape, "shape");
  std::vector<int64_t> v(shape, shape + ndim);
  for (int64_t s : v)
    if (s < 0) throw gam::Error(GAM_ERR_INVALID, "negative dimension in shape");
  return v;
}

int64_t numel_of(const std::vector<int64_t> &v) {
  int64_t n = 1;
  for (int64_t s : v) n *= s;
  return n;
}

template <typename T>
int32_t from_host(const T *data, const int64_t *shape, int32_t ndim, at::ScalarType st, gam_tensor **out) {
  return gam::guard([&] {
    gam::need(out, "out");
    *out = nullptr;
    auto d = dims(shape, ndim);
    int64_t n = numel_of(d);
    if (n > 0) gam::need(data, "data");
    // upload copies: the Go slice is only borrowed for this call.
    at::Tensor t = n == 0 ? torch::empty(d, torch::dtype(st)).to(gam::current_device())
                          : gam::upload(torch::from_blob(const_cast<T *>(data), d, torch::dtype(st)));
    *out = gam::wrap(std::move(t));
    if constexpr (std::is_same_v<T, int64_t>) {
      if (n > 0) {
        auto [lo, hi] = std::minmax_element(data, data + n);
        (*out)->range_known = true;
        (*out)->lo = *lo;
        (*out)->hi = *hi;
      }
    }
  });
}

template <typename T>
int32_t to_host(const gam_tensor *t, T *dst, int64_t n, at::ScalarType st) {
  return gam::guard([&] {
    const at::Tensor &src = gam::tensor_of(t, "tensor");
    if (src.numel() != n)
      throw gam::Error(GAM_ERR_INVALID, "copy: tensor has " + std::to_string(src.numel()) + " elements, buffer " +
                                            std::to_string(n));
    if (n == 0) return;
    gam::need(dst, "dst");
    at::Tensor c = src.detach().to(torch::kCPU, st).contiguous();
    std::memcpy(dst, c.data_ptr<T>(), sizeof(T) * n);
  });
}

}  // namespace

namespace gam {

at::Tensor upload(const at::Tensor &src) {
  const c10::Device d = current_device();
  if (!d.is_cuda()) return src.clone().to(d);
  at::Tensor pinned = at::empty(src.sizes(), src.options().pinned_memory(true));
  pinned.copy_(src);
  return pinned.to(d, /*non_blocking=*/true);
}

}  // namespace gam

GAM_EXPORT int32_t gam_tensor_from_f32(const float *data, const int64_t *shape, int32_t ndim, gam_tensor **out) {
  return from_host(data, shape, ndim, torch::kFloat32, out);
}

GAM_EXPORT int32_t gam_tensor_from_i64(const int64_t *data, const int64_t *shape, int32_t ndim, gam_tensor **out) {
  return from_host(data, shape, ndim, torch::kInt64, out);
}

GAM_EXPORT int32_t gam_tensor_randn(const int64_t *shape, int32_t ndim, float scale, uint64_t seed, gam_tensor **out) {
  return gam::guard([&] {
    gam::need(out, "out");
    *out = nullptr;
    auto d = dims(shape, ndim);
    // Drawn on the CPU from its own generator so a seed means the same z on every device.
    auto gen = at::detail::createCPUGenerator(seed);
    at::Tensor z = at::randn(d, gen, torch::dtype(torch::kFloat32));
    if (scale != 1.0f) z.mul_(scale);
    *out = gam::wrap(gam::upload(z));
  });
}

GAM_EXPORT int32_t gam_tensor_shape(const gam_tensor *t, int64_t *shape, int32_t cap, int32_t *ndim) {
  return gam::guard([&] {
    const at::Tensor &x = gam::tensor_of(t, "tensor");
    gam::need(ndim, "ndim");
    if (x.dim() > cap) throw gam::Error(GAM_ERR_INVALID, "shape buffer too small");
    if (x.dim() > 0) gam::need(shape, "shape");
    for (int64_t i = 0; i < x.dim(); i++) shape[i] = x.size(i);
    *ndim = static_cast<int32_t>(x.dim());
  });
}

GAM_EXPORT int32_t gam_tensor_copy_f32(const gam_tensor *t, float *dst, int64_t n) {
  return to_host(t, dst, n, torch::kFloat32);
}

GAM_EXPORT int32_t gam_tensor_copy_i64(const gam_tensor *t, int64_t *dst, int64_t n) {
  return to_host(t, dst, n, torch::kInt64);
}

GAM_EXPORT int32_t gam_tensor_select(const gam_tensor *t, const int64_t *idx, int64_t n, gam_tensor **out) {
  return gam::guard([&] {
    const at::Tensor &x = gam::tensor_of(t, "tensor");
    gam::need(out, "out");
    *out = nullptr;
    if (x.dim() == 0) throw gam::Error(GAM_ERR_INVALID, "select: scalar tensor has no rows");
    if (n < 0) throw gam::Error(GAM_ERR_INVALID, "select: negative count");
    if (n > 0) gam::need(idx, "idx");
    for (int64_t i = 0; i < n; i++)
      if (idx[i] < 0 || idx[i] >= x.size(0))
        throw gam::Error(GAM_ERR_INVALID, "select: index " + std::to_string(idx[i]) + " out of range [0, " +
                                              std::to_string(x.size(0)) + ")");
    at::Tensor i = torch::from_blob(const_cast<int64_t *>(idx), {n}, torch::kInt64);
    i = x.is_cuda() ? i.pin_memory().to(x.device(), /*non_blocking=*/true) : i.clone().to(x.device());
    *out = gam::wrap(x.index_select(0, i));
    // Rows of t lie within t's bound.
    (*out)->range_known = t->range_known;
    (*out)->lo = t->lo;
    (*out)->hi = t->hi;
  });
}

GAM_EXPORT int32_t gam_tensor_cat(const gam_tensor *const *ts, int32_t n, gam_tensor **out) {
  return gam::guard([&] {
    gam::need(out, "out");
    *out = nullptr;
    if (n < 1) throw gam::Error(GAM_ERR_INVALID, "cat: no tensors");
    gam::need(ts, "ts");
    std::vector<at::Tensor> v;
    v.reserve(n);
    bool known = true;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int32_t i = 0; i < n; i++) {
      v.push_back(gam::tensor_of(ts[i], "ts[i]"));
      known = known && ts[i]->range_known;
      lo = std::min(lo, ts[i]->lo);
      hi = std::max(hi, ts[i]->hi);
    }
    *out = gam::wrap(torch::cat(v, 0));
    if (known) {
      (*out)->range_known = true;
      (*out)->lo = lo;
      (*out)->hi = hi;
    }
  });
}

GAM_EXPORT void gam_tensor_destroy(gam_tensor *t) { delete t; }
