// Readahead: the adaptive readahead window of one open file's reads from the primary (DESIGN.md
// section 4). The window starts at `initial`, doubles on each sequential read that reaches past
// what is buffered (up to `max`) and resets on a random access. While a sequential reader
// consumes the current window, the next one is fetched in the background, so a reader issuing
// FUSE-sized requests streams at network speed. Buffers are charged to the mount's
// ReadaheadBudget; when it is exhausted a read fetches exactly what was asked. Every buffer
// fetched is offered to `on_fetched` (read-through into the shadow) on a background thread.
//
// Thread-safe. mu_ is a leaf lock, never held across a fetch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "blobstore/base/executor.h"
#include "blobstore/base/mutex.h"
#include "blobstore/base/result.h"
#include "fs/file_data.h"

namespace shadowfs::fs {

class Readahead {
 public:
  // Fetches [offset, offset + length) of the object (fewer bytes only at its end).
  using Fetch = std::function<base::Result<std::string>(uint64_t offset, uint64_t length)>;
  // Sees every window fetched (offset aligned to `align`), off the reader's path.
  using OnFetched = std::function<void(uint64_t offset, const std::string& data)>;

  // Background fetches and fills run on `executor` (shared, outlives this object).
  Readahead(ReadaheadBudget* budget, base::Executor* executor, uint64_t initial, uint64_t max,
            uint64_t align, Fetch fetch, OnFetched on_fetched);
  ~Readahead();  // waits for this file's background work on the executor
  Readahead(const Readahead&) = delete;
  Readahead& operator=(const Readahead&) = delete;

  // Fills `out` from `offset` of an object of `object_size` bytes; fewer only at its end.
  base::Result<size_t> Read(uint64_t offset, std::span<char> out, uint64_t object_size)
      EXCLUDES(mu_);
  // Forgets buffered data (the version changed).
  void Reset() EXCLUDES(mu_);
  uint64_t window() const EXCLUDES(mu_);

 private:
  // Bytes held against the budget, given back on destruction.
  struct Charge {
    Charge(ReadaheadBudget* b, uint64_t n) : budget(b), bytes(n) {}
    ~Charge() {
      if (bytes) budget->Release(bytes);
    }
    ReadaheadBudget* budget;
    uint64_t bytes;
  };
  struct Buffer {
    uint64_t offset = 0;
    uint64_t length = 0;  // asked for; data may be shorter at the end of the object
    bool done = false;
    base::Status status;
    std::string data;
    std::unique_ptr<Charge> charge;
    bool Covers(uint64_t pos) const { return pos >= offset && pos < offset + length; }
  };

  using Tasks = std::vector<std::function<void()>>;
  // Both add the background work to *tasks, which the caller submits after unlocking.
  void StartPrefetch(uint64_t offset, uint64_t object_size, Tasks* tasks) REQUIRES(mu_);
  base::Result<size_t> ReadLocked(uint64_t offset, std::span<char> out, uint64_t object_size,
                                  Tasks* tasks) REQUIRES(mu_);

  ReadaheadBudget* const budget_;
  base::Executor* const executor_;
  const uint64_t initial_;
  const uint64_t max_;
  const uint64_t align_;
  const Fetch fetch_;
  const OnFetched on_fetched_;

  mutable base::Mutex mu_;
  base::CondVar done_cv_;  // a background fetch or task finished
  uint64_t window_ GUARDED_BY(mu_);
  uint64_t next_offset_ GUARDED_BY(mu_) = 0;  // where a sequential read would start
  std::shared_ptr<Buffer> current_ GUARDED_BY(mu_);
  std::shared_ptr<Buffer> inflight_ GUARDED_BY(mu_);  // the background fetch, if any
  // Tasks of this file submitted to the executor and not yet finished; the destructor waits for
  // zero, since they use this object.
  uint64_t tasks_running_ GUARDED_BY(mu_) = 0;
};

}  // namespace shadowfs::fs
