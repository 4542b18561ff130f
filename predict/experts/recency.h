// RecencyExpert: decayed recency and frequency per key. Each read adds 1 to the key's count,
// which halves every `half_life` (by default the horizon); Score is 1 - 2^-count, the chance of
// another read within the horizon if reads came as a Poisson stream at the decayed rate (one read
// just now: 0.5). It proposes nothing: it is a feature for the learner and the eviction fallback.
//
// Bounds: 8 bytes per key id, in a vector indexed by id. Not thread-safe (predict/expert.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "predict/expert.h"

namespace shadowfs::predict {

class RecencyExpert final : public Expert {
 public:
  struct Options {
    std::chrono::seconds half_life{600};
  };
  explicit RecencyExpert(Options options);

  std::string_view name() const override { return "recency"; }
  void Observe(const Access& access, std::vector<Candidate>* out) override;
  double Score(KeyId key, base::WallTime now) const override;
  void Forget(const std::vector<KeyId>& ids) override;
  size_t MemoryBytes() const override;
  std::string Save(const std::function<std::string_view(KeyId)>& name_of) const override;
  base::Status Load(std::string_view blob,
                    const std::function<KeyId(std::string_view)>& intern) override;

  // The decayed count of reads of `key` at `now`.
  double Count(KeyId key, base::WallTime now) const;

 private:
  struct Entry {
    float count = 0;
    uint32_t last = 0;  // seconds since base_
  };
  void Add(KeyId key, int64_t seconds, double count);

  Options options_;
  int64_t base_ = -1;  // unix seconds of the first read seen
  std::vector<Entry> entries_;
};

}  // namespace shadowfs::predict
