#include "predict/learner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace shadowfs::predict {
namespace {

constexpr double kLearningRate = 0.05;
constexpr double kMinRate = 0.005;
constexpr double kRateHalfLife = 1000;  // labels
constexpr double kPlattRate = 0.005;    // slower than the first stage, so the two do not chase
constexpr double kPlattPull = 0.02;
constexpr double kL2 = 1e-4;
constexpr double kMaxWeight = 12.0;
// Reliability bins forget slowly, so the reported error follows the recent stream.
constexpr double kBinDecay = 0.9995;
// Priors: a cold learner takes one expert's score about at its word (the experts' scores are
// probability estimates of their own: Laplace's rule on a run, a pass's read rate), since its
// labels come a label window later and a recurring job's first runs are where prefetching
// matters. sigmoid(4s - 2) is within 0.035 of s for s in [0.25, 0.8] and flattens above (0.80 at
// 0.85, 0.88 at 1): a lone expert needs s >= 0.85 to pass the initial threshold of 0.8. Two experts
// agreeing at 0.75 give 0.95; a candidate no expert scores, 0.12.
constexpr double kPriorExpertWeight = 4.0;
constexpr double kPriorBias = -2.0;

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double Clamp(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }

}  // namespace

Learner::Learner(std::vector<std::string> expert_names)
    : names_(std::move(expert_names)), w_(names_.size() + kExtraFeatures, 0.0), bias_(kPriorBias) {
  for (size_t i = 0; i < names_.size(); ++i) w_[i] = kPriorExpertWeight;
}

void Learner::SetExtras(uint64_t size, double recency, Features* x) const {
  x->resize(num_features());
  size_t n = names_.size();
  int agree = 0;
  for (size_t i = 0; i < n; ++i) agree += (*x)[i] > kAgreeScore ? 1 : 0;
  // log2 of the size, scaled so that 1 TiB is 1.
  (*x)[n] = static_cast<float>(std::log2(static_cast<double>(size) + 1.0) / 40.0);
  (*x)[n + 1] = static_cast<float>(Clamp(recency, 0, 1));
  (*x)[n + 2] = n == 0 ? 0.0f : static_cast<float>(agree) / static_cast<float>(n);
}

double Learner::Raw(const Features& x) const {
  double z = bias_;
  size_t n = std::min(x.size(), w_.size());
  for (size_t i = 0; i < n; ++i) z += w_[i] * x[i];
  return z;
}

double Learner::Predict(const Features& x) const {
  return Clamp(Sigmoid(platt_a_ * Raw(x) + platt_b_), 1e-4, 1 - 1e-4);
}

size_t Learner::StrongestExpert(const Features& x) const {
  size_t best = 0;
  double best_weight = 0;
  for (size_t i = 0; i < names_.size() && i < x.size(); ++i) {
    const double weight = w_[i] * x[i];
    if (weight > best_weight) best = i, best_weight = weight;
  }
  return best;
}

void Learner::Update(const Features& x, bool label, double predicted) {
  double y = label ? 1.0 : 0.0;
  // First stage: log-loss gradient of the raw model.
  double z = Raw(x);
  double g = Sigmoid(z) - y;
  // A rate that decays with experience, to a floor that keeps following a changing workload.
  double rate = std::max(kMinRate, kLearningRate / std::sqrt(1.0 + labelled_ / kRateHalfLife));
  size_t n = std::min(x.size(), w_.size());
  for (size_t i = 0; i < n; ++i) {
    w_[i] = Clamp(w_[i] - rate * (g * x[i] + kL2 * w_[i]), -kMaxWeight, kMaxWeight);
  }
  bias_ = Clamp(bias_ - rate * g, -kMaxWeight, kMaxWeight);
  // Second stage: Platt correction over the (updated) raw logit.
  double zr = Raw(x);
  double gp = Sigmoid(platt_a_ * zr + platt_b_) - y;
  // Pulled towards the identity: where the first stage is already calibrated the correction has a
  // direction it cannot learn (a constant logit fits any a, b with a * z + b fixed) and would
  // wander along it.
  platt_a_ = Clamp(platt_a_ - kPlattRate * (gp * zr + kPlattPull * (platt_a_ - 1)), 0.2, 5.0);
  platt_b_ = Clamp(platt_b_ - kPlattRate * (gp + kPlattPull * platt_b_), -5.0, 5.0);

  for (Bin& b : bins_) {
    b.count *= kBinDecay;
    b.predicted_sum *= kBinDecay;
    b.positives *= kBinDecay;
  }
  size_t bin = std::min(kBins - 1, static_cast<size_t>(Clamp(predicted, 0, 1) * kBins));
  bins_[bin].count += 1;
  bins_[bin].predicted_sum += predicted;
  bins_[bin].positives += y;
  ++labelled_;
}

double Learner::CalibrationError() const {
  double total = 0, err = 0;
  for (const Bin& b : bins_) {
    if (b.count <= 0) continue;
    total += b.count;
    err += std::abs(b.predicted_sum - b.positives);  // count * |mean predicted - rate|
  }
  return total > 0 ? err / total : 0;
}

double Learner::CalibrationLabels() const {
  double total = 0;
  for (const Bin& b : bins_) total += b.count;
  return total;
}

std::string Learner::Save() const {
  std::ostringstream out;
  out.precision(17);
  out << "learner 1\n";
  for (size_t i = 0; i < names_.size(); ++i) out << "expert:" << names_[i] << ' ' << w_[i] << '\n';
  size_t n = names_.size();
  out << "log_size " << w_[n] << "\nrecency " << w_[n + 1] << "\nagreement " << w_[n + 2] << '\n';
  out << "labelled " << labelled_ << '\n';
  out << "bias " << bias_ << "\nplatt_a " << platt_a_ << "\nplatt_b " << platt_b_ << '\n';
  return out.str();
}

base::Status Learner::Load(std::string_view blob) {
  std::istringstream in{std::string(blob)};
  std::string word;
  int version = 0;
  if (!(in >> word >> version) || word != "learner" || version != 1) {
    return base::Status::Corruption("learner state: unknown header");
  }
  std::vector<double> w = w_;
  double bias = bias_, a = platt_a_, b = platt_b_;
  uint64_t labelled = labelled_;
  std::string name;
  double value = 0;
  size_t n = names_.size();
  while (in >> name >> value) {
    if (!std::isfinite(value)) return base::Status::Corruption("learner state: non-finite weight");
    if (name != "labelled") value = Clamp(value, -kMaxWeight, kMaxWeight);
    if (name.rfind("expert:", 0) == 0) {
      auto it = std::find(names_.begin(), names_.end(), name.substr(7));
      if (it != names_.end()) w[static_cast<size_t>(it - names_.begin())] = value;
    } else if (name == "log_size") {
      w[n] = value;
    } else if (name == "recency") {
      w[n + 1] = value;
    } else if (name == "agreement") {
      w[n + 2] = value;
    } else if (name == "labelled") {
      labelled = static_cast<uint64_t>(std::max(0.0, value));
    } else if (name == "bias") {
      bias = value;
    } else if (name == "platt_a") {
      a = Clamp(value, 0.2, 5.0);
    } else if (name == "platt_b") {
      b = Clamp(value, -5.0, 5.0);
    }
  }
  if (!in.eof()) return base::Status::Corruption("learner state: malformed line");
  w_ = std::move(w);
  bias_ = bias;
  platt_a_ = a;
  platt_b_ = b;
  labelled_ = labelled;
  return base::Status::Ok();
}

}  // namespace shadowfs::predict
