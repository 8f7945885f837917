// The model handle and the calls into its TorchScript methods, shared by model.cpp and train.cpp.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "internal.h"

struct gam_model {
  torch::jit::Module m;
  gam_model_meta meta;
  std::string path;
  // The inference copy (infer.cpp): built on first use, rebuilt after the parameters change.
  std::mutex infer_mu;
  std::shared_ptr<torch::jit::Module> infer;
  std::atomic<uint64_t> version{0};  // bumped by everything that changes the parameters
  uint64_t infer_version = UINT64_MAX;  // the version infer (or its failure) was made from; none yet
  bool optimize = true;  // gam_model_optimize
  std::string infer_note;  // why there is no inference copy ("" when there is one)
};

namespace gam {

// Runs method `name` with args and returns its Tensor result, naming the model on failure.
at::Tensor call_tensor(gam_model *g, const char *name, std::vector<c10::IValue> args);
// r as a Tensor, or a contract error naming g's method `name` that returned it.
at::Tensor tensor_result(const gam_model *g, const char *name, const c10::IValue &r);
// call_tensor on the module inference runs (infer_module): for calls without autograd.
at::Tensor call_infer(gam_model *g, const char *name, std::vector<c10::IValue> args);
// The module that inference calls run. On the CPU, in eval mode, with optimize on, it is a copy
// of the model frozen (parameters folded into the graphs as constants) and passed through
// LibTorch's inference passes (convolution + ReLU fused, convolutions and pooling in oneDNN's
// layout, linear weights pre-transposed), built on first use and again after the parameters
// change; the model itself otherwise, or when the copy cannot be built (infer_note says why),
// or when images (the call's input images, may be NULL) hold a NaN or an infinity.
std::shared_ptr<torch::jit::Module> infer_module(gam_model *g, const at::Tensor *images = nullptr);

// Checks images [N,C,H,W] against the model's image_shape and returns N.
int64_t check_images(const gam_model *g, const at::Tensor &x, const char *what);
// Checks labels [n] int64 in [0, num_classes) and returns the tensor. The range check uses the
// handle's host-known bound when it has one; otherwise it reads min and max back (one sync on a GPU).
const at::Tensor &check_labels(const gam_model *g, const gam_tensor *y, int64_t n);
// The generator's encode(x, y, attrs) -> (mu, logvar); throws a contract error on another return type.
std::pair<at::Tensor, at::Tensor> call_encode(gam_model *g, const at::Tensor &x, const at::Tensor &y, const at::Tensor &a);
// The checked arguments of sample(z, y, attrs), for gam_generator_sample and its async twin: g a
// generator, z [N, latent_dim] float32, labels [N] in range, attrs [N, A] (zeros when NULL).
struct SampleArgs {
  at::Tensor z, y, attrs;
};
SampleArgs sample_args(const gam_model *g, const gam_tensor *z, const gam_tensor *y, const gam_tensor *attrs);
// attrs [n, A] float32, or zeros when a is NULL.
at::Tensor attrs_or_zeros(const gam_model *g, const gam_tensor *a, int64_t n, c10::Device dev);

}  // namespace gam
