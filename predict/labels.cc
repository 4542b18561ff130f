#include "predict/labels.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

LabelQueue::LabelQueue(size_t capacity, size_t per_key)
    : capacity_(std::max<size_t>(capacity, 1)), per_key_(std::max<size_t>(per_key, 1)) {}

LabelQueue::Pending* LabelQueue::At(uint64_t seq) {
  if (seq < first_ || seq - first_ >= queue_.size()) return nullptr;
  return &queue_[seq - first_];
}

const LabelQueue::Pending* LabelQueue::At(uint64_t seq) const {
  if (seq < first_ || seq - first_ >= queue_.size()) return nullptr;
  return &queue_[seq - first_];
}

const LabelQueue::Pending* LabelQueue::Find(KeyId key, uint64_t offset, uint64_t length) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return nullptr;
  uint64_t end = End(offset, length);
  for (uint64_t seq : it->second) {
    const Pending* p = At(seq);
    // A hit is settled (it only waits for its deadline): a new prediction of the range is new.
    if (p != nullptr && !p->hit && p->offset <= offset && end <= End(p->offset, p->length)) {
      return p;
    }
  }
  return nullptr;
}

void LabelQueue::Close(uint64_t seq) {
  Pending* p = At(seq);
  if (p == nullptr || !p->open) return;
  p->open = false;
  --open_;
  auto it = by_key_.find(p->key);
  if (it == by_key_.end()) return;
  std::erase(it->second, seq);
  if (it->second.empty()) by_key_.erase(it);
}

void LabelQueue::PopClosed() {
  while (!queue_.empty() && !queue_.front().open) {
    queue_.pop_front();
    ++first_;
  }
}

void LabelQueue::Add(KeyId key, uint64_t offset, uint64_t length, double probability,
                     base::WallTime now, base::WallTime deadline, const Features& features) {
  std::vector<uint64_t>& seqs = by_key_[key];
  if (seqs.size() >= per_key_) {
    uint64_t oldest = seqs.front();
    Close(oldest);  // may erase `seqs` from the map when it empties; per_key_ >= 1 keeps it
  }
  if (open_ >= capacity_) {
    for (uint64_t seq = first_; seq < first_ + queue_.size(); ++seq) {
      if (At(seq)->open) {
        Close(seq);
        break;
      }
    }
    PopClosed();
  }
  Pending p;
  p.key = key;
  p.offset = offset;
  p.length = length;
  p.probability = static_cast<float>(probability);
  p.created = now;
  p.deadline = deadline;
  p.features = PackedFeatures(features);
  queue_.push_back(p);
  ++open_;
  by_key_[key].push_back(first_ + queue_.size() - 1);
}

void LabelQueue::Read(KeyId key, uint64_t offset, uint64_t length, base::WallTime time,
                      const HitFn& fn) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  uint64_t end = End(offset, length);
  for (uint64_t seq : it->second) {
    Pending* p = At(seq);
    if (p == nullptr || p->hit) continue;
    uint64_t p_end = End(p->offset, p->length);
    if (offset < p_end && p->offset < std::max(end, offset + 1)) {
      p->hit = true;
      if (fn) fn(*p, time - p->created);
    }
  }
}

void LabelQueue::Expire(base::WallTime now, const LabelFn& fn) {
  // Deadlines are nearly in creation order (the engine's label window changes slowly): stop at
  // the first open prediction not yet due.
  for (uint64_t seq = first_; seq < first_ + queue_.size(); ++seq) {
    Pending* p = At(seq);
    if (!p->open) continue;
    if (p->deadline > now) break;
    if (fn) fn(*p, p->hit);
    Close(seq);
  }
  PopClosed();
}

void LabelQueue::Forget(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) {
    auto it = by_key_.find(id);
    if (it == by_key_.end()) continue;
    std::vector<uint64_t> seqs = it->second;
    for (uint64_t seq : seqs) Close(seq);
  }
  PopClosed();
}

void LabelQueue::ForEachOpen(const std::function<void(const Pending&)>& fn) const {
  for (const Pending& p : queue_) {
    if (p.open) fn(p);
  }
}

size_t LabelQueue::MemoryBytes() const {
  size_t bytes = sizeof(*this) + by_key_.bucket_count() * sizeof(void*);
  bytes += queue_.size() * sizeof(Pending);
  return bytes + by_key_.size() * (32 + sizeof(std::vector<uint64_t>) + per_key_ * 8);
}

}  // namespace shadowfs::predict
