#include "blobstore/base/executor.h"

#include <pthread.h>

namespace shadowfs::base {

void SetThreadName(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

ThreadPool::ThreadPool(const std::string& name, int threads, size_t max_queued)
    : max_queued_(max_queued == 0 ? 1 : max_queued) {
  if (threads < 1) threads = 1;
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, thread_name = name + "-" + std::to_string(i)] {
      SetThreadName(thread_name);
      Run();
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  work_cv_.SignalAll();
  space_cv_.SignalAll();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  MutexLock lock(&mu_);
  while (queue_.size() >= max_queued_ && !stopping_) space_cv_.Wait(&mu_);
  queue_.push_back(std::move(task));
  work_cv_.Signal();
}

void ThreadPool::Run() {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) work_cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and everything queued has run
      task = std::move(queue_.front());
      queue_.pop_front();
      space_cv_.Signal();
    }
    task();
  }
}

}  // namespace shadowfs::base
