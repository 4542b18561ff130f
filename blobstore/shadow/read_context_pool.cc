#include "blobstore/shadow/read_context_pool.h"

#include <algorithm>

namespace shadowfs::shadow {

std::unique_ptr<ReadContext> ReadContextPool::Take(uint64_t offset) {
  base::MutexLock lock(&mu_);
  if (idle_.empty()) return std::make_unique<ReadContext>(ReadContext::Use::kServing);
  auto it = std::find_if(idle_.begin(), idle_.end(),
                         [offset](const auto& c) { return c->HoldsOffset(offset); });
  if (it == idle_.end()) it = idle_.end() - 1;
  std::unique_ptr<ReadContext> ctx = std::move(*it);
  idle_.erase(it);
  return ctx;
}

void ReadContextPool::Return(std::unique_ptr<ReadContext> ctx) {
  base::MutexLock lock(&mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(ctx));
}

}  // namespace shadowfs::shadow
