#include "predict/accounting.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

namespace shadowfs::predict {
namespace {

constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();

// Bytes of [a, a_end) within [b, b_end).
uint64_t Overlap(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end) {
  uint64_t lo = std::max(a, b), hi = std::min(a_end, b_end);
  return hi > lo ? hi - lo : 0;
}

// `d` in whole units of `Unit`, rounded up and clamped to [lo, UINT32_MAX].
template <typename Unit>
uint32_t Clamp32(std::chrono::nanoseconds d, uint32_t lo = 0) {
  const int64_t n = std::chrono::ceil<Unit>(d).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(n, lo, UINT32_MAX));
}

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace

double ExpertAccounting::precision() const {
  return Ratio(useful_bytes, useful_bytes + wasted_bytes);
}
double ExpertAccounting::timeliness() const { return Ratio(timely_prefetches, useful_prefetches); }
double Accounting::coverage() const { return Ratio(covered_reads, demand_reads); }

Accountant::Accountant(std::vector<std::string> expert_names, std::chrono::seconds horizon)
    : horizon_(horizon), names_(std::move(expert_names)), experts_(names_.size()) {
  for (size_t i = 0; i < names_.size(); ++i) experts_[i].expert = names_[i];
  exported_.experts = experts_;
}

void Accountant::Requested(KeyId key, uint64_t offset, uint64_t length, size_t expert,
                           base::WallTime now, base::WallTime due,
                           std::chrono::nanoseconds report_after) {
  expert = std::min({expert, experts_.size() - 1, size_t{UINT8_MAX}});
  Record r;
  r.offset = offset;
  r.length = length;
  r.key = key;
  r.expert = static_cast<uint8_t>(expert);
  const auto second = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  r.second = static_cast<uint32_t>(std::clamp<int64_t>(second, 0, UINT32_MAX));
  r.due_ms = Clamp32<std::chrono::milliseconds>(std::max(now, due) - r.base());
  r.report_after_ms = Clamp32<std::chrono::milliseconds>(report_after);
  // The first Expire after the request works out the next event.
  r.look_ms =
      static_cast<uint32_t>(std::chrono::floor<std::chrono::milliseconds>(now - r.base()).count());
  due_.Push(open_.Add(key, r), Sooner());
  unread_bytes_ += length;
  for (ExpertAccounting* a : {&overall_, &For(expert)}) {
    a->prefetches++;
    a->prefetched_bytes += length;
  }
}

uint32_t Accountant::FindUnfinished(KeyId key, uint64_t offset, const uint64_t* length) const {
  uint32_t found = KeyedPool<Record>::kNone;
  // The chain is newest first: the last match is the oldest.
  open_.Visit(key, [&](uint32_t slot, const Record& r) {
    if (r.offset == offset && !r.finished() && (length == nullptr || r.length == *length)) {
      found = slot;
    }
  });
  return found;
}

void Accountant::Drop(uint32_t slot) {
  due_.Remove(slot, Sooner());
  open_.Remove(open_[slot].key, slot);
}

void Accountant::Refused(KeyId key, uint64_t offset, uint64_t length) {
  const uint32_t slot = FindUnfinished(key, offset, &length);
  if (slot == KeyedPool<Record>::kNone) return;
  for (ExpertAccounting* a : {&overall_, &For(open_[slot].expert)}) {
    a->prefetches -= std::min<uint64_t>(a->prefetches, 1);
    a->prefetched_bytes -= std::min(a->prefetched_bytes, length);
  }
  unread_bytes_ -= std::min(unread_bytes_, length);
  Drop(slot);
}

void Accountant::Done(KeyId key, uint64_t offset, bool ok, uint64_t fetched,
                      base::WallTime finished, uint64_t stored_offset) {
  const uint32_t slot = FindUnfinished(key, offset, nullptr);
  if (slot == KeyedPool<Record>::kNone) return;
  Record& r = open_[slot];
  if (!ok || (r.length == 0 && fetched == 0)) {
    unread_bytes_ -= std::min(unread_bytes_, r.length - std::min(r.length, r.read_bytes));
    Drop(slot);
    return;
  }
  uint64_t more = 0;
  if (r.length == 0) {  // the size was unknown when it was requested
    r.length = fetched;
    more = fetched;
  } else if (fetched > 0) {
    // Stored around the range (whole chunks): the record covers all of it.
    const uint64_t from = std::min(stored_offset, r.offset);
    const uint64_t to = std::max(r.offset + r.length, from + fetched);
    more = (to - from) - r.length;
    r.offset = from;
    r.length = to - from;
  }
  unread_bytes_ += more;
  For(r.expert).prefetched_bytes += more;
  overall_.prefetched_bytes += more;
  r.finished_us = Clamp32<std::chrono::microseconds>(finished - r.base(), 1);
}

bool Accountant::Read(KeyId key, uint64_t offset, uint64_t length, base::WallTime time,
                      bool from_shadow, bool prefetched_recently, const OutcomeFn& outcome) {
  ++demand_reads_;
  demand_bytes_ += length;
  bool covered = from_shadow && prefetched_recently;
  uint64_t covered_bytes = covered ? length : 0;
  const uint64_t end = length > kToEnd - offset ? kToEnd : offset + length;
  open_.Visit(key, [&](uint32_t slot, Record& r) {
    uint64_t r_end = r.length == 0 ? kToEnd : r.offset + r.length;
    uint64_t got = Overlap(offset, end, r.offset, r_end);
    if (got == 0 && !(length == 0 && offset >= r.offset && offset < r_end)) return false;
    const bool finished = r.finished_by(time);
    if (from_shadow && finished) {
      covered = true;
      covered_bytes += got;
    }
    if (!r.was_read) {
      r.was_read = true;
      for (ExpertAccounting* a : {&overall_, &For(r.expert)}) {
        a->useful_prefetches++;
        if (finished) a->timely_prefetches++;
      }
    }
    // Until a prefetch of unknown length is done, its bytes are not counted as useful (they may
    // not exist); its first read still counts for timeliness.
    uint64_t cap = r.length - std::min(r.length, r.read_bytes);
    uint64_t useful = std::min(got, cap);
    r.read_bytes += useful;
    unread_bytes_ -= std::min(unread_bytes_, useful);
    for (ExpertAccounting* a : {&overall_, &For(r.expert)}) a->useful_bytes += useful;
    if (r.length == 0 || r.read_bytes < r.length) return false;
    Close(r, /*expired=*/false, outcome);
    due_.Remove(slot, Sooner());
    return true;  // the pool frees it
  });
  if (covered) {
    ++covered_reads_;
    covered_bytes_ += std::min(covered_bytes, length);
  }
  return covered;
}

void Accountant::Close(Record& r, bool expired, const OutcomeFn& outcome) {
  uint64_t useful = std::min(r.read_bytes, r.length);
  uint64_t wasted = expired ? r.length - useful : 0;
  if (wasted != 0) {
    for (ExpertAccounting* a : {&overall_, &For(r.expert)}) a->wasted_bytes += wasted;
    unread_bytes_ -= std::min(unread_bytes_, wasted);
  }
  if (outcome && !r.reported) outcome(useful, wasted);
  r.reported = true;
}

void Accountant::Expire(base::WallTime now, std::chrono::nanoseconds report_after,
                        const OutcomeFn& outcome) {
  // Only the records with something due: a tick costs what it expires, not every open prefetch.
  while (!due_.empty() && open_[due_.top()].look() <= now) {
    const uint32_t slot = due_.top();
    Record& r = open_[slot];
    const base::WallTime end = r.due() + horizon_;
    if (end <= now) {
      Close(r, /*expired=*/true, outcome);
      Drop(slot);
      continue;
    }
    const base::WallTime report = r.report_at(report_after);
    if (!r.reported && report <= now) {
      uint64_t useful = std::min(r.read_bytes, r.length);
      if (outcome) outcome(useful, r.length - useful);
      r.reported = true;
    }
    const base::WallTime next = r.reported ? end : std::min(report, end);
    r.look_ms = Clamp32<std::chrono::milliseconds>(next - r.base());
    due_.Update(slot, Sooner());
  }
}

void Accountant::Forget(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) {
    open_.Visit(id, [&](uint32_t slot, Record& r) {
      // A recycled key was not read for longer than anything else: its prefetches are waste.
      Close(r, /*expired=*/true, nullptr);
      due_.Remove(slot, Sooner());
      return true;
    });
  }
}

size_t Accountant::MemoryBytes() const {
  return sizeof(*this) + open_.MemoryBytes() + due_.MemoryBytes() +
         experts_.size() * 2 * sizeof(ExpertAccounting);
}

Accounting Accountant::Snapshot() const {
  Accounting a;
  a.overall = overall_;
  a.experts = experts_;
  a.demand_reads = demand_reads_;
  a.demand_bytes = demand_bytes_;
  a.covered_reads = covered_reads_;
  a.covered_bytes = covered_bytes_;
  return a;
}

void Accountant::ExportMetrics(base::MetricsRegistry* metrics) {
  if (metrics == nullptr) return;
  auto add = [&](const char* name, const char* help, const base::Labels& labels, uint64_t now,
                 uint64_t* last) {
    // Registered even at zero, so that readers of the metrics find every series.
    base::Counter& counter = metrics->GetCounter(name, help, labels);
    if (now > *last) counter.Increment(now - *last);
    *last = std::max(*last, now);
  };
  for (size_t i = 0; i < experts_.size(); ++i) {
    const ExpertAccounting& cur = experts_[i];
    ExpertAccounting& last = exported_.experts[i];
    base::Labels labels = {{"expert", names_[i]}};
    add("shadowfs_predict_prefetches_total", "Prefetches requested", labels, cur.prefetches,
        &last.prefetches);
    add("shadowfs_predict_prefetched_bytes_total", "Bytes requested by prefetches", labels,
        cur.prefetched_bytes, &last.prefetched_bytes);
    add("shadowfs_predict_useful_bytes_total", "Prefetched bytes read within the horizon", labels,
        cur.useful_bytes, &last.useful_bytes);
    add("shadowfs_predict_wasted_bytes_total", "Prefetched bytes never read within the horizon",
        labels, cur.wasted_bytes, &last.wasted_bytes);
    add("shadowfs_predict_timely_prefetches_total", "Useful prefetches finished before the read",
        labels, cur.timely_prefetches, &last.timely_prefetches);
  }
  add("shadowfs_predict_demand_reads_total", "Reads seen by the prediction engine", {},
      demand_reads_, &exported_.demand_reads);
  add("shadowfs_predict_covered_reads_total", "Reads served from a prefetched shadow", {},
      covered_reads_, &exported_.covered_reads);
}

}  // namespace shadowfs::predict
