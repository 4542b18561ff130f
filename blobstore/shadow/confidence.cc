#include "blobstore/shadow/confidence.h"

#include <algorithm>
#include <cmath>

namespace shadowfs::shadow {

namespace {
constexpr double kSecondsPerDay = 86400.0;
// Keeps the prior finite and positive whatever the configuration says.
constexpr double kMinLambda = 1e-12;
}  // namespace

ConfidenceModel::ConfidenceModel(double prior_changes_per_day)
    : prior_lambda_(std::max(prior_changes_per_day / kSecondsPerDay, kMinLambda)) {}

std::string ConfidenceModel::PrefixOf(std::string_view key) {
  size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(key.substr(0, slash + 1));
}

void ConfidenceModel::Observe(std::string_view key, double exposure_seconds, bool changed) {
  exposure_seconds = std::max(exposure_seconds, 0.0);
  if (exposure_seconds == 0 && !changed) return;
  std::string prefix = PrefixOf(key);
  base::MutexLock lock(&mu_);
  auto k = keys_.find(key);
  if (k == keys_.end()) k = keys_.emplace(std::string(key), Stats{}).first;
  Stats& p = prefixes_[prefix];
  k->second.changes += changed ? 1 : 0;
  k->second.exposure += exposure_seconds;
  p.changes += changed ? 1 : 0;
  p.exposure += exposure_seconds;
  dirty_.insert("k:" + std::string(key));
  dirty_.insert("p:" + prefix);
  Prune();
}

double ConfidenceModel::PrefixLambda(const std::string& prefix) const {
  auto it = prefixes_.find(prefix);
  Stats s = it == prefixes_.end() ? Stats{} : it->second;
  return std::max((s.changes + kPriorStrength) / (s.exposure + kPriorStrength / prior_lambda_),
                  kMinLambda);
}

double ConfidenceModel::Lambda(std::string_view key) const {
  std::string prefix = PrefixOf(key);
  base::MutexLock lock(&mu_);
  double prefix_lambda = PrefixLambda(prefix);
  auto it = keys_.find(key);
  Stats s = it == keys_.end() ? Stats{} : it->second;
  return (s.changes + kPriorStrength) / (s.exposure + kPriorStrength / prefix_lambda);
}

double ConfidenceModel::Confidence(std::string_view key, base::WallTime last_verified,
                                   base::WallTime now) const {
  double age = std::chrono::duration<double>(now - last_verified).count();
  if (age <= 0) return 1.0;
  return std::exp(-Lambda(key) * age);
}

void ConfidenceModel::SetHeld(std::string_view key, bool held) {
  base::MutexLock lock(&mu_);
  if (held) {
    held_.emplace(key);
  } else {
    auto it = held_.find(key);
    if (it != held_.end()) held_.erase(it);
    Prune();
  }
}

void ConfidenceModel::Prune() {
  if (keys_.size() <= held_.size() + kMaxForgottenKeys) return;
  // Forget the unheld keys with the least evidence; their prefixes keep what they taught.
  std::vector<std::pair<double, std::string>> unheld;
  for (const auto& [key, stats] : keys_) {
    if (!held_.contains(key)) unheld.emplace_back(stats.exposure, key);
  }
  size_t excess = keys_.size() - held_.size() - kMaxForgottenKeys / 2;
  excess = std::min(excess, unheld.size());
  std::partial_sort(unheld.begin(), unheld.begin() + static_cast<ptrdiff_t>(excess), unheld.end());
  for (size_t i = 0; i < excess; ++i) {
    keys_.erase(unheld[i].second);
    // The row stays in the catalog until it is next written; Load drops nothing, so a forgotten
    // key's row is harmless extra evidence after a restart.
  }
}

void ConfidenceModel::Load(const std::vector<ChangeStatRow>& rows) {
  base::MutexLock lock(&mu_);
  keys_.clear();
  prefixes_.clear();
  for (const ChangeStatRow& r : rows) {
    Stats s{std::max(r.changes, 0.0), std::max(r.exposure_seconds, 0.0)};
    if (r.scope.starts_with("k:")) {
      keys_[r.scope.substr(2)] = s;
    } else if (r.scope.starts_with("p:")) {
      prefixes_[r.scope.substr(2)] = s;
    }
  }
}

std::vector<ChangeStatRow> ConfidenceModel::TakeDirty() {
  base::MutexLock lock(&mu_);
  std::vector<ChangeStatRow> rows;
  for (const std::string& scope : dirty_) {
    const auto& map = scope.starts_with("k:") ? keys_ : prefixes_;
    auto it = map.find(std::string_view(scope).substr(2));
    if (it == map.end()) continue;  // pruned since
    rows.push_back({scope, it->second.changes, it->second.exposure});
  }
  dirty_.clear();
  return rows;
}

void ConfidenceModel::RestoreDirty(const std::vector<ChangeStatRow>& rows) {
  base::MutexLock lock(&mu_);
  for (const ChangeStatRow& r : rows) dirty_.insert(r.scope);
}

}  // namespace shadowfs::shadow
