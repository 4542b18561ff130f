// MetricsRegistry: named counters, gauges and histograms that modules register once and update
// on the hot path without locks (atomics); exported in the Prometheus text format. Registration
// and export take a mutex; the returned references stay valid for the registry's lifetime.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "blobstore/base/mutex.h"

namespace shadowfs::base {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets with fixed upper bounds, as Prometheus expects.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;
  // The value below which a fraction q of observations fall, interpolated within a bucket.
  double Quantile(double q) const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bucket bounds for latencies in seconds, 100 us to 60 s.
std::vector<double> LatencyBuckets();

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The same name and labels return the same metric. Names follow Prometheus conventions
  // (shadowfs_<module>_<what>_<unit>, counters end in _total).
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {})
      EXCLUDES(mu_);
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {})
      EXCLUDES(mu_);
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const Labels& labels = {},
                          const std::vector<double>& upper_bounds = LatencyBuckets()) EXCLUDES(mu_);

  // Collectors refresh gauges whose values are cheaper to read on demand than to track (store
  // capacity, pending uploads): ExportPrometheus runs every collector first. A collector must
  // not call ExportPrometheus; remove it before anything it reads is destroyed.
  uint64_t AddCollector(std::function<void()> collector) EXCLUDES(collectors_mu_);
  void RemoveCollector(uint64_t id) EXCLUDES(collectors_mu_);

  std::string ExportPrometheus() const EXCLUDES(mu_, collectors_mu_);

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // by rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(const std::string& name, Type type, const std::string& help) REQUIRES(mu_);

  mutable Mutex mu_;  // lock order: after collectors_mu_ (a collector may register metrics)
  std::map<std::string, Family> families_ GUARDED_BY(mu_);
  mutable Mutex collectors_mu_;
  std::map<uint64_t, std::function<void()>> collectors_ GUARDED_BY(collectors_mu_);
  uint64_t next_collector_ GUARDED_BY(collectors_mu_) = 1;
};

}  // namespace shadowfs::base
