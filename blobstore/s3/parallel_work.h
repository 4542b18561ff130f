// ParallelWork: runs tasks 0..count-1 on the calling thread plus up to parallelism-1 helpers on
// an executor, stopping at the first failure (tasks already running finish; no new ones start).
// The caller always takes part, so the work completes even when every executor thread is busy,
// and a helper that starts only after the work is over returns without touching it (the state it
// shares is reference-counted; the task is only called for a claimed index). Start() and
// Finish() are called by the owning thread; tasks run on any thread and must be thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "blobstore/base/executor.h"
#include "blobstore/base/status.h"

namespace shadowfs::s3 {

class ParallelWork {
 public:
  using Task = std::function<base::Status(size_t index)>;

  ParallelWork(base::Executor* executor, size_t count, int parallelism, Task task);
  // Cancels what has not started and waits for what has, if Finish() was not called.
  ~ParallelWork();
  ParallelWork(const ParallelWork&) = delete;
  ParallelWork& operator=(const ParallelWork&) = delete;

  // Hands helpers to the executor and returns; the caller may do other work meanwhile.
  void Start();
  // Works on the remaining tasks on this thread, waits for the helpers' tasks, and returns the
  // first failure (OK if every task succeeded).
  base::Status Finish();

 private:
  struct State;
  base::Executor* const executor_;
  const int parallelism_;
  std::shared_ptr<State> state_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace shadowfs::s3
