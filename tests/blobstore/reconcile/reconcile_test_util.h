// Helpers for the reconciler tests: a scratch directory, a ReuseScorer that answers from a table,
// and a poll-with-deadline for conditions a background thread brings about.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "blobstore/base/mutex.h"
#include "blobstore/base/prefetch.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::reconcile::testing {

using shadowfs::testing::TempDir;

// P(reuse) per key; keys not in the table are cold.
class TableScorer final : public base::ReuseScorer {
 public:
  void Set(const std::string& key, double p) {
    base::MutexLock l(&mu_);
    table_[key] = p;
  }
  double ReuseProbability(std::string_view key, base::WallTime) override {
    base::MutexLock l(&mu_);
    auto it = table_.find(std::string(key));
    return it == table_.end() ? 0.0 : it->second;
  }

 private:
  base::Mutex mu_;
  std::map<std::string, double> table_ GUARDED_BY(mu_);
};

// Polls `done` until it holds or `limit` passes (real time); true if it held.
inline bool PollUntil(const std::function<bool()>& done,
                      std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace shadowfs::reconcile::testing
