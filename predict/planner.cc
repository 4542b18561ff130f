#include "predict/planner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>

namespace shadowfs::predict {
namespace {

constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();
constexpr double kRaiseStep = 0.05;    // precision below target: back off fast
constexpr double kLowerStep = 0.005;   // above: reach for more coverage slowly
constexpr double kWindowDecay = 0.98;  // about the last 50 outcomes
constexpr double kWindowMinOutcomes = 5;
constexpr size_t kRangesPerKey = 16;
constexpr double kPressureStart = 0.8;   // store used/capacity where the fill backoff begins
constexpr double kPressureStep = 0.25;   // added by each prefetch refused for space
constexpr double kPressureRelief = 0.8;  // applied by each prefetch stored

uint64_t End(uint64_t offset, uint64_t length) {
  return length == 0 || offset > kToEnd - length ? kToEnd : offset + length;
}

// Unix seconds, rounded up.
uint32_t CeilSeconds(base::WallTime t) {
  const auto s = std::chrono::ceil<std::chrono::seconds>(t.time_since_epoch()).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(s, 0, UINT32_MAX));
}

// Unix seconds, rounded down: a range has expired when its expires_s <= FloorSeconds(now).
uint32_t FloorSeconds(base::WallTime t) {
  const auto s = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(s, 0, UINT32_MAX));
}

base::WallTime FromSeconds(uint32_t s) { return base::WallTime(std::chrono::seconds(s)); }

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
  double fill = static_cast<double>(store.used_bytes) / static_cast<double>(store.capacity_bytes);
  if (fill <= kPressureStart) return 1.0;
  return std::clamp((1.0 - fill) / (1.0 - kPressureStart), 0.0, 1.0);
}

double Planner::EffectiveThreshold(const StoreState& store) const {
  const double pressure = std::max(pressure_, 1.0 - Backoff(store));
  return std::min(1.0, threshold_ + (1.0 - threshold_) * pressure);
}

template <typename Fn>
bool Planner::AnyCovering(KeyId key, uint64_t offset, uint64_t length, Fn&& fn) const {
  const uint64_t end = End(offset, length);
  bool any = false;
  requested_.Visit(key, [&](uint32_t, const Range& r) {
    if (!any && r.begin() <= offset && end <= r.end) any = fn(r);
  });
  return any;
}

bool Planner::Requested(KeyId key, uint64_t offset, uint64_t length, base::WallTime now) const {
  return AnyCovering(key, offset, length,
                     [&](const Range& r) { return r.expires_s > FloorSeconds(now); });
}

bool Planner::RequestedRecently(KeyId key, uint64_t offset, uint64_t length,
                                base::WallTime now) const {
  return AnyCovering(key, offset, length, [&](const Range& r) {
    const base::WallTime requested = FromSeconds(r.expires_s) - options_.horizon;
    return r.in_flight() || now < requested + options_.rerequest_after;
  });
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
  // Expired ranges go, and so do those the new one covers and outlives (settled ones: an
  // in-flight range waits for its Done), and past kRangesPerKey the oldest (the chain's last).
  const uint32_t now_s = FloorSeconds(now);
  const uint32_t expires_s = CeilSeconds(std::max(now, expected_read) + options_.horizon);
  const uint64_t end = End(d.offset, d.length);
  size_t kept = 0;
  requested_.Visit(key, [&](uint32_t, const Range& r) {
    const bool covered =
        !r.in_flight() && d.offset <= r.begin() && r.end <= end && r.expires_s <= expires_s;
    return r.expires_s <= now_s || covered || ++kept >= kRangesPerKey;
  });
  requested_.Add(key, {d.offset | Range::kInFlight, end, expires_s, 0});
  return d;
}

void Planner::Remove(KeyId key, const Decision& d) {
  const uint64_t end = End(d.offset, d.length);
  requested_.Visit(key,
                   [&](uint32_t, const Range& r) { return r.begin() == d.offset && r.end == end; });
}

void Planner::Refused(KeyId key, const Decision& d) {
  in_flight_ -= std::min(in_flight_, d.cost);
  if (options_.bandwidth_bytes_per_second != 0) tokens_ += static_cast<double>(d.cost);
  Remove(key, d);
}

void Planner::Done(KeyId key, const Decision& d, bool ok, bool no_space) {
  in_flight_ -= std::min(in_flight_, d.cost);
  if (no_space) {
    pressure_ = std::min(1.0, pressure_ + kPressureStep);
  } else if (ok) {
    pressure_ *= kPressureRelief;
  }
  if (!ok) {
    Remove(key, d);
    return;
  }
  const uint64_t end = End(d.offset, d.length);
  requested_.Visit(key, [&](uint32_t, Range& r) {
    if (r.begin() == d.offset && r.end == end) r.begin_and_flag = d.offset;
    return false;
  });
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
  if (pressure_at_ != base::WallTime{} && now > pressure_at_) {
    const double half_lives = std::chrono::duration<double>(now - pressure_at_) / kPressureHalfLife;
    pressure_ *= std::exp2(-half_lives);
  }
  pressure_at_ = now;
  const size_t keys = requested_.key_bound();
  if (keys == 0) return;
  // The slice: the share of all keys that the time since the last sweep is of kSweepSeconds.
  const double elapsed = last_sweep_ == base::WallTime{}
                             ? 1.0
                             : std::chrono::duration<double>(now - last_sweep_).count();
  last_sweep_ = now;
  const double share = std::clamp(elapsed / kSweepSeconds, 0.0, 1.0);
  const size_t slice =
      std::max<size_t>(1, static_cast<size_t>(std::ceil(share * static_cast<double>(keys))));
  const uint32_t now_s = FloorSeconds(now);
  for (size_t i = 0; i < slice; ++i) {
    if (sweep_next_ >= keys) sweep_next_ = 0;
    requested_.Visit(sweep_next_++, [&](uint32_t, const Range& r) { return r.expires_s <= now_s; });
  }
}

void Planner::Forget(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) requested_.Visit(id, [](uint32_t, const Range&) { return true; });
}

size_t Planner::MemoryBytes() const { return sizeof(*this) + requested_.MemoryBytes(); }

}  // namespace shadowfs::predict
