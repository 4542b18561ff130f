// Learner: the online model that turns the experts' scores (plus a few simple features) into a
// calibrated probability that a candidate range is read within the horizon (DESIGN.md section 6).
//
// Two stages. A logistic regression over the features, trained by SGD with a small L2 penalty
// and bounded weights, gives a raw probability; an online Platt correction (a second, two-weight
// logistic regression over logit(raw)) recalibrates it, because the first stage sees labels in a
// skewed mix (candidates are proposed mostly when experts are confident) and drifts. Reliability
// bins over the calibrated output measure the expected calibration error (ECE) the engine reports.
//
// Features (Features below): one per expert (its Score), then log size, recency, agreement; the
// bias is implicit. Weights start at a prior that trusts the experts moderately, so a cold engine
// prefetches only on strong agreement.
//
// Not thread-safe: owned by the engine, called under its mutex.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/status.h"

namespace shadowfs::predict {

// Feature values as stored in pending predictions (floats: the engine keeps many).
using Features = std::vector<float>;

class Learner {
 public:
  // The features are the experts' scores, in this order, then kExtraFeatures more.
  explicit Learner(std::vector<std::string> expert_names);

  static constexpr size_t kExtraFeatures = 3;  // log size, recency, agreement
  size_t num_features() const { return names_.size() + kExtraFeatures; }
  size_t num_experts() const { return names_.size(); }

  // Fills the extra features from raw quantities: the object's size in bytes (0 unknown), the
  // recency in [0, 1] (1: touched just now), and how many experts score above kAgreeScore.
  static constexpr double kAgreeScore = 0.2;
  void SetExtras(uint64_t size, double recency, Features* x) const;

  // The calibrated probability in (0, 1).
  double Predict(const Features& x) const;
  // The expert whose score weighs most in Predict(x): the largest weight * score (the first
  // expert when none contributes). Prefetches are credited to it.
  size_t StrongestExpert(const Features& x) const;
  // One SGD step towards `label` (true: read within the horizon); `predicted` is what Predict
  // returned when the prediction was made (for the reliability bins).
  void Update(const Features& x, bool label, double predicted);

  // Expected calibration error over kBins equal-width bins, weighting each bin by its count.
  static constexpr size_t kBins = 10;
  // 0 before any label: see CalibrationLabels.
  double CalibrationError() const;
  // The (decayed) number of labels in the bins, which the error rests on.
  double CalibrationLabels() const;
  uint64_t labelled() const { return labelled_; }
  struct Bin {
    double count = 0;
    double predicted_sum = 0;
    double positives = 0;
  };
  const std::array<Bin, kBins>& bins() const { return bins_; }

  // The weights as text lines "name weight": names, not positions, so that a state saved with a
  // different set of experts still loads (unknown names are ignored, missing ones keep priors).
  std::string Save() const;
  base::Status Load(std::string_view blob);

 private:
  double Raw(const Features& x) const;  // the first stage's logit

  std::vector<std::string> names_;  // the experts' names
  std::vector<double> w_;           // num_features() weights
  double bias_;
  double platt_a_ = 1.0;  // calibrated = sigmoid(platt_a_ * raw_logit + platt_b_)
  double platt_b_ = 0.0;
  std::array<Bin, kBins> bins_{};
  uint64_t labelled_ = 0;
};

}  // namespace shadowfs::predict
