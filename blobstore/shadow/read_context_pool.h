// ReadContextPool: the ReadContexts (Use::kServing) of one reader, an open file, that several
// threads read through at once. Take prefers the context whose cached chunk holds the byte a read
// starts at: the kernel's readahead requests are not chunk-aligned (256 KiB, 512 KiB, then 1 MiB
// requests from 768 KiB on), so each request starts in the chunk the previous one ended in, which
// that request's context has already decoded and verified. Taking any other context would decode
// and verify the chunk a second time.
//
// Thread-safe; mu_ is a leaf lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "blobstore/base/mutex.h"
#include "blobstore/shadow/shadow_file.h"

namespace shadowfs::shadow {

class ReadContextPool {
 public:
  explicit ReadContextPool(size_t max_idle = 4) : max_idle_(max_idle) {}

  // A context for a read starting at byte `offset` of the blob: the idle one whose cached chunk
  // holds it, else the most recently returned one, else a new one.
  std::unique_ptr<ReadContext> Take(uint64_t offset) EXCLUDES(mu_);
  // Keeps `ctx` for later reads, unless max_idle contexts are idle already.
  void Return(std::unique_ptr<ReadContext> ctx) EXCLUDES(mu_);

 private:
  const size_t max_idle_;
  base::Mutex mu_;
  std::vector<std::unique_ptr<ReadContext>> idle_ GUARDED_BY(mu_);
};

}  // namespace shadowfs::shadow
