// Contract v1 checks at load time: attributes, method names and argument counts, then a probe
// call that checks output shapes. Each failure names the member and the expected signature.
#include <fstream>
#include <set>
#include <sstream>

#include "model.h"

namespace {

using gam::Error;

std::string where(const std::string &path) { return "model " + path + ": "; }

c10::IValue need_attr(const torch::jit::Module &m, const std::string &path, const char *name, const char *type) {
  if (!m.hasattr(name))
    throw Error(GAM_ERR_CONTRACT, where(path) + "missing attribute `" + name + ": " + type + "`");
  return m.attr(name);
}

std::string str_attr(const torch::jit::Module &m, const std::string &path, const char *name) {
  c10::IValue v = need_attr(m, path, name, "str");
  if (!v.isString()) throw Error(GAM_ERR_CONTRACT, where(path) + "attribute `" + name + "` must be str, is " + v.tagKind());
  return v.toStringRef();
}

int64_t int_attr(const torch::jit::Module &m, const std::string &path, const char *name) {
  c10::IValue v = need_attr(m, path, name, "int");
  if (!v.isInt()) throw Error(GAM_ERR_CONTRACT, where(path) + "attribute `" + name + "` must be int, is " + v.tagKind());
  int64_t i = v.toInt();
  if (i < 1) throw Error(GAM_ERR_CONTRACT, where(path) + "attribute `" + name + "` must be >= 1, is " + std::to_string(i));
  return i;
}

std::vector<c10::IValue> list_attr(const torch::jit::Module &m, const std::string &path, const char *name,
                                   const char *type) {
  c10::IValue v = need_attr(m, path, name, type);
  if (!v.isList()) throw Error(GAM_ERR_CONTRACT, where(path) + "attribute `" + name + "` must be " + type + ", is " + v.tagKind());
  c10::List<c10::IValue> l = v.toList();
  std::vector<c10::IValue> out;
  for (size_t i = 0; i < l.size(); i++) out.push_back(l.get(i));
  return out;
}

// Checks that method `name` exists and takes exactly nargs Tensor arguments (besides self).
void need_method(const torch::jit::Module &m, const std::string &path, const char *name, size_t nargs,
                 const char *signature) {
  auto meth = m.find_method(name);
  if (!meth)
    throw Error(GAM_ERR_CONTRACT, where(path) + "missing method `" + name + "`; expected " + signature);
  const auto &args = meth->function().getSchema().arguments();
  size_t got = args.empty() ? 0 : args.size() - 1;  // args[0] is self
  if (got != nargs)
    throw Error(GAM_ERR_CONTRACT, where(path) + "method `" + name + "` takes " + std::to_string(got) +
                                      " arguments, expected " + std::to_string(nargs) + ": " + signature);
  for (size_t i = 1; i < args.size(); i++)
    if (args[i].type()->kind() != c10::TypeKind::TensorType)
      throw Error(GAM_ERR_CONTRACT, where(path) + "method `" + name + "` argument `" + args[i].name() + "` is " +
                                        args[i].type()->str() + ", expected Tensor: " + signature);
}

std::string shape_str(at::IntArrayRef s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

const char *SIG_SAMPLE = "sample(z: Tensor[N, latent_dim] float32, y: Tensor[N] int64, attrs: Tensor[N, A] float32) -> Tensor[N, C, H, W]";
const char *SIG_CONF = "confidence(x: Tensor[N, C, H, W], y: Tensor[N] int64, attrs: Tensor[N, A]) -> Tensor[N]";
const char *SIG_LOSS = "loss(x: Tensor[N, C, H, W], y: Tensor[N] int64, attrs: Tensor[N, A]) -> Tensor[N]";
const char *SIG_DLOSS = "d_loss(x: Tensor[N, C, H, W], z: Tensor[N, latent_dim], y: Tensor[N], attrs: Tensor[N, A]) -> Tensor[]";
const char *SIG_GLOSS = "g_loss(z: Tensor[N, latent_dim], y: Tensor[N], attrs: Tensor[N, A]) -> Tensor[]";
const char *SIG_FORWARD = "forward(x: Tensor[N, C, H, W] float32 in [0, 1]) -> Tensor[N, num_classes]";
const char *SIG_EMBED = "embed(x: Tensor[N, C, H, W]) -> Tensor[N, D]";
const char *SIG_ENCODE = "encode(x: Tensor[N, C, H, W], y: Tensor[N] int64, attrs: Tensor[N, A]) -> Tuple[Tensor[N, latent_dim], Tensor[N, latent_dim]]";

void common_attrs(gam_model *g) {
  const auto &m = g->m;
  g->meta.num_classes = static_cast<int32_t>(int_attr(m, g->path, "num_classes"));
  auto shape = list_attr(m, g->path, "image_shape", "List[int] ([C, H, W])");
  if (shape.size() != 3)
    throw Error(GAM_ERR_CONTRACT, where(g->path) + "attribute `image_shape` must be [C, H, W], has " +
                                      std::to_string(shape.size()) + " entries");
  for (int i = 0; i < 3; i++) {
    if (!shape[i].isInt() || shape[i].toInt() < 1)
      throw Error(GAM_ERR_CONTRACT, where(g->path) + "attribute `image_shape` must hold 3 positive ints");
    g->meta.image_shape[i] = static_cast<int32_t>(shape[i].toInt());
  }
}

void check_generator(gam_model *g) {
  const auto &m = g->m;
  const std::string &p = g->path;
  std::string kind = str_attr(m, p, "kind");
  if (kind != "vae" && kind != "gan")
    throw Error(GAM_ERR_CONTRACT, where(p) + "attribute `kind` is \"" + kind + "\", expected \"vae\" or \"gan\"");
  std::strncpy(g->meta.kind, kind.c_str(), sizeof(g->meta.kind) - 1);
  common_attrs(g);
  g->meta.latent_dim = static_cast<int32_t>(int_attr(m, p, "latent_dim"));
  static const std::set<std::string> known = {"blur", "shadow", "low_contrast", "noise"};
  std::string names;
  for (const auto &v : list_attr(m, p, "attr_names", "List[str]")) {
    if (!v.isString()) throw Error(GAM_ERR_CONTRACT, where(p) + "attribute `attr_names` must be List[str]");
    if (!known.count(v.toStringRef()))
      throw Error(GAM_ERR_CONTRACT, where(p) + "attr_names has \"" + v.toStringRef() +
                                        "\", expected names from blur, shadow, low_contrast, noise");
    if (!names.empty()) names += ",";
    names += v.toStringRef();
  }
  if (names.size() >= sizeof(g->meta.attr_names)) throw Error(GAM_ERR_CONTRACT, where(p) + "attr_names too long");
  std::strncpy(g->meta.attr_names, names.c_str(), sizeof(g->meta.attr_names) - 1);

  need_method(m, p, "sample", 3, SIG_SAMPLE);
  need_method(m, p, "confidence", 3, SIG_CONF);
  g->meta.has_encode = m.find_method("encode").has_value();
  if (g->meta.has_encode) need_method(m, p, "encode", 3, SIG_ENCODE);
  if (kind == "vae") {
    g->meta.trainable = m.find_method("loss").has_value();
    if (g->meta.trainable) need_method(m, p, "loss", 3, SIG_LOSS);
  } else {
    bool has = m.find_method("d_loss").has_value() || m.find_method("g_loss").has_value();
    if (has) {
      need_method(m, p, "d_loss", 4, SIG_DLOSS);
      need_method(m, p, "g_loss", 3, SIG_GLOSS);
      for (const char *sub : {"generator", "discriminator"})
        if (!m.hasattr(sub) || !m.attr(sub).isModule())
          throw Error(GAM_ERR_CONTRACT, where(p) + "a trainable gan needs submodule `" + sub + "`");
      g->meta.trainable = 1;
    }
  }
}

void check_classifier(gam_model *g) {
  common_attrs(g);
  need_method(g->m, g->path, "forward", 1, SIG_FORWARD);
  g->meta.has_embed = g->m.find_method("embed").has_value();
  if (g->meta.has_embed) need_method(g->m, g->path, "embed", 1, SIG_EMBED);
  g->meta.trainable = 1;
}

// One small call through each required method, checking what comes back.
void probe(gam_model *g) {
  torch::NoGradGuard ng;
  const auto &meta = g->meta;
  const int64_t n = 2;
  c10::Device dev = gam::current_device();
  auto f32 = torch::dtype(torch::kFloat32).device(dev);
  at::Tensor x = torch::full({n, meta.image_shape[0], meta.image_shape[1], meta.image_shape[2]}, 0.5, f32);
  auto expect = [&](const at::Tensor &t, std::vector<int64_t> want, const char *sig) {
    if (t.sizes() != at::IntArrayRef(want))
      throw Error(GAM_ERR_CONTRACT, where(g->path) + "probe call returned shape " + shape_str(t.sizes()) +
                                        ", expected " + shape_str(want) + ": " + sig);
  };
  try {
    if (meta.role == GAM_ROLE_GENERATOR) {
      int64_t a = meta.attr_names[0] ? 1 + std::count(meta.attr_names, meta.attr_names + std::strlen(meta.attr_names), ',') : 0;
      at::Tensor z = torch::zeros({n, meta.latent_dim}, f32);
      at::Tensor y = torch::zeros({n}, torch::dtype(torch::kInt64).device(dev));
      at::Tensor at_ = torch::zeros({n, a}, f32);
      at::Tensor s = gam::call_tensor(g, "sample", {z, y, at_});
      expect(s, {n, meta.image_shape[0], meta.image_shape[1], meta.image_shape[2]}, SIG_SAMPLE);
      expect(gam::call_tensor(g, "confidence", {x, y, at_}), {n}, SIG_CONF);
      if (meta.has_encode) {
        auto [mu, logvar] = gam::call_encode(g, x, y, at_);
        expect(mu, {n, meta.latent_dim}, SIG_ENCODE);
        expect(logvar, {n, meta.latent_dim}, SIG_ENCODE);
      }
    } else {
      expect(gam::call_tensor(g, "forward", {x}), {n, meta.num_classes}, SIG_FORWARD);
      if (meta.has_embed) {
        at::Tensor e = gam::call_tensor(g, "embed", {x});
        if (e.dim() != 2 || e.size(0) != n)
          throw Error(GAM_ERR_CONTRACT, where(g->path) + "probe call returned shape " + shape_str(e.sizes()) + ": " + SIG_EMBED);
      }
    }
  } catch (const Error &) {
    throw;
  } catch (const std::exception &e) {
    std::string msg = e.what();
    if (auto *ce = dynamic_cast<const c10::Error *>(&e)) msg = ce->what_without_backtrace();
    throw Error(GAM_ERR_CONTRACT, where(g->path) + "probe call failed: " + msg.substr(0, 600));
  }
}

}  // namespace

GAM_EXPORT int32_t gam_model_load(const char *path, int32_t role, gam_model **out) {
  return gam::guard([&] {
    gam::need(out, "out");
    *out = nullptr;
    std::string p = gam::need(path, "path");
    if (role != GAM_ROLE_GENERATOR && role != GAM_ROLE_CLASSIFIER)
      throw Error(GAM_ERR_INVALID, "role must be GAM_ROLE_GENERATOR or GAM_ROLE_CLASSIFIER");
    if (!std::ifstream(p).good()) throw Error(GAM_ERR_IO, where(p) + "cannot open the file");
    auto g = std::make_unique<gam_model>();
    g->path = p;
    std::memset(&g->meta, 0, sizeof(g->meta));
    g->meta.role = role;
    try {
      g->m = torch::jit::load(p, gam::current_device());
    } catch (const c10::Error &e) {
      std::string m = e.what_without_backtrace();
      throw Error(GAM_ERR_CONTRACT, where(p) + "not a TorchScript file (save one with torch.jit.script(model).save(path)): " +
                                        m.substr(0, m.find('\n')));
    }
    g->m.eval();
    const char *want = role == GAM_ROLE_GENERATOR ? "gam.generator/v1" : "gam.classifier/v1";
    std::string contract = str_attr(g->m, p, "gam_contract");
    if (contract != want)
      throw Error(GAM_ERR_CONTRACT, where(p) + "attribute `gam_contract` is \"" + contract + "\", expected \"" + want + "\"");
    std::strncpy(g->meta.contract, contract.c_str(), sizeof(g->meta.contract) - 1);
    if (role == GAM_ROLE_GENERATOR)
      check_generator(g.get());
    else
      check_classifier(g.get());
    probe(g.get());
    *out = g.release();
  });
}

GAM_EXPORT int32_t gam_model_meta_get(const gam_model *m, gam_model_meta *out) {
  return gam::guard([&] {
    gam::need(m, "model");
    *gam::need(out, "out") = m->meta;
  });
}

GAM_EXPORT void gam_model_destroy(gam_model *m) { delete m; }
