#include "predict/experts/all.h"

#include <algorithm>

#include "predict/experts/change_rate.h"
#include "predict/experts/epoch.h"
#include "predict/experts/periodic.h"
#include "predict/experts/recency.h"
#include "predict/experts/sequential.h"
#include "predict/experts/sibling.h"
#include "predict/experts/successor.h"

namespace shadowfs::predict {

std::vector<std::unique_ptr<Expert>> MakeExperts(const ExpertsOptions& options, KeyTable* keys,
                                                 NamespaceView* names) {
  // A predicted open of a large file asks for its first sequential window only; the sequential
  // expert takes over once it is read.
  const experts::FileRangeRule range{8 * options.sequential_initial, options.sequential_initial};
  std::vector<std::unique_ptr<Expert>> out;

  SequentialExpert::Options sequential;
  sequential.initial = options.sequential_initial;
  sequential.max = options.sequential_max;
  sequential.horizon = options.horizon;
  out.push_back(std::make_unique<SequentialExpert>(sequential, keys));

  SuccessorExpert::Options successor;
  // Contexts scale with the keys tracked (a quarter of a context per key, 56 bytes each).
  successor.max_contexts = std::clamp<size_t>(keys->capacity() / 4, 4096, 1 << 20);
  successor.max_candidates = options.max_candidates;
  successor.horizon = options.horizon;
  successor.range = range;
  out.push_back(std::make_unique<SuccessorExpert>(successor, keys));

  SiblingExpert::Options sibling;
  sibling.max_candidates = options.max_candidates;
  sibling.horizon = options.horizon;
  sibling.range = range;
  out.push_back(std::make_unique<SiblingExpert>(sibling, keys, names));

  EpochExpert::Options epoch;
  epoch.max_candidates = options.max_candidates;
  epoch.horizon = options.horizon;
  epoch.range = range;
  out.push_back(std::make_unique<EpochExpert>(epoch, keys, names));

  RecencyExpert::Options recency;
  recency.half_life = options.horizon;
  out.push_back(std::make_unique<RecencyExpert>(recency));

  PeriodicExpert::Options periodic;
  periodic.max_candidates = options.max_candidates;
  periodic.horizon = options.horizon;
  // The lead may exceed the horizon: the engine labels and accounts a proposal from the time
  // its read is expected (Candidate::expected_read), not from when it was made.
  periodic.range = range;
  out.push_back(std::make_unique<PeriodicExpert>(periodic, keys, names));

  ChangeRateExpert::Options change_rate;
  change_rate.max_candidates = options.max_candidates;
  change_rate.horizon = options.horizon;
  change_rate.range = range;
  out.push_back(std::make_unique<ChangeRateExpert>(change_rate, keys));
  return out;
}

}  // namespace shadowfs::predict
