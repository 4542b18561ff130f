// A small first-order successor model over opens, standing in for the real experts in the
// engine's tests: after key A was followed by key B, an open of A proposes B with the fraction of
// A's successors that were B as its score. Deterministic; persists by name.
#pragma once

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "predict/expert.h"
#include "predict/key_table.h"

namespace shadowfs::predict::fakes {

class FakeSuccessor final : public Expert {
 public:
  explicit FakeSuccessor(KeyTable*) {}
  std::string_view name() const override { return "fake_successor"; }

  void Observe(const Access& a, std::vector<Candidate>* out) override {
    if (!a.first_read) return;
    if (last_ != kNoKey) counts_[last_][a.key]++;
    last_ = a.key;
    proposed_ = kNoKey;
    auto it = counts_.find(a.key);
    if (it == counts_.end()) return;
    int total = 0;
    KeyId best = kNoKey;
    int best_count = 0;
    for (const auto& [next, n] : it->second) {
      total += n;
      if (n > best_count) best = next, best_count = n;
    }
    proposed_ = best;
    proposed_score_ = static_cast<double>(best_count) / total;
    out->push_back({best, 0, 0, proposed_score_, {}});
  }

  double Score(KeyId key, base::WallTime) const override {
    return key == proposed_ ? proposed_score_ : 0;
  }

  void Forget(const std::vector<KeyId>& ids) override {
    for (KeyId id : ids) {
      counts_.erase(id);
      for (auto& [k, m] : counts_) m.erase(id);
      if (last_ == id) last_ = kNoKey;
      if (proposed_ == id) proposed_ = kNoKey;
    }
  }
  size_t MemoryBytes() const override { return counts_.size() * 64; }

  std::string Save(const std::function<std::string_view(KeyId)>& name_of) const override {
    std::ostringstream out;
    out << "fake 1\n";
    for (const auto& [a, m] : counts_) {
      for (const auto& [b, n] : m) out << name_of(a) << ' ' << name_of(b) << ' ' << n << '\n';
    }
    return out.str();
  }
  base::Status Load(std::string_view blob,
                    const std::function<KeyId(std::string_view)>& intern) override {
    std::istringstream in{std::string(blob)};
    std::string word, a, b;
    int version = 0, n = 0;
    if (!(in >> word >> version) || word != "fake") return base::Status::Corruption("fake");
    while (in >> a >> b >> n) counts_[intern(a)][intern(b)] += n;
    return base::Status::Ok();
  }

 private:
  std::map<KeyId, std::map<KeyId, int>> counts_;
  KeyId last_ = kNoKey;
  KeyId proposed_ = kNoKey;
  double proposed_score_ = 0;
};

inline std::vector<std::unique_ptr<Expert>> MakeFakeExperts(KeyTable* keys, NamespaceView*) {
  std::vector<std::unique_ptr<Expert>> experts;
  experts.push_back(std::make_unique<FakeSuccessor>(keys));
  return experts;
}

}  // namespace shadowfs::predict::fakes
