#include "predict/labels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

namespace shadowfs::predict {
namespace {

constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();

uint64_t End(uint64_t offset, uint64_t length) {
  return length == 0 || offset > kToEnd - length ? kToEnd : offset + length;
}

}  // namespace

PackedFeatures::PackedFeatures(const Features& x)
    : n_(static_cast<uint8_t>(std::min(x.size(), kMax))) {
  for (size_t i = 0; i < n_; ++i) {
    q_[i] = static_cast<uint8_t>(std::lround(std::clamp(x[i], 0.0f, 1.0f) * 255.0f));
  }
}

void PackedFeatures::Unpack(Features* x) const {
  x->resize(n_);
  for (size_t i = 0; i < n_; ++i) (*x)[i] = (*this)[i];
}

LabelQueue::LabelQueue(size_t capacity, size_t per_key, std::chrono::milliseconds settle_after)
    : capacity_(std::max<size_t>(capacity, 1)),
      per_key_(std::max<size_t>(per_key, 1)),
      settle_after_(settle_after) {}

const LabelQueue::Pending* LabelQueue::Find(KeyId key, uint64_t offset, uint64_t length) const {
  const Pending* found = nullptr;
  const uint64_t end = End(offset, length);
  pending_.Visit(key, [&](uint32_t, const Pending& p) {
    // A hit is settled (it only waits for its deadline): a new prediction of the range is new.
    if (found == nullptr && !p.hit && p.offset <= offset && end <= End(p.offset, p.length)) {
      found = &p;
    }
  });
  return found;
}

void LabelQueue::Drop(KeyId key, uint32_t slot) {
  due_.Remove(slot, Earlier());
  pending_.Remove(key, slot);
}

void LabelQueue::PopDue(const LabelFn& fn) {
  const uint32_t slot = due_.top();
  const Pending& p = pending_[slot];
  if (fn) fn(p, p.hit);
  Drop(p.key, slot);
}

void LabelQueue::Add(KeyId key, uint64_t offset, uint64_t length, double probability,
                     base::WallTime now, base::WallTime deadline, const Features& features,
                     const LabelFn& fn, uint8_t proposer) {
  // The key's oldest open prediction makes way (the chain is newest first: it is the last).
  size_t count = 0;
  uint32_t oldest = KeyedPool<Pending>::kNone;
  std::as_const(pending_).Visit(key, [&](uint32_t slot, const Pending&) {
    ++count;
    oldest = slot;
  });
  if (count >= per_key_) Drop(key, oldest);
  while (pending_.size() >= capacity_ && !due_.empty()) PopDue(fn);
  Pending p;
  p.key = key;
  p.offset = offset;
  p.length = length;
  p.probability_q = static_cast<uint16_t>(std::lround(std::clamp(probability, 0.0, 1.0) * 65535));
  p.deadline = std::max(deadline, now);
  const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now);
  p.window_ms = static_cast<uint32_t>(std::min<int64_t>(window.count(), UINT32_MAX));
  p.order = next_order_++;
  p.proposer = proposer;
  p.features = PackedFeatures(features);
  due_.Push(pending_.Add(key, p), Earlier());
}

void LabelQueue::Read(KeyId key, uint64_t offset, uint64_t length, base::WallTime time,
                      const HitFn& fn, const LabelFn& label) {
  const uint64_t end = End(offset, length);
  pending_.Visit(key, [&](uint32_t slot, Pending& p) {
    if (p.hit || offset >= End(p.offset, p.length) || p.offset >= std::max(end, offset + 1)) {
      return false;
    }
    p.hit = true;
    if (fn) fn(p, time - p.created());
    if (std::chrono::milliseconds(p.window_ms) <= settle_after_) return false;
    if (label) label(p, true);
    due_.Remove(slot, Earlier());
    return true;
  });
}

void LabelQueue::Expire(base::WallTime now, const LabelFn& fn) {
  while (!due_.empty() && pending_[due_.top()].deadline <= now) PopDue(fn);
}

void LabelQueue::Forget(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) {
    pending_.Visit(id, [&](uint32_t slot, const Pending&) {
      due_.Remove(slot, Earlier());
      return true;
    });
  }
}

void LabelQueue::ForEachOpen(const std::function<void(const Pending&)>& fn) const {
  for (uint32_t slot : due_.slots()) fn(pending_[slot]);
}

size_t LabelQueue::MemoryBytes() const {
  return sizeof(*this) + pending_.MemoryBytes() + due_.MemoryBytes();
}

}  // namespace shadowfs::predict
