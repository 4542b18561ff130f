// SequentialExpert: intra-file streams. Per open stream (key + process), a read that starts where
// the previous one ended (or at offset 0 of a fresh stream) is sequential; then it proposes the
// next window of the same file, ahead of the reader, with the window doubling from `initial` to
// `max` as the run continues and falling back to `initial` on a random read. It never proposes
// another file, so a scan of many files once each makes only this expert fire.
//
// Bounds: at most `max_streams` streams (the least recently used is dropped). Its state is per
// open file and short-lived, so Save persists nothing but the format header.
// Not thread-safe (predict/expert.h).
#pragma once

#include <chrono>
#include <cstdint>

#include "predict/expert.h"
#include "predict/experts/assoc_table.h"
#include "predict/key_table.h"

namespace shadowfs::predict {

class SequentialExpert final : public Expert {
 public:
  struct Options {
    uint64_t initial = 1ull << 20;
    uint64_t max = 64ull << 20;
    size_t max_streams = 4096;
    std::chrono::seconds horizon{600};
  };
  SequentialExpert(Options options, KeyTable* keys);

  std::string_view name() const override { return "sequential"; }
  void Observe(const Access& access, std::vector<Candidate>* out) override;
  double Score(KeyId key, base::WallTime now) const override;
  void Forget(const std::vector<KeyId>& ids) override;
  size_t MemoryBytes() const override;
  std::string Save(const std::function<std::string_view(KeyId)>& name_of) const override;
  base::Status Load(std::string_view blob,
                    const std::function<KeyId(std::string_view)>& intern) override;

 private:
  struct Stream {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    KeyId key = kNoKey;
    uint64_t next_offset = 0;  // where a sequential read would start
    uint64_t ahead = 0;        // proposed up to here
    uint64_t window = 0;
    uint32_t run = 0;       // sequential reads in a row
    bool proposed = false;  // a window was proposed in this run
    int64_t last_seconds = 0;
  };
  // The stream most recently read per key, for Score (which has no process).
  struct KeyStream {
    uint64_t tag = 0;
    uint32_t stamp = 0;
    uint64_t stream_tag = 0;
  };
  static double RunScore(uint32_t run);

  Options options_;
  KeyTable* keys_;
  experts::AssocTable<Stream> streams_;
  experts::AssocTable<KeyStream> by_key_;
};

}  // namespace shadowfs::predict
