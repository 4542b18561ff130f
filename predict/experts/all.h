// The engine's set of experts (predict/expert.h), built in one place so that the engine, the
// offline replay and the tests all run the same models with the same options.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "predict/expert.h"
#include "predict/key_table.h"
#include "predict/namespace_view.h"

namespace shadowfs::predict {

struct ExpertsOptions {
  std::chrono::seconds horizon{600};  // the engine's horizon: scores are "read within this"
  // Sequential window: starts here, doubles on sequential reads up to the maximum.
  uint64_t sequential_initial = 1ull << 20;
  uint64_t sequential_max = 64ull << 20;
  // Candidates one expert may propose after one read (bounds per-access cost).
  size_t max_candidates = 16;
};

// In a fixed order: sequential, successor, sibling, epoch, recency, periodic, change_rate.
// `keys` (the engine's interned keys and their sizes/ETags) and `names` (may be null) are
// borrowed for the experts' lifetime.
std::vector<std::unique_ptr<Expert>> MakeExperts(const ExpertsOptions& options, KeyTable* keys,
                                                 NamespaceView* names);

}  // namespace shadowfs::predict
