// Inference through a loaded model's contract methods, the hardness search, and saving.
#include "model.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>

namespace gam {

at::Tensor call_tensor(gam_model *g, const char *name, std::vector<c10::IValue> args) {
  return tensor_result(g, name, g->m.get_method(name)(std::move(args)));
}

at::Tensor tensor_result(const gam_model *g, const char *name, const c10::IValue &r) {
  if (!r.isTensor())
    throw Error(GAM_ERR_CONTRACT, "model " + g->path + ": method `" + name + "` returned " + r.tagKind() + ", expected Tensor");
  return r.toTensor();
}

std::pair<at::Tensor, at::Tensor> call_encode(gam_model *g, const at::Tensor &x, const at::Tensor &y, const at::Tensor &a) {
  c10::IValue r = infer_module(g, &x)->get_method("encode")({x, y, a});
  if (r.isTuple()) {
    const auto &el = r.toTupleRef().elements();
    if (el.size() == 2 && el[0].isTensor() && el[1].isTensor()) return {el[0].toTensor(), el[1].toTensor()};
  }
  throw Error(GAM_ERR_CONTRACT, "model " + g->path + ": method `encode` returned " + r.tagKind() +
                                    ", expected a tuple of two tensors (mu, logvar)");
}

// Test-only fault hook: with GAM_TEST_OOM_ABOVE=N in the environment, a call that samples, runs
// forward (or embed, confidence, encode, search) or trains on more than N rows fails with
// GAM_ERR_OOM, as a real out-of-memory would, so that the callers' halve-and-retry is tested
// without a small GPU. GAM_TEST_OOM_SKIP=K lets the first K such calls through (an out-of-memory
// in the middle of a run); the count starts again whenever either variable changes. Read on every
// call (a getenv) so that a test may set it between calls; nothing crosses the ABI.
static void test_oom_hook(int64_t rows) {
  static std::atomic<bool> armed{false};  // set once either variable was seen: then the lock
  static std::mutex mu;
  static std::string last;
  static long long passed = 0;
  const char *v = std::getenv("GAM_TEST_OOM_ABOVE");
  const char *k = std::getenv("GAM_TEST_OOM_SKIP");
  if (v == nullptr && k == nullptr && !armed.load(std::memory_order_relaxed)) return;
  armed.store(true, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu);
  std::string key = std::string(v ? v : "") + "/" + (k ? k : "");
  if (key != last) {
    last = key;
    passed = 0;
  }
  if (v == nullptr || *v == '\0') return;
  char *end = nullptr;
  long long limit = std::strtoll(v, &end, 10);
  if (end == v || limit < 0 || rows <= limit) return;
  long long skip = k ? std::strtoll(k, nullptr, 10) : 0;
  if (passed < skip) {
    ++passed;
    return;
  }
  throw Error(GAM_ERR_OOM, "out of memory (test hook GAM_TEST_OOM_ABOVE=" + std::to_string(limit) + "): " +
                               std::to_string(rows) + " rows");
}

int64_t check_images(const gam_model *g, const at::Tensor &x, const char *what) {
  const auto &s = g->meta.image_shape;
  if (x.dim() != 4 || x.size(1) != s[0] || x.size(2) != s[1] || x.size(3) != s[2])
    throw Error(GAM_ERR_INVALID, std::string(what) + " must be [N, " + std::to_string(s[0]) + ", " +
                                     std::to_string(s[1]) + ", " + std::to_string(s[2]) + "]");
  if (x.scalar_type() != torch::kFloat32) throw Error(GAM_ERR_INVALID, std::string(what) + " must be float32");
  test_oom_hook(x.size(0));
  return x.size(0);
}

const at::Tensor &check_labels(const gam_model *g, const gam_tensor *yh, int64_t n) {
  const at::Tensor &y = tensor_of(yh, "y");
  if (y.dim() != 1 || y.size(0) != n)
    throw Error(GAM_ERR_INVALID, "y must be [" + std::to_string(n) + "] int64");
  if (y.scalar_type() != torch::kInt64) throw Error(GAM_ERR_INVALID, "y must be int64");
  if (n > 0) {
    const int64_t k = g->meta.num_classes;
    // A known bound inside [0, k) proves the labels valid. A bound is only a bound (rows selected
    // from a tensor inherit its bound), so anything else is decided by the values themselves.
    if (yh->range_known && yh->lo >= 0 && yh->hi < k) return y;
    at::Tensor mm = at::stack({y.min(), y.max()}).to(torch::kCPU);
    const int64_t lo = mm[0].item<int64_t>(), hi = mm[1].item<int64_t>();
    if (lo < 0 || hi >= k)
      throw Error(GAM_ERR_INVALID, "y holds labels outside [0, " + std::to_string(g->meta.num_classes) + ")");
  }
  return y;
}

static int64_t num_attrs(const gam_model *g) {
  const char *s = g->meta.attr_names;
  if (!*s) return 0;
  return 1 + std::count(s, s + std::strlen(s), ',');
}

at::Tensor attrs_or_zeros(const gam_model *g, const gam_tensor *a, int64_t n, c10::Device dev) {
  int64_t na = g->meta.role == GAM_ROLE_GENERATOR ? num_attrs(g) : 0;
  if (a == nullptr) return torch::zeros({n, na}, torch::dtype(torch::kFloat32).device(dev));
  const at::Tensor &t = a->t;
  if (t.dim() != 2 || t.size(0) != n || t.size(1) != na)
    throw Error(GAM_ERR_INVALID, "attrs must be [" + std::to_string(n) + ", " + std::to_string(na) + "] float32 (one column per attr_names entry)");
  return t;
}

static at::Tensor check_z(const gam_model *g, const gam_tensor *z) {
  const at::Tensor &t = tensor_of(z, "z");
  if (t.dim() != 2 || t.size(1) != g->meta.latent_dim || t.scalar_type() != torch::kFloat32)
    throw Error(GAM_ERR_INVALID, "z must be [N, " + std::to_string(g->meta.latent_dim) + "] float32");
  test_oom_hook(t.size(0));
  return t;
}

static void need_role(const gam_model *g, int32_t role, const char *op) {
  need(g, "model");
  if (g->meta.role != role)
    throw Error(GAM_ERR_INVALID, std::string(op) + " needs a " + (role == GAM_ROLE_GENERATOR ? "generator" : "classifier") +
                                     ", " + g->path + " is not one");
}

SampleArgs sample_args(const gam_model *g, const gam_tensor *z, const gam_tensor *y, const gam_tensor *attrs) {
  need_role(g, GAM_ROLE_GENERATOR, "sample");
  at::Tensor zt = check_z(g, z);
  at::Tensor yt = check_labels(g, y, zt.size(0));
  at::Tensor a = attrs_or_zeros(g, attrs, zt.size(0), zt.device());
  return {zt, yt, a};
}

}  // namespace gam

using gam::Error;

GAM_EXPORT int32_t gam_generator_sample(gam_model *g, const gam_tensor *z, const gam_tensor *y, const gam_tensor *attrs,
                                        gam_tensor **out) {
  return gam::guard([&] {
    gam::need(out, "out");
    *out = nullptr;
    gam::SampleArgs s = gam::sample_args(g, z, y, attrs);
    torch::NoGradGuard ng;
    *out = gam::wrap(gam::call_infer(g, "sample", {s.z, s.y, s.attrs}));
  });
}

GAM_EXPORT int32_t gam_generator_confidence(gam_model *g, const gam_tensor *x, const gam_tensor *y,
                                            const gam_tensor *attrs, gam_tensor **out) {
  return gam::guard([&] {
    gam::need_role(g, GAM_ROLE_GENERATOR, "confidence");
    gam::need(out, "out");
    *out = nullptr;
    const at::Tensor &xt = gam::tensor_of(x, "x");
    int64_t n = gam::check_images(g, xt, "x");
    const at::Tensor &yt = gam::check_labels(g, y, n);
    at::Tensor a = gam::attrs_or_zeros(g, attrs, n, xt.device());
    torch::NoGradGuard ng;
    *out = gam::wrap(gam::call_infer(g, "confidence", {xt, yt, a}));
  });
}

GAM_EXPORT int32_t gam_generator_encode(gam_model *g, const gam_tensor *x, const gam_tensor *y,
                                        const gam_tensor *attrs, gam_tensor **mu, gam_tensor **logvar) {
  return gam::guard([&] {
    gam::need_role(g, GAM_ROLE_GENERATOR, "encode");
    gam::need(mu, "mu");
    gam::need(logvar, "logvar");
    *mu = *logvar = nullptr;
    if (!g->meta.has_encode) throw Error(GAM_ERR_CONTRACT, "model " + g->path + " has no method `encode`");
    const at::Tensor &xt = gam::tensor_of(x, "x");
    int64_t n = gam::check_images(g, xt, "x");
    const at::Tensor &yt = gam::check_labels(g, y, n);
    at::Tensor a = gam::attrs_or_zeros(g, attrs, n, xt.device());
    torch::NoGradGuard ng;
    auto [m, lv] = gam::call_encode(g, xt, yt, a);
    std::unique_ptr<gam_tensor> mt(gam::wrap(m));
    *logvar = gam::wrap(lv);
    *mu = mt.release();
  });
}

GAM_EXPORT int32_t gam_classifier_forward(gam_model *c, const gam_tensor *x, gam_tensor **out) {
  return gam::guard([&] {
    gam::need_role(c, GAM_ROLE_CLASSIFIER, "forward");
    gam::need(out, "out");
    *out = nullptr;
    const at::Tensor &xt = gam::tensor_of(x, "x");
    gam::check_images(c, xt, "x");
    torch::NoGradGuard ng;
    *out = gam::wrap(gam::call_infer(c, "forward", {xt}));
  });
}

GAM_EXPORT int32_t gam_classifier_embed(gam_model *c, const gam_tensor *x, gam_tensor **out) {
  return gam::guard([&] {
    gam::need_role(c, GAM_ROLE_CLASSIFIER, "embed");
    gam::need(out, "out");
    *out = nullptr;
    if (!c->meta.has_embed) throw Error(GAM_ERR_CONTRACT, "model " + c->path + " has no method `embed`");
    const at::Tensor &xt = gam::tensor_of(x, "x");
    gam::check_images(c, xt, "x");
    torch::NoGradGuard ng;
    *out = gam::wrap(gam::call_infer(c, "embed", {xt}));
  });
}

GAM_EXPORT int32_t gam_generator_search(gam_model *g, gam_model *target, const gam_tensor *z, const gam_tensor *y,
                                        const gam_tensor *attrs, int32_t steps, float lr, float pull, gam_tensor **out) {
  return gam::guard([&] {
    gam::need_role(g, GAM_ROLE_GENERATOR, "search");
    gam::need_role(target, GAM_ROLE_CLASSIFIER, "search target");
    gam::need(out, "out");
    *out = nullptr;
    if (steps < 0 || !(lr > 0) || pull < 0) throw Error(GAM_ERR_INVALID, "search: steps >= 0, lr > 0 and pull >= 0 required");
    at::Tensor z0 = gam::check_z(g, z).detach();
    const at::Tensor &yt = gam::check_labels(g, y, z0.size(0));
    gam::check_labels(target, y, z0.size(0));
    at::Tensor a = gam::attrs_or_zeros(g, attrs, z0.size(0), z0.device());
    at::Tensor zv = z0.clone().requires_grad_(true);
    torch::optim::Adam opt(std::vector<at::Tensor>{zv}, torch::optim::AdamOptions(lr));
    at::Tensor yi = yt.unsqueeze(1);
    for (int32_t s = 0; s < steps; s++) {
      at::Tensor x = gam::call_tensor(g, "sample", {zv, yt, a});
      at::Tensor logits = gam::call_tensor(target, "forward", {x});
      at::Tensor own = logits.gather(1, yi).squeeze(1);
      at::Tensor other = logits.scatter(1, yi, -1e9).amax(1);
      // Push toward the boundary but not across it: a margin at or below zero adds no loss.
      at::Tensor loss = (own - other).clamp_min(0).mean() + pull * (zv - z0).pow(2).sum(1).mean();
      // Only z's gradient: the models' own parameters must not collect gradients here.
      at::Tensor grad = torch::autograd::grad({loss}, {zv})[0];
      opt.zero_grad();
      zv.mutable_grad() = grad;
      opt.step();
    }
    *out = gam::wrap(zv.detach().clone());
  });
}

namespace gam {

// Writes b to path with checked POSIX calls (open, every write, fsync, close), so that a full disk
// is an Error naming the path and the errno, never an exception from a destructor. A partial file
// is removed.
void write_file_checked(const std::string &path, const std::string &b) {
  auto fail = [&](const char *op, int err, int fd) {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
    throw Error(GAM_ERR_IO, "save " + path + ": " + op + ": " + std::strerror(err));
  };
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(GAM_ERR_IO, "save " + path + ": open: " + std::strerror(errno));
  const char *p = b.data();
  size_t left = b.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", errno, fd);
    if (n == 0) fail("write", ENOSPC, fd);
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync", errno, fd);
  if (::close(fd) != 0) fail("close", errno, -1);
}

}  // namespace gam

// Module::save(path) writes through PyTorchStreamWriter's own file stream: a write that fails there
// (ENOSPC) throws, and the writer's destructor then throws again while finishing the archive, which
// ends in std::terminate. Serializing to memory cannot fail that way (only bad_alloc, a status too);
// the bytes then go to the file through checked calls.
GAM_EXPORT int32_t gam_model_save(gam_model *m, const char *path) {
  return gam::guard([&] {
    gam::need(m, "model");
    std::string p = gam::need(path, "path");
    std::ostringstream buf;
    try {
      m->m.save(buf);
    } catch (const c10::Error &e) {
      throw Error(GAM_ERR_IO, "save " + p + ": serialize: " + e.what_without_backtrace());
    }
    if (!buf) throw Error(GAM_ERR_OOM, "save " + p + ": serialize: out of host memory");
    gam::write_file_checked(p, buf.str());
  });
}

GAM_EXPORT int32_t gam_model_set_train(gam_model *m, int32_t on) {
  return gam::guard([&] {
    gam::need(m, "model")->m.train(on != 0);
    m->version++;  // train-mode calls may update buffers (batch-norm statistics)
  });
}
