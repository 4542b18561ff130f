// LabelQueue: the predictions waiting for their label (the horizon rule of predict/engine.h). A
// prediction (key, range, probability, features) is labelled 1 if a read of its key overlapped
// the range before its deadline, 0 if none did; the label is given at the deadline, for hits and
// misses alike, so that the learner sees labels in the order of their deadlines (giving hits at
// once and misses a horizon later would feed it only positives at first, and it would learn that
// everything is read). Except for a prediction with a long window (longer than `settle_after`,
// as a shuffled pass's members get): its hit is labelled at once. Held back for the length of a
// pass, its positives would come only after the pass, while the quick negatives of other
// predictions (a successor model's guesses over the same pass) teach the learner meanwhile that
// nothing is read, and it turns the pass's prefetches down halfway through it. The engine sets each
// deadline (the horizon, or less, or later for a prediction of a read expected later: see
// engine.cc); one due far ahead holds up no other. Bounded: at most `per_key` open predictions per
// key (a new one replaces that key's oldest, unlabelled) and `capacity` in all (the one due soonest
// is labelled early).
//
// Not thread-safe: owned by the engine, called under its mutex.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "blobstore/base/clock.h"
#include "predict/keyed_pool.h"
#include "predict/learner.h"
#include "predict/slot_heap.h"
#include "predict/types.h"

namespace shadowfs::predict {

// A prediction's features while it waits for its label: 8 bits each (every feature is in
// [0, 1]: the experts' scores, scaled log size, recency, agreement), inline rather than on the
// heap. A busy engine keeps tens of thousands of predictions open; floats in a vector cost
// about 80 bytes more each. Features beyond kMax are dropped (the learner reads missing ones as
// 0).
class PackedFeatures {
 public:
  // The engine's 7 experts and 3 extras fit (EngineTest checks it): a Pending stays 56 bytes.
  static constexpr size_t kMax = 11;
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
  // 56 bytes: the range, the deadline, the prediction's creation as its distance from the
  // deadline (at most the horizon, in milliseconds), its probability in 16 bits.
  struct Pending {
    uint64_t offset = 0;
    uint64_t length = 0;  // 0: to the end
    base::WallTime deadline{};
    KeyId key = kNoKey;
    uint32_t window_ms = 0;      // deadline - created
    uint32_t order = 0;          // when it was added (a counter): ties between equal deadlines
    uint32_t next = 0;           // owned by KeyedPool
    uint16_t probability_q = 0;  // probability * 65535, rounded
    bool hit = false;            // read before the deadline
    uint8_t proposer = 0;        // the expert that proposed it (the engine's index)
    PackedFeatures features;

    base::WallTime created() const { return deadline - std::chrono::milliseconds(window_ms); }
    double probability() const { return probability_q / 65535.0; }
  };
  static_assert(sizeof(Pending) <= 56, "an open prediction's record grew");
  using LabelFn = std::function<void(const Pending& p, bool label)>;
  // Called for each prediction a read proves right, with how long after the prediction it came.
  using HitFn = std::function<void(const Pending& p, std::chrono::nanoseconds delay)>;

  LabelQueue(size_t capacity, size_t per_key,
             std::chrono::milliseconds settle_after = std::chrono::seconds(30));

  // True if an open prediction for `key`, not yet proven right, covers [offset, offset + length).
  bool Has(KeyId key, uint64_t offset, uint64_t length) const {
    return Find(key, offset, length) != nullptr;
  }
  // That prediction, or nullptr.
  const Pending* Find(KeyId key, uint64_t offset, uint64_t length) const;
  // At capacity, the prediction due first is labelled now, with what is known of it.
  void Add(KeyId key, uint64_t offset, uint64_t length, double probability, base::WallTime now,
           base::WallTime deadline, const Features& features, const LabelFn& fn = nullptr,
           uint8_t proposer = 0);
  // Marks as hits the open predictions of `key` that the read overlaps; those with a window
  // longer than settle_after are labelled (1) at once, through `label`.
  void Read(KeyId key, uint64_t offset, uint64_t length, base::WallTime time, const HitFn& fn,
            const LabelFn& label = nullptr);
  // Labels the open predictions whose deadline passed (1: hit, 0: not), soonest deadline first
  // (ties: in the order they were added).
  void Expire(base::WallTime now, const LabelFn& fn);
  // Drops (unlabelled) every prediction about these keys.
  void Forget(const std::vector<KeyId>& ids);

  // The open predictions, in no particular order.
  void ForEachOpen(const std::function<void(const Pending&)>& fn) const;
  size_t size() const { return pending_.size(); }
  size_t MemoryBytes() const;

 private:
  // Deadline order; ties in the order the predictions were added.
  auto Earlier() const {
    return [this](uint32_t a, uint32_t b) {
      const Pending& x = pending_[a];
      const Pending& y = pending_[b];
      return x.deadline != y.deadline ? x.deadline < y.deadline
                                      : static_cast<int32_t>(x.order - y.order) < 0;
    };
  }
  // Takes the prediction in `slot` out of the queue (it is `key`'s).
  void Drop(KeyId key, uint32_t slot);
  // Pops the soonest deadline and labels it.
  void PopDue(const LabelFn& fn);

  const size_t capacity_;
  const size_t per_key_;
  const std::chrono::milliseconds settle_after_;
  uint32_t next_order_ = 0;
  KeyedPool<Pending> pending_;
  SlotHeap due_;  // every open prediction, by deadline
};

}  // namespace shadowfs::predict
