// SuccessorExpert: what is opened next, from what was opened just before, per process name. A
// bounded multi-order (1-3) context model over opens (Access::first_read): the context is the
// process name and the last 1, 2 or 3 keys that process opened; each context keeps its top
// `kTop` successors with counts. Predictions blend the orders PPM-style (method C escapes: the
// highest order with support speaks first, lower orders share what it leaves), then follow the
// most probable successor `lookahead` steps ahead (an include chain, by default 16 steps: a
// compiler reads a header faster than a prefetch arrives), multiplying probabilities.
// Keying by process keeps a compiler's include chain and a shell's `ls` apart.
//
// Score(key) is the probability last proposed for `key` (within the horizon), else 0.
// Bounds: at most `max_contexts` contexts (least recently used replaced) and `max_processes`
// histories. Not thread-safe (predict/expert.h).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "predict/expert.h"
#include "predict/experts/assoc_table.h"
#include "predict/experts/expert_util.h"
#include "predict/key_table.h"

namespace shadowfs::predict {

class SuccessorExpert final : public Expert {
 public:
  static constexpr size_t kTop = 4;
  static constexpr size_t kMaxOrder = 3;

  struct Options {
    size_t max_contexts = 1 << 17;
    size_t max_processes = 1024;
    // Steps followed along the most probable chain (at most kMaxLookahead). A compiler reads a
    // header in a fraction of a millisecond and a prefetch takes a round trip, so a chain must be
    // fetched well ahead of the reader to be ready in time.
    size_t lookahead = 16;
    double min_score = 0.05;  // proposals below this are dropped
    size_t max_candidates = 16;
    std::chrono::seconds horizon{600};
    experts::FileRangeRule range;
  };
  SuccessorExpert(Options options, KeyTable* keys);

  std::string_view name() const override { return "successor"; }
  void Observe(const Access& access, std::vector<Candidate>* out) override;
  double Score(KeyId key, base::WallTime now) const override;
  void Forget(const std::vector<KeyId>& ids) override;
  size_t MemoryBytes() const override;
  std::string Save(const std::function<std::string_view(KeyId)>& name_of) const override;
  base::Status Load(std::string_view blob,
                    const std::function<KeyId(std::string_view)>& intern) override;

 private:
  using History = std::array<KeyId, kMaxOrder>;  // [0] most recent; kNoKey when shorter
  struct Context {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    KeyId process = kNoKey;
    History history{kNoKey, kNoKey, kNoKey};
    std::array<KeyId, kTop> next{kNoKey, kNoKey, kNoKey, kNoKey};
    std::array<uint16_t, kTop> count{};
    uint16_t total = 0;
    uint8_t order = 0;
  };
  struct ProcessHistory {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    History recent{kNoKey, kNoKey, kNoKey};
  };
  struct Guess {
    KeyId key;
    double p;
  };
  static constexpr size_t kMaxGuesses = kTop * kMaxOrder;
  static constexpr size_t kMaxLookahead = 32;

  static uint64_t ContextTag(KeyId process, const History& h, size_t order);
  static void AddSuccessor(Context* c, KeyId key);
  Context* InsertContext(KeyId process, const History& h, size_t order);
  // The blended distribution of the next open after `h`; returns how many guesses.
  size_t Predict(KeyId process, const History& h, std::array<Guess, kMaxGuesses>* out) const;

  Options options_;
  KeyTable* keys_;
  experts::AssocTable<Context> contexts_;
  experts::AssocTable<ProcessHistory> processes_;
  experts::RecentScores recent_;
};

}  // namespace shadowfs::predict
