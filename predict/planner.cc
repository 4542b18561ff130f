#include "predict/planner.h"

#include <algorithm>
#include <limits>

namespace shadowfs::predict {
namespace {

constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();
constexpr double kRaiseStep = 0.05;    // precision below target: back off fast
constexpr double kLowerStep = 0.005;   // above: reach for more coverage slowly
constexpr double kWindowDecay = 0.98;  // about the last 50 outcomes
constexpr double kWindowMinOutcomes = 5;
constexpr size_t kRangesPerKey = 16;
constexpr double kPressureStart = 0.8;  // store used/capacity where backoff begins

uint64_t End(uint64_t offset, uint64_t length) {
  return length == 0 || offset > kToEnd - length ? kToEnd : offset + length;
}

}  // namespace

Planner::Planner(const PlannerOptions& options)
    : options_(options),
      threshold_(std::clamp(options.target_precision, kMinThreshold, kMaxThreshold)) {
  tokens_ = static_cast<double>(
      std::max(options_.bandwidth_bytes_per_second, options_.max_request_bytes));
}

void Planner::set_threshold(double t) { threshold_ = std::clamp(t, kMinThreshold, kMaxThreshold); }

double Planner::Backoff(const StoreState& store) {
  if (store.capacity_bytes == 0) return 1.0;
  double pressure =
      static_cast<double>(store.used_bytes) / static_cast<double>(store.capacity_bytes);
  if (pressure <= kPressureStart) return 1.0;
  return std::clamp((1.0 - pressure) / (1.0 - kPressureStart), 0.0, 1.0);
}

double Planner::EffectiveThreshold(const StoreState& store) const {
  return std::min(1.0, threshold_ + (1.0 - threshold_) * (1.0 - Backoff(store)));
}

bool Planner::Requested(KeyId key, uint64_t offset, uint64_t length, base::WallTime now) const {
  auto it = requested_.find(key);
  if (it == requested_.end()) return false;
  uint64_t end = End(offset, length);
  for (const Range& r : it->second) {
    if (r.expires > now && r.begin <= offset && end <= r.end) return true;
  }
  return false;
}

bool Planner::RequestedRecently(KeyId key, uint64_t offset, uint64_t length,
                                base::WallTime now) const {
  auto it = requested_.find(key);
  if (it == requested_.end()) return false;
  uint64_t end = End(offset, length);
  for (const Range& r : it->second) {
    base::WallTime requested = r.expires - options_.horizon;
    if ((r.in_flight || now < requested + options_.rerequest_after) && r.begin <= offset &&
        end <= r.end) {
      return true;
    }
  }
  return false;
}

std::optional<Planner::Decision> Planner::Admit(KeyId key, uint64_t offset, uint64_t length,
                                                uint64_t object_size, double probability,
                                                base::WallTime now, const StoreState& store,
                                                uint64_t unread_prefetched,
                                                base::WallTime expected_read) {
  if (object_size != 0 && offset >= object_size) return std::nullopt;
  if (probability < EffectiveThreshold(store)) return std::nullopt;
  Decision d;
  d.offset = offset;
  if (length == 0 && object_size != 0) length = object_size - offset;
  if (object_size != 0) length = std::min(length, object_size - offset);
  d.length = length == 0 ? 0 : std::min(length, options_.max_request_bytes);
  d.cost = d.length == 0 ? options_.unknown_size_bytes : d.length;
  if (RequestedRecently(key, d.offset, d.length, now)) return std::nullopt;

  // Expected saving against expected waste, in seconds of transfer.
  double transfer = static_cast<double>(d.cost) / options_.reference_bandwidth;
  double latency = std::chrono::duration<double>(options_.request_latency).count();
  if (probability * (latency + transfer) < (1.0 - probability) * transfer) return std::nullopt;

  if (in_flight_ + d.cost > options_.max_bytes_in_flight) return std::nullopt;
  if (store.capacity_bytes != 0) {
    double share =
        options_.store_share * Backoff(store) * static_cast<double>(store.capacity_bytes);
    if (static_cast<double>(unread_prefetched + d.cost) > share) return std::nullopt;
  }
  if (options_.bandwidth_bytes_per_second != 0) {
    double rate = static_cast<double>(options_.bandwidth_bytes_per_second);
    double burst = static_cast<double>(
        std::max(options_.bandwidth_bytes_per_second, options_.max_request_bytes));
    if (now > tokens_at_) {
      tokens_ =
          std::min(burst, tokens_ + rate * std::chrono::duration<double>(now - tokens_at_).count());
      tokens_at_ = now;
    }
    if (tokens_ < static_cast<double>(d.cost)) return std::nullopt;
    tokens_ -= static_cast<double>(d.cost);
  }

  in_flight_ += d.cost;
  std::vector<Range>& ranges = requested_[key];
  std::erase_if(ranges, [&](const Range& r) { return r.expires <= now; });
  if (ranges.size() >= kRangesPerKey) ranges.erase(ranges.begin());
  const base::WallTime expires = std::max(now, expected_read) + options_.horizon;
  ranges.push_back({d.offset, End(d.offset, d.length), expires});
  expiries_.push({expires, key});
  return d;
}

void Planner::Refused(KeyId key, const Decision& d) {
  in_flight_ -= std::min(in_flight_, d.cost);
  if (options_.bandwidth_bytes_per_second != 0) tokens_ += static_cast<double>(d.cost);
  auto it = requested_.find(key);
  if (it == requested_.end()) return;
  uint64_t end = End(d.offset, d.length);
  std::erase_if(it->second, [&](const Range& r) { return r.begin == d.offset && r.end == end; });
  if (it->second.empty()) requested_.erase(it);
}

void Planner::Done(KeyId key, const Decision& d, bool ok) {
  in_flight_ -= std::min(in_flight_, d.cost);
  auto it = requested_.find(key);
  if (it == requested_.end()) return;
  uint64_t end = End(d.offset, d.length);
  if (ok) {
    for (Range& r : it->second) {
      if (r.begin == d.offset && r.end == end) r.in_flight = false;
    }
    return;
  }
  std::erase_if(it->second, [&](const Range& r) { return r.begin == d.offset && r.end == end; });
  if (it->second.empty()) requested_.erase(it);
}

void Planner::RecordOutcome(uint64_t useful, uint64_t wasted) {
  window_useful_ = window_useful_ * kWindowDecay + static_cast<double>(useful);
  window_wasted_ = window_wasted_ * kWindowDecay + static_cast<double>(wasted);
  window_count_ = window_count_ * kWindowDecay + 1;
}

double Planner::window_precision() const {
  double total = window_useful_ + window_wasted_;
  if (window_count_ < kWindowMinOutcomes || total <= 0) return -1;
  return window_useful_ / total;
}

void Planner::Adapt() {
  double p = window_precision();
  if (p < 0) return;
  if (p < options_.target_precision) {
    set_threshold(threshold_ + kRaiseStep);
  } else {
    set_threshold(threshold_ - kLowerStep);
  }
}

void Planner::Expire(base::WallTime now) {
  // Only the keys whose ranges expire: a tick costs what it drops, not every range held.
  while (!expiries_.empty() && expiries_.top().when <= now) {
    const KeyId key = expiries_.top().key;
    expiries_.pop();
    auto it = requested_.find(key);
    if (it == requested_.end()) continue;
    std::erase_if(it->second, [&](const Range& r) { return r.expires <= now; });
    if (it->second.empty()) requested_.erase(it);
  }
}

void Planner::Forget(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) requested_.erase(id);
}

size_t Planner::MemoryBytes() const {
  size_t bytes =
      sizeof(*this) + requested_.bucket_count() * sizeof(void*) + expiries_.size() * sizeof(Expiry);
  for (const auto& [key, ranges] : requested_) {
    bytes += 32 + sizeof(key) + ranges.capacity() * sizeof(Range);
  }
  return bytes;
}

}  // namespace shadowfs::predict
