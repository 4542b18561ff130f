// LabelQueue: the predictions waiting for their label (the horizon rule of predict/engine.h). A
// prediction (key, range, probability, features) is labelled 1 if a read of its key overlapped
// the range before its deadline, 0 if none did; the label is given at the deadline, for hits and
// misses alike, so that the learner sees labels in the order the predictions were made (giving
// hits at once and misses a horizon later would feed it only positives at first, and it would
// learn that everything is read). The engine sets each deadline (the horizon, or less: see
// engine.cc). Bounded: at most `per_key` open predictions per key (a new one replaces that key's
// oldest, unlabelled) and `capacity` in all (the oldest is dropped).
//
// Not thread-safe: owned by the engine, called under its mutex.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>
#include <vector>

#include "blobstore/base/clock.h"
#include "predict/learner.h"
#include "predict/types.h"

namespace shadowfs::predict {

// A prediction's features while it waits for its label: 8 bits each (every feature is in
// [0, 1]: the experts' scores, scaled log size, recency, agreement), inline rather than on the
// heap. A busy engine keeps tens of thousands of predictions open; floats in a vector cost
// about 80 bytes more each. Features beyond kMax are dropped (the learner reads missing ones as
// 0).
class PackedFeatures {
 public:
  static constexpr size_t kMax = 16;
  PackedFeatures() = default;
  explicit PackedFeatures(const Features& x);
  void Unpack(Features* x) const;  // reuses x's storage
  size_t size() const { return n_; }
  float operator[](size_t i) const { return i < n_ ? static_cast<float>(q_[i]) / 255.0f : 0.0f; }

 private:
  std::array<uint8_t, kMax> q_{};
  uint8_t n_ = 0;
};

class LabelQueue {
 public:
  struct Pending {
    KeyId key = kNoKey;
    uint64_t offset = 0;
    uint64_t length = 0;  // 0: to the end
    float probability = 0;
    bool open = true;
    bool hit = false;  // read before the deadline
    base::WallTime created{};
    base::WallTime deadline{};
    PackedFeatures features;
  };
  using LabelFn = std::function<void(const Pending& p, bool label)>;
  // Called for each prediction a read proves right, with how long after the prediction it came.
  using HitFn = std::function<void(const Pending& p, std::chrono::nanoseconds delay)>;

  LabelQueue(size_t capacity, size_t per_key);

  // True if an open prediction for `key`, not yet proven right, covers [offset, offset + length).
  bool Has(KeyId key, uint64_t offset, uint64_t length) const {
    return Find(key, offset, length) != nullptr;
  }
  // That prediction, or nullptr.
  const Pending* Find(KeyId key, uint64_t offset, uint64_t length) const;
  void Add(KeyId key, uint64_t offset, uint64_t length, double probability, base::WallTime now,
           base::WallTime deadline, const Features& features);
  // Marks as hits the open predictions of `key` that the read overlaps.
  void Read(KeyId key, uint64_t offset, uint64_t length, base::WallTime time, const HitFn& fn);
  // Labels the open predictions whose deadline passed (1: hit, 0: not).
  void Expire(base::WallTime now, const LabelFn& fn);
  // Drops (unlabelled) every prediction about these keys.
  void Forget(const std::vector<KeyId>& ids);

  // The open predictions, oldest first.
  void ForEachOpen(const std::function<void(const Pending&)>& fn) const;
  size_t size() const { return open_; }
  size_t MemoryBytes() const;

 private:
  Pending* At(uint64_t seq);
  const Pending* At(uint64_t seq) const;
  void Close(uint64_t seq);
  void PopClosed();

  const size_t capacity_;
  const size_t per_key_;
  std::deque<Pending> queue_;  // in order of creation; queue_[i] has sequence number first_ + i
  uint64_t first_ = 0;
  size_t open_ = 0;
  std::unordered_map<KeyId, std::vector<uint64_t>> by_key_;  // open sequence numbers, oldest first
};

}  // namespace shadowfs::predict
