// ConfidenceModel: estimates how fast each blob changes on the primary and from that the
// probability that a shadow verified at some time still equals the primary now.
//
// Each key's change rate lambda (changes per second) is a Gamma-Poisson estimate from
// observations: every verification of a key contributes its exposure (time since the key's
// previous verification) and whether the version had changed. Sparse data is shrunk toward the
// key's prefix (its parent "directory", the key up to and including the last '/'), whose
// statistics aggregate those of its keys, and the prefix toward the configured prior:
//
//   lambda_prefix = (C_p + a) / (E_p + a / lambda_prior)
//   lambda_key    = (c_k + a) / (e_k + a / lambda_prefix)
//   confidence    = exp(-lambda_key * (now - last_verified))
//
// with a = kPriorStrength pseudo-changes: weak enough that a day of hourly observations
// dominates, strong enough that one lucky observation does not. Key statistics are kept for keys
// the store holds and for up to kMaxForgottenKeys keys it no longer holds (a key dropped because
// it changed is the one most likely to be fetched again); prefix statistics are kept. Changes
// are persisted through the catalog's change_stats table (scopes "k:<key>" and "p:<prefix>").
//
// Thread-safe: one mutex, a leaf lock.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/mutex.h"
#include "blobstore/shadow/catalog.h"

namespace shadowfs::shadow {

class ConfidenceModel {
 public:
  static constexpr double kPriorStrength = 0.1;
  static constexpr size_t kMaxForgottenKeys = 10000;

  explicit ConfidenceModel(double prior_changes_per_day);

  // "a/b/c" -> "a/b/"; "c" -> "".
  static std::string PrefixOf(std::string_view key);

  // One verification: `exposure_seconds` since the previous one, `changed` if the version
  // differed. Non-positive exposures without a change carry no information and are ignored.
  void Observe(std::string_view key, double exposure_seconds, bool changed) EXCLUDES(mu_);

  double Lambda(std::string_view key) const EXCLUDES(mu_);
  double Confidence(std::string_view key, base::WallTime last_verified, base::WallTime now) const
      EXCLUDES(mu_);

  // Tells the model whether the store holds `key`, which bounds the per-key statistics.
  void SetHeld(std::string_view key, bool held) EXCLUDES(mu_);

  // Persistence: Load replaces the statistics; TakeDirty returns the rows changed since the last
  // call (and forgets that they were dirty; call Restore on a failed write).
  void Load(const std::vector<ChangeStatRow>& rows) EXCLUDES(mu_);
  std::vector<ChangeStatRow> TakeDirty() EXCLUDES(mu_);
  void RestoreDirty(const std::vector<ChangeStatRow>& rows) EXCLUDES(mu_);

 private:
  struct Stats {
    double changes = 0;
    double exposure = 0;
  };
  double PrefixLambda(const std::string& prefix) const REQUIRES(mu_);
  void Prune() REQUIRES(mu_);

  const double prior_lambda_;  // per second

  mutable base::Mutex mu_;  // leaf lock
  std::map<std::string, Stats, std::less<>> keys_ GUARDED_BY(mu_);
  std::map<std::string, Stats, std::less<>> prefixes_ GUARDED_BY(mu_);
  std::set<std::string, std::less<>> held_ GUARDED_BY(mu_);
  std::set<std::string> dirty_ GUARDED_BY(mu_);  // scopes
};

}  // namespace shadowfs::shadow
