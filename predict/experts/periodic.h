// PeriodicExpert: jobs that come back at the same time. Per directory "template" (the directory
// with any date in its path masked: `etl/date=*/`), it records one occurrence per day (the first
// read that day: day and second of day in UTC, and the date in the path). When the last two
// occurrences are g days apart (1..7: daily to weekly) at about the same time of day
// (`tolerance`), it predicts the next occurrence g days later; if the path holds a date, the
// predicted directory is the path with its date advanced as it advanced between the last two
// occurrences (`date=2026-11-21/` then `date=2026-11-22/` predicts `date=2026-11-23/`). Tick,
// `lead` before the predicted time, lists that directory through the NamespaceView and proposes
// its members (at most `max_candidates` per Tick, the rest on the following Ticks).
// Dates recognised: YYYY-MM-DD and YYYYMMDD (a run of exactly 8 digits that is a valid date).
//
// Score(key): the confidence of the prediction when `key` is in the predicted directory and the
// occurrence is within the horizon. Bounds: `max_prefixes` templates (least recently read
// replaced), `max_pending` queued proposals. Not thread-safe (predict/expert.h).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "predict/expert.h"
#include "predict/experts/assoc_table.h"
#include "predict/experts/expert_util.h"
#include "predict/experts/path_date.h"
#include "predict/key_table.h"
#include "predict/namespace_view.h"

namespace shadowfs::predict {

class PeriodicExpert final : public Expert {
 public:
  static constexpr size_t kOccurrences = 8;

  struct Options {
    std::chrono::seconds tolerance{30 * 60};  // "about the same time of day"
    // Propose this long before the occurrence: the job's input should be in the store before it
    // starts, and an hour is room for a large partition and for a coarse Tick.
    std::chrono::seconds lead{60 * 60};
    std::chrono::seconds retry{60};  // a failed or empty listing is retried after this
    size_t max_prefixes = 4096;
    size_t max_members = 1024;  // listed per predicted directory
    size_t max_pending = 16384;
    size_t max_candidates = 16;
    std::chrono::seconds horizon{600};
    experts::FileRangeRule range;
  };
  PeriodicExpert(Options options, KeyTable* keys, NamespaceView* names);

  std::string_view name() const override { return "periodic"; }
  void Observe(const Access& access, std::vector<Candidate>* out) override;
  void Tick(base::WallTime now, std::vector<Candidate>* out) override;
  double Score(KeyId key, base::WallTime now) const override;
  void Forget(const std::vector<KeyId>& ids) override;
  size_t MemoryBytes() const override;
  std::string Save(const std::function<std::string_view(KeyId)>& name_of) const override;
  base::Status Load(std::string_view blob,
                    const std::function<KeyId(std::string_view)>& intern) override;

 private:
  static constexpr int32_t kNoDate = INT32_MIN;
  struct Prefix {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    std::string dir;                          // of the latest occurrence
    std::array<int32_t, kOccurrences> day{};  // newest first
    std::array<int32_t, kOccurrences> second{};
    std::array<int32_t, kOccurrences> path_day{};
    uint8_t n = 0;
    // The prediction, from the occurrences (0: none).
    int64_t next = 0;
    int32_t next_path_day = kNoDate;
    float confidence = 0;
    int64_t fired_for = 0;  // the `next` already proposed
    int64_t retry_at = 0;
  };
  struct Pending {
    KeyId key;
    float score;
    int64_t expected;
  };
  void Predict(Prefix* p) const;
  void Fire(Prefix* p, int64_t now);

  Options options_;
  KeyTable* keys_;
  NamespaceView* names_;
  experts::AssocTable<Prefix> prefixes_;
  std::deque<Pending> pending_;
};

}  // namespace shadowfs::predict
