#include "blobstore/base/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace shadowfs::base {
namespace {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ",";
    out += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
  }
  return out + "}";
}

// Adds one label to an already rendered label set: {a="1"} + le="0.5" -> {a="1",le="0.5"}.
std::string WithLabel(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative_counts.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

double Histogram::Quantile(double q) const {
  Snapshot s = snapshot();
  if (s.count == 0) return 0;
  double rank = q * static_cast<double>(s.count);
  for (size_t i = 0; i < s.cumulative_counts.size(); ++i) {
    if (static_cast<double>(s.cumulative_counts[i]) >= rank) {
      if (i == s.upper_bounds.size()) return s.upper_bounds.empty() ? 0 : s.upper_bounds.back();
      double lo = i == 0 ? 0 : s.upper_bounds[i - 1];
      double prev = i == 0 ? 0 : static_cast<double>(s.cumulative_counts[i - 1]);
      double in_bucket = static_cast<double>(s.cumulative_counts[i]) - prev;
      double frac = in_bucket > 0 ? (rank - prev) / in_bucket : 1;
      return lo + (s.upper_bounds[i] - lo) * frac;
    }
  }
  return s.upper_bounds.empty() ? 0 : s.upper_bounds.back();
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name, Type type,
                                                    const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  // Registering one name as two types is a programming error; fail loudly in every build.
  if (it->second.type != type) std::abort();
  return it->second;
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  MutexLock lock(&mu_);
  auto& slot = FamilyFor(name, Type::kCounter, help).counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  MutexLock lock(&mu_);
  auto& slot = FamilyFor(name, Type::kGauge, help).gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const Labels& labels,
                                         const std::vector<double>& upper_bounds) {
  MutexLock lock(&mu_);
  auto& slot = FamilyFor(name, Type::kHistogram, help).histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(upper_bounds);
  return *slot;
}

uint64_t MetricsRegistry::AddCollector(std::function<void()> collector) {
  MutexLock lock(&collectors_mu_);
  uint64_t id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void MetricsRegistry::RemoveCollector(uint64_t id) {
  MutexLock lock(&collectors_mu_);
  collectors_.erase(id);
}

std::string MetricsRegistry::ExportPrometheus() const {
  {
    // Held while collectors run, so RemoveCollector returns only once none is running.
    MutexLock lock(&collectors_mu_);
    for (const auto& [id, collect] : collectors_) collect();
  }
  MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + family.help + "\n";
    switch (family.type) {
      case Type::kCounter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [labels, c] : family.counters) {
          out += name + labels + " " + std::to_string(c->value()) + "\n";
        }
        break;
      case Type::kGauge:
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [labels, g] : family.gauges) {
          out += name + labels + " " + FormatDouble(g->value()) + "\n";
        }
        break;
      case Type::kHistogram:
        out += "# TYPE " + name + " histogram\n";
        for (const auto& [labels, h] : family.histograms) {
          auto s = h->snapshot();
          for (size_t i = 0; i <= s.upper_bounds.size(); ++i) {
            double le = i < s.upper_bounds.size() ? s.upper_bounds[i] : INFINITY;
            out += name + "_bucket" + WithLabel(labels, "le=\"" + FormatDouble(le) + "\"") + " " +
                   std::to_string(s.cumulative_counts[i]) + "\n";
          }
          out.append(name).append("_sum").append(labels).append(" ");
          out.append(FormatDouble(s.sum)).append("\n");
          out.append(name).append("_count").append(labels).append(" ");
          out.append(std::to_string(s.count)).append("\n");
        }
        break;
    }
  }
  return out;
}

}  // namespace shadowfs::base
