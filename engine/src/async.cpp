// gam_generator_sample_async and gam_future_*: one worker thread owned by the engine runs sample
// calls while the caller's thread runs others (on a 2-core CPU the generator's decoder does not
// scale past one thread, so sampling beside screening is nearly free; docs/performance.md,
// "Sample on the engine's worker thread"). The worker starts on first use and is joined when the
// library unloads.
//
// No std::future, std::promise or std::packaged_task here: they use std::call_once, and with the
// GPU wheel's cuDNN in the same process (libcudnn_graph carries its own copy of libstdc++'s
// call_once) an engine referring to libstdc++'s call_once state made cudnnCreate call a null
// pointer (docs/performance.md, "GPU: cuDNN and std::call_once"). A mutex and a condition
// variable do the same job.
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "internal.h"
#include "model.h"

namespace {
// What the worker and the future share; the worker holds it until it has finished.
struct Result {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  at::Tensor value;
  std::exception_ptr error;

  void set(at::Tensor v, std::exception_ptr e) {
    std::lock_guard<std::mutex> l(mu);
    value = std::move(v);
    error = std::move(e);
    done = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [this] { return done; });
  }
};
}  // namespace

struct gam_future {
  std::shared_ptr<Result> result = std::make_shared<Result>();
  bool waited = false;
};

namespace {

class Worker {
 public:
  ~Worker() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (th_.joinable()) th_.join();
  }

  void post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!th_.joinable()) th_ = std::thread([this] { run(); });
      q_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stop_ || !q_.empty(); });
        if (q_.empty()) return;  // stop_ and nothing left
        task = std::move(q_.front());
        q_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  std::thread th_;
  bool stop_ = false;
};

Worker &worker() {
  static Worker w;
  return w;
}

}  // namespace

GAM_EXPORT int32_t gam_generator_sample_async(gam_model *g, const gam_tensor *z, const gam_tensor *y,
                                              const gam_tensor *attrs, gam_future **out) {
  return gam::guard([&] {
    gam::need(out, "out");
    *out = nullptr;
    gam::SampleArgs s = gam::sample_args(g, z, y, attrs);
    auto f = std::make_unique<gam_future>();
    auto task = [g, s, r = f->result] {
      try {
        torch::NoGradGuard ng;
        r->set(gam::call_infer(g, "sample", {s.z, s.y, s.attrs}), nullptr);
      } catch (...) {
        r->set(at::Tensor(), std::current_exception());
      }
    };
    if (s.z.is_cuda()) {
      task();  // the GPU overlaps on its own; keep the caller's device and stream
    } else {
      worker().post(std::move(task));
    }
    *out = f.release();
  });
}

GAM_EXPORT int32_t gam_future_wait(gam_future *f, gam_tensor **out) {
  return gam::guard([&] {
    gam::need(f, "future");
    gam::need(out, "out");
    *out = nullptr;
    if (f->waited) throw gam::Error(GAM_ERR_INVALID, "future: already waited for");
    f->waited = true;
    f->result->wait();
    if (f->result->error) std::rethrow_exception(f->result->error);  // guard turns it into a status
    *out = gam::wrap(std::move(f->result->value));
  });
}

GAM_EXPORT void gam_future_destroy(gam_future *f) {
  if (f == nullptr) return;
  f->result->wait();  // the worker may still be running it; it holds its own reference to the result
  delete f;
}
