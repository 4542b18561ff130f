#include "blobstore/s3/parallel_work.h"

#include <algorithm>
#include <exception>

#include "blobstore/base/mutex.h"

namespace shadowfs::s3 {

using base::Status;

struct ParallelWork::State {
  State(size_t count, Task task) : count(count), task(std::move(task)) {}

  // Claims and runs tasks until none are left or one has failed.
  void Work() {
    for (;;) {
      size_t index;
      {
        base::MutexLock lock(&mu);
        if (stopped || !first_error.ok() || next >= count) return;
        index = next++;
        ++active;
      }
      Status st;
      try {
        st = task(index);
      } catch (const std::exception& e) {
        st = Status::IOError(std::string("parallel task failed: ") + e.what());
      }
      base::MutexLock lock(&mu);
      --active;
      if (!st.ok() && first_error.ok()) first_error = std::move(st);
      if (active == 0) idle.SignalAll();
    }
  }

  const size_t count;
  const Task task;
  base::Mutex mu;  // leaf lock; never held while a task runs
  base::CondVar idle;
  size_t next GUARDED_BY(mu) = 0;
  int active GUARDED_BY(mu) = 0;
  bool stopped GUARDED_BY(mu) = false;
  Status first_error GUARDED_BY(mu);
};

ParallelWork::ParallelWork(base::Executor* executor, size_t count, int parallelism, Task task)
    : executor_(executor),
      parallelism_(std::max(1, parallelism)),
      state_(std::make_shared<State>(count, std::move(task))) {}

ParallelWork::~ParallelWork() {
  if (finished_) return;
  {
    base::MutexLock lock(&state_->mu);
    state_->stopped = true;
  }
  (void)Finish();
}

void ParallelWork::Start() {
  if (started_) return;
  started_ = true;
  if (executor_ == nullptr) return;
  const size_t helpers = std::min<size_t>(static_cast<size_t>(parallelism_ - 1),
                                          state_->count > 0 ? state_->count - 1 : 0);
  for (size_t i = 0; i < helpers; ++i) {
    std::shared_ptr<State> state = state_;
    executor_->Submit([state] { state->Work(); });
  }
}

Status ParallelWork::Finish() {
  Start();
  finished_ = true;
  state_->Work();
  base::MutexLock lock(&state_->mu);
  while (state_->active > 0) state_->idle.Wait(&state_->mu);
  // Helpers that start from now on find nothing to do.
  state_->stopped = true;
  return state_->first_error;
}

}  // namespace shadowfs::s3
