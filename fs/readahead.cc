#include "fs/readahead.h"

#include <algorithm>
#include <cstring>

namespace shadowfs::fs {

using base::Result;
using base::Status;

uint64_t ReadaheadBudget::Acquire(uint64_t want) {
  base::MutexLock lock(&mu_);
  uint64_t got = std::min(want, limit_ - std::min(limit_, used_));
  used_ += got;
  return got;
}

void ReadaheadBudget::Release(uint64_t bytes) {
  base::MutexLock lock(&mu_);
  used_ -= std::min(used_, bytes);
}

uint64_t ReadaheadBudget::in_use() const {
  base::MutexLock lock(&mu_);
  return used_;
}

Readahead::Readahead(ReadaheadBudget* budget, base::Executor* executor, uint64_t initial,
                     uint64_t max, uint64_t align, Fetch fetch, OnFetched on_fetched)
    : budget_(budget),
      executor_(executor),
      initial_(std::max<uint64_t>(initial, 1)),
      max_(std::max(max, initial_)),
      align_(std::max<uint64_t>(align, 1)),
      fetch_(std::move(fetch)),
      on_fetched_(std::move(on_fetched)),
      window_(initial_) {}

Readahead::~Readahead() {
  base::MutexLock lock(&mu_);
  while (tasks_running_ > 0) done_cv_.Wait(&mu_);
}

void Readahead::Reset() {
  base::MutexLock lock(&mu_);
  current_.reset();
  inflight_.reset();  // its task finishes on its own and drops the buffer
  window_ = initial_;
  next_offset_ = 0;
}

uint64_t Readahead::window() const {
  base::MutexLock lock(&mu_);
  return window_;
}

void Readahead::StartPrefetch(uint64_t offset, uint64_t object_size, Tasks* tasks) {
  if (inflight_ || offset >= object_size) return;
  uint64_t length = std::min(window_, object_size - offset);
  uint64_t granted = budget_->Acquire(length);
  if (granted < length) {  // the mount's readahead memory is spent: read just what is asked
    budget_->Release(granted);
    return;
  }
  auto buffer = std::make_shared<Buffer>();
  buffer->offset = offset;
  buffer->length = length;
  buffer->charge = std::make_unique<Charge>(budget_, granted);
  inflight_ = buffer;
  tasks->push_back([this, buffer] {
    Result<std::string> data = fetch_(buffer->offset, buffer->length);
    {
      base::MutexLock lock(&mu_);
      buffer->done = true;
      if (data.ok()) {
        buffer->data = std::move(data).value();
      } else {
        buffer->status = data.status();
      }
      done_cv_.SignalAll();
    }
    // Nobody writes data once done is set, so reading it here unlocked is safe.
    if (buffer->status.ok() && on_fetched_) on_fetched_(buffer->offset, buffer->data);
  });
}

Result<size_t> Readahead::Read(uint64_t offset, std::span<char> out, uint64_t object_size) {
  if (offset >= object_size || out.empty()) return size_t{0};
  Tasks tasks;
  mu_.Lock();
  Result<size_t> result = ReadLocked(offset, out, object_size, &tasks);
  tasks_running_ += tasks.size();
  mu_.Unlock();
  // Submitted unlocked: a full queue blocks, and the running task needs mu_ to finish.
  for (auto& task : tasks) {
    executor_->Submit([this, task = std::move(task)] {
      task();
      base::MutexLock lock(&mu_);
      --tasks_running_;
      done_cv_.SignalAll();
    });
  }
  return result;
}

Result<size_t> Readahead::ReadLocked(uint64_t offset, std::span<char> out, uint64_t object_size,
                                     Tasks* tasks) {
  const uint64_t n = std::min<uint64_t>(out.size(), object_size - offset);
  const bool buffered =
      (current_ && current_->Covers(offset)) || (inflight_ && inflight_->Covers(offset));
  const bool sequential = offset == next_offset_ || buffered;
  if (!sequential) {
    window_ = initial_;
    current_.reset();
    inflight_.reset();
  }
  next_offset_ = offset + n;
  uint64_t copied = 0;
  while (copied < n) {
    const uint64_t pos = offset + copied;
    if (current_ && current_->Covers(pos)) {
      uint64_t avail = current_->offset + current_->data.size();
      if (pos >= avail) return Status::IOError("the primary returned a short body");
      uint64_t take = std::min(n - copied, avail - pos);
      std::memcpy(out.data() + copied, current_->data.data() + (pos - current_->offset), take);
      copied += take;
      continue;
    }
    if (inflight_ && inflight_->Covers(pos)) {
      std::shared_ptr<Buffer> b = inflight_;
      while (!b->done) done_cv_.Wait(&mu_);
      if (inflight_ == b) inflight_.reset();
      if (!b->status.ok()) return b->status;
      current_ = b;
      continue;
    }
    // Nothing buffered covers pos: fetch a window from the chunk boundary below it (so that
    // read-through can store whole chunks), or just what is asked if the budget is spent.
    const uint64_t want = n - copied;
    const uint64_t start = pos / align_ * align_;
    const uint64_t end = std::min(object_size, std::max(pos + want, start + window_));
    uint64_t granted = budget_->Acquire(end - start);
    if (granted < end - start) {
      budget_->Release(granted);
      mu_.Unlock();
      Result<std::string> data = fetch_(pos, want);
      mu_.Lock();
      if (!data.ok()) return data.status();
      if (data->size() < want) return Status::IOError("the primary returned a short body");
      std::memcpy(out.data() + copied, data->data(), want);
      copied += want;
      continue;
    }
    auto b = std::make_shared<Buffer>();
    b->offset = start;
    b->length = end - start;
    b->charge = std::make_unique<Charge>(budget_, granted);
    mu_.Unlock();
    Result<std::string> data = fetch_(start, end - start);
    mu_.Lock();
    if (!data.ok()) return data.status();
    b->data = std::move(data).value();
    b->done = true;
    current_ = b;
    if (on_fetched_) tasks->push_back([this, b] { on_fetched_(b->offset, b->data); });
  }
  // A sequential reader gets the next window fetched while it consumes this one; the window
  // grows each time, so the stream catches up with the network's bandwidth-delay product.
  if (sequential && current_ && !inflight_) {
    const uint64_t next = current_->offset + current_->length;
    if (next < object_size) {
      window_ = std::min(window_ * 2, max_);
      StartPrefetch(next, object_size, tasks);
    }
  }
  return static_cast<size_t>(n);
}

}  // namespace shadowfs::fs
