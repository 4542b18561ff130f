// ChangeRateExpert: how often each key's content changes. It remembers a 32-bit hash of the ETag
// each key was last read with; a read with another ETag is a change. For keys that changed, it
// keeps the time of the last change, the mean interval between changes, and a decayed count of
// reads. Score(key) is the probability that the key changes within the horizon (a Poisson rate
// from the mean interval; a small prior after a single change), which drives the shadow's
// confidence decay. Tick proposes a refresh of a key that is read often (decayed reads >=
// `min_reads`) right after its predicted change time (last change + mean interval), once per
// predicted change. Observe proposes nothing.
//
// Bounds: 4 bytes per key id (the ETag hash) plus at most `max_changing` keys with change
// history (least recently read replaced). Not thread-safe (predict/expert.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "predict/expert.h"
#include "predict/experts/assoc_table.h"
#include "predict/experts/expert_util.h"
#include "predict/key_table.h"

namespace shadowfs::predict {

class ChangeRateExpert final : public Expert {
 public:
  struct Options {
    size_t max_changing = 16384;
    double min_reads = 1.5;
    double single_change_prior = 0.1;
    size_t max_candidates = 16;
    std::chrono::seconds horizon{600};
    experts::FileRangeRule range;
  };
  ChangeRateExpert(Options options, KeyTable* keys);

  std::string_view name() const override { return "change_rate"; }
  void Observe(const Access& access, std::vector<Candidate>* out) override;
  void Tick(base::WallTime now, std::vector<Candidate>* out) override;
  double Score(KeyId key, base::WallTime now) const override;
  void Forget(const std::vector<KeyId>& ids) override;
  size_t MemoryBytes() const override;
  std::string Save(const std::function<std::string_view(KeyId)>& name_of) const override;
  base::Status Load(std::string_view blob,
                    const std::function<KeyId(std::string_view)>& intern) override;

 private:
  struct Changing {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    KeyId key = kNoKey;
    uint32_t changes = 0;
    int64_t last_change = 0;
    double mean_interval = 0;  // seconds; 0 until two changes
    double reads = 0;          // decayed with a half-life of the horizon
    int64_t last_read = 0;
    int64_t refreshed_for = 0;  // the predicted change a refresh was proposed for
  };
  static uint64_t Tag(KeyId key) { return experts::Mix64(0xc4a9000000000ull + key); }
  double DecayedReads(const Changing& c, int64_t now) const;

  Options options_;
  KeyTable* keys_;
  std::vector<uint32_t> etag_hash_;  // by id; 0 unknown
  experts::AssocTable<Changing> changing_;
};

}  // namespace shadowfs::predict
