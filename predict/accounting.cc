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
  r.expert = static_cast<uint8_t>(expert);
  r.requested = now;
  r.due_ms = Clamp32<std::chrono::milliseconds>(std::max(now, due) - now);
  r.report_after_ms = Clamp32<std::chrono::milliseconds>(report_after);
  KeyRecords& k = open_[key];
  k.records.push_back(r);
  Schedule(key, &k, now);  // the first Expire after the request works out the next event
  ++records_;
  unread_bytes_ += length;
  for (ExpertAccounting* a : {&overall_, &For(expert)}) {
    a->prefetches++;
    a->prefetched_bytes += length;
  }
}

void Accountant::Refused(KeyId key, uint64_t offset, uint64_t length) {
  auto it = open_.find(key);
  if (it == open_.end()) return;
  auto& recs = it->second.records;
  for (auto r = recs.begin(); r != recs.end(); ++r) {
    if (r->offset != offset || r->length != length || r->finished()) continue;
    for (ExpertAccounting* a : {&overall_, &For(r->expert)}) {
      a->prefetches -= std::min<uint64_t>(a->prefetches, 1);
      a->prefetched_bytes -= std::min(a->prefetched_bytes, length);
    }
    unread_bytes_ -= std::min(unread_bytes_, length);
    recs.erase(r);
    --records_;
    break;
  }
  if (recs.empty()) open_.erase(it);
}

void Accountant::Done(KeyId key, uint64_t offset, bool ok, uint64_t fetched,
                      base::WallTime finished) {
  auto it = open_.find(key);
  if (it == open_.end()) return;
  auto& recs = it->second.records;
  for (auto r = recs.begin(); r != recs.end(); ++r) {
    if (r->offset != offset || r->finished()) continue;
    if (!ok || (r->length == 0 && fetched == 0)) {
      unread_bytes_ -= std::min(unread_bytes_, r->length - std::min(r->length, r->read_bytes));
      recs.erase(r);
      --records_;
    } else {
      if (r->length == 0) {  // the size was unknown when it was requested
        r->length = fetched;
        unread_bytes_ += fetched;
        For(r->expert).prefetched_bytes += fetched;
        overall_.prefetched_bytes += fetched;
      }
      r->finished_us = Clamp32<std::chrono::microseconds>(finished - r->requested, 1);
    }
    break;
  }
  if (recs.empty()) open_.erase(it);
}

bool Accountant::Read(KeyId key, uint64_t offset, uint64_t length, base::WallTime time,
                      bool from_shadow, bool prefetched_recently, const OutcomeFn& outcome) {
  ++demand_reads_;
  demand_bytes_ += length;
  bool covered = from_shadow && prefetched_recently;
  uint64_t covered_bytes = covered ? length : 0;
  auto it = open_.find(key);
  if (it == open_.end()) {
    if (covered) {
      ++covered_reads_;
      covered_bytes_ += length;
    }
    return covered;
  }
  uint64_t end = length > kToEnd - offset ? kToEnd : offset + length;
  auto& recs = it->second.records;
  for (auto r = recs.begin(); r != recs.end();) {
    uint64_t r_end = r->length == 0 ? kToEnd : r->offset + r->length;
    uint64_t got = Overlap(offset, end, r->offset, r_end);
    if (got == 0 && !(length == 0 && offset >= r->offset && offset < r_end)) {
      ++r;
      continue;
    }
    const bool finished = r->finished_by(time);
    if (from_shadow && finished) {
      covered = true;
      covered_bytes += got;
    }
    if (!r->was_read) {
      r->was_read = true;
      for (ExpertAccounting* a : {&overall_, &For(r->expert)}) {
        a->useful_prefetches++;
        if (finished) a->timely_prefetches++;
      }
    }
    // Until a prefetch of unknown length is done, its bytes are not counted as useful (they may
    // not exist); its first read still counts for timeliness.
    uint64_t cap = r->length - std::min(r->length, r->read_bytes);
    uint64_t useful = std::min(got, cap);
    r->read_bytes += useful;
    unread_bytes_ -= std::min(unread_bytes_, useful);
    for (ExpertAccounting* a : {&overall_, &For(r->expert)}) a->useful_bytes += useful;
    if (r->length != 0 && r->read_bytes >= r->length) {
      Close(*r, /*expired=*/false, outcome);
      r = recs.erase(r);
      --records_;
    } else {
      ++r;
    }
  }
  if (recs.empty()) open_.erase(it);
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

void Accountant::Schedule(KeyId key, KeyRecords* k, base::WallTime when) {
  if (k->scheduled != base::WallTime{} && k->scheduled <= when) return;
  k->scheduled = when;
  if (due_.size() >= 2 * open_.size() + 1024) {
    std::erase_if(due_, [&](const Due& d) {
      auto it = open_.find(d.key);
      return it == open_.end() || it->second.scheduled != d.when;
    });
    std::make_heap(due_.begin(), due_.end(), std::greater<>());
  }
  due_.push_back({when, key});
  std::push_heap(due_.begin(), due_.end(), std::greater<>());
}

void Accountant::Expire(base::WallTime now, std::chrono::nanoseconds report_after,
                        const OutcomeFn& outcome) {
  // Only the keys with something due: a tick costs what it expires, not every open prefetch.
  while (!due_.empty() && due_.front().when <= now) {
    std::pop_heap(due_.begin(), due_.end(), std::greater<>());
    const Due d = due_.back();
    due_.pop_back();
    auto it = open_.find(d.key);
    if (it == open_.end() || it->second.scheduled != d.when) continue;  // stale
    KeyRecords& k = it->second;
    k.scheduled = base::WallTime{};
    base::WallTime next = base::WallTime::max();
    for (auto r = k.records.begin(); r != k.records.end();) {
      const base::WallTime end = r->due() + horizon_;
      if (end > now) {
        const base::WallTime report = r->report_at(report_after);
        if (!r->reported && report <= now) {
          uint64_t useful = std::min(r->read_bytes, r->length);
          if (outcome) outcome(useful, r->length - useful);
          r->reported = true;
        }
        if (!r->reported) next = std::min(next, report);
        next = std::min(next, end);
        ++r;
        continue;
      }
      Close(*r, /*expired=*/true, outcome);
      r = k.records.erase(r);
      --records_;
    }
    if (k.records.empty()) {
      open_.erase(it);
    } else {
      Schedule(d.key, &k, next);
    }
  }
}

void Accountant::Forget(const std::vector<KeyId>& ids) {
  for (KeyId id : ids) {
    auto it = open_.find(id);
    if (it == open_.end()) continue;
    // A recycled key was not read for longer than anything else: its prefetches are waste.
    for (Record& r : it->second.records) Close(r, /*expired=*/true, nullptr);
    records_ -= it->second.records.size();
    open_.erase(it);
  }
}

size_t Accountant::MemoryBytes() const {
  return sizeof(*this) + open_.bucket_count() * sizeof(void*) +
         open_.size() * (32 + sizeof(KeyId) + sizeof(KeyRecords)) + due_.capacity() * sizeof(Due) +
         records_ * sizeof(Record) + experts_.size() * 2 * sizeof(ExpertAccounting);
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
