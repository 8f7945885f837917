// gam_generator_sample_async and gam_future_*: one worker thread owned by the engine runs sample
// calls while the caller's thread runs others (on a 2-core CPU the generator's decoder does not
// scale past one thread, so sampling beside screening is nearly free; bench/NOTES.md). The worker
// starts on first use and is joined when the library unloads.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "internal.h"
#include "model.h"

struct gam_future {
  std::future<at::Tensor> result;
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
    gam::need_role(g, GAM_ROLE_GENERATOR, "sample");
    at::Tensor zt = gam::check_z(g, z);
    at::Tensor yt = gam::check_labels(g, y, zt.size(0));
    at::Tensor a = gam::attrs_or_zeros(g, attrs, zt.size(0), zt.device());
    auto task = std::make_shared<std::packaged_task<at::Tensor()>>([g, zt, yt, a] {
      torch::NoGradGuard ng;
      return gam::call_tensor(g, "sample", {zt, yt, a});
    });
    auto f = std::make_unique<gam_future>();
    f->result = task->get_future();
    if (zt.is_cuda()) {
      (*task)();  // the GPU overlaps on its own; keep the caller's device and stream
    } else {
      worker().post([task] { (*task)(); });
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
    *out = gam::wrap(f->result.get());  // rethrows the work's exception, which guard turns into a status
  });
}

GAM_EXPORT void gam_future_destroy(gam_future *f) {
  if (f == nullptr) return;
  if (!f->waited && f->result.valid()) f->result.wait();
  delete f;
}
