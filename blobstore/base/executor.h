// Executor: runs tasks on other threads. ThreadPool is a fixed set of named threads with a bounded
// queue; Submit blocks while the queue is full (backpressure, never unbounded memory). The
// destructor finishes queued tasks and joins every thread. Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "blobstore/base/mutex.h"

namespace shadowfs::base {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Submit(std::function<void()> task) = 0;
};

class ThreadPool final : public Executor {
 public:
  // name: at most 12 characters; threads are named "name-N".
  ThreadPool(const std::string& name, int threads, size_t max_queued = 1024);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task) override EXCLUDES(mu_);
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void Run();

  const size_t max_queued_;
  Mutex mu_;
  CondVar work_cv_;
  CondVar space_cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Names the calling thread (visible in top, gdb, /proc). Truncated to 15 characters.
void SetThreadName(const std::string& name);

}  // namespace shadowfs::base
