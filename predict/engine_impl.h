// Engine::Impl: the engine's state behind its one mutex (predict/engine.h), shared by engine.cc
// (the access path) and engine_state.cc (persistence, queries). Private to predict/.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "blobstore/base/mutex.h"
#include "predict/accounting.h"
#include "predict/engine.h"
#include "predict/expert.h"
#include "predict/experts/read_shape.h"
#include "predict/key_table.h"
#include "predict/labels.h"
#include "predict/learner.h"
#include "predict/planner.h"
#include "predict/state_store.h"

namespace shadowfs::predict {

struct Engine::Impl {
  Impl(EngineOptions opts, EngineDeps d, std::unique_ptr<KeyTable> k,
       const std::vector<std::string>& expert_names);

  // A request the planner admitted, until the sink refuses it or reports it done.
  struct InFlight {
    KeyId key = kNoKey;
    Planner::Decision decision;
  };
  // A request to offer once the mutex is released.
  struct Offer {
    base::PrefetchRequest request;
    KeyId key = kNoKey;
    Planner::Decision decision;
  };

  StoreState ReadStore() const;  // asked before taking mu: the store may call us under its lock
  KeyId InternProcess(const std::string& name, std::string_view* view) REQUIRES(mu);
  // Asks every expert for its proposals (`propose(expert, &out)`), into `cands`, with the index of
  // the expert behind each in `origin`; then Plans them (into `offers`).
  template <typename Propose>
  void ProposeAndPlan(Propose propose, base::WallTime now, const StoreState& store,
                      std::vector<Offer>* offers, KeyId readahead = kNoKey) REQUIRES(mu) {
    cands.clear();
    origin.clear();
    for (size_t i = 0; i < experts.size(); ++i) {
      propose(*experts[i], &cands);
      origin.resize(cands.size(), i);
    }
    if (!cands.empty()) Plan(&cands, origin, now, store, offers, readahead);
  }
  // Scores `cands` (proposed by experts `origin`), labels them and offers what the planner
  // admits; candidates of `readahead` (the file being read, when its reader has a readahead of
  // its own) are left alone.
  void Plan(std::vector<Candidate>* cands, const std::vector<size_t>& origin, base::WallTime now,
            const StoreState& store, std::vector<Offer>* offers, KeyId readahead = kNoKey)
      REQUIRES(mu);
  // The features of `key`: every expert's score, then the extras.
  void Featurize(KeyId key, base::WallTime now, Features* x) const REQUIRES(mu);
  void Label(const LabelQueue::Pending& p, bool label) REQUIRES(mu);
  // The longest Expert::Within among the experts that score `key` (features `x`).
  std::chrono::seconds Within(KeyId key, const Features& x, base::WallTime now) const REQUIRES(mu);
  // A prediction of expert `proposer` was proven right `delay` after it was made.
  void Hit(size_t proposer, std::chrono::nanoseconds delay) REQUIRES(mu);
  // How long a prediction of `proposer` waits for its label: a few times the usual delay between
  // a right prediction of that expert and its read, within [kMinLabelWindow, horizon]. Right
  // predictions are mostly read soon after (the next file of a chain: milliseconds; a shuffled
  // epoch's members: seconds), so most labels come much sooner than the horizon and the learner
  // keeps up with the stream, even within one short run; a read after the window counts as a
  // miss. Each expert has its own: a chain's milliseconds must not cut an epoch's seconds short.
  // At least `within` (see Within), when an expert knows how long the read may take.
  std::chrono::nanoseconds LabelWindow(size_t proposer, std::chrono::seconds within = {}) const
      REQUIRES(mu);
  // Over all experts: how long a prefetch waits before the planner hears of its outcome.
  std::chrono::nanoseconds LabelWindow() const REQUIRES(mu);
  void Outcome(uint64_t useful, uint64_t wasted) REQUIRES(mu);
  void RecycleKeys() REQUIRES(mu);
  void OfferAll(base::PrefetchSink* sink, std::vector<Offer>* offers) EXCLUDES(mu);
  EngineState CollectState() const REQUIRES(mu);
  void LoadState() REQUIRES(mu);
  void ExportGauges() REQUIRES(mu);
  uint64_t MemoryBytes() const REQUIRES(mu);

  const EngineOptions options;
  const EngineDeps deps;

  // Lock order: mu, then the sink's and the metrics registry's own locks. The sink is called
  // without mu; the store view is asked without mu.
  mutable base::Mutex mu;
  base::PrefetchSink* sink GUARDED_BY(mu) = nullptr;
  std::unique_ptr<KeyTable> keys GUARDED_BY(mu);
  std::vector<std::unique_ptr<Expert>> experts GUARDED_BY(mu);
  std::unordered_map<std::string, KeyId> processes GUARDED_BY(mu);
  // Where each directory's files are first read: a predicted open of a file in a directory read
  // at its tails is offered as that tail, whichever expert proposed it.
  experts::ReadShapes shapes GUARDED_BY(mu);
  Learner learner GUARDED_BY(mu);
  Planner planner GUARDED_BY(mu);
  Accountant accountant GUARDED_BY(mu);
  LabelQueue labels GUARDED_BY(mu);
  std::map<std::pair<std::string, uint64_t>, InFlight> in_flight GUARDED_BY(mu);
  uint64_t events GUARDED_BY(mu) = 0;
  uint64_t outcomes_since_adapt GUARDED_BY(mu) = 0;
  // Average delay of right predictions, by proposing expert; the last is over all of them. A
  // running mean for the first kHitDelayWarmup hits, then a moving average.
  struct HitDelay {
    double seconds = 10;
    uint64_t hits = 0;
    void Add(double d);
  };
  std::vector<HitDelay> hit_delay GUARDED_BY(mu);
  base::WallTime last_save GUARDED_BY(mu){};
  // Gauges (one walk over every structure for MemoryBytes) are exported every 10 s, not each Tick.
  base::WallTime last_export GUARDED_BY(mu){};
  // Scratch, kept to avoid allocating per access.
  std::vector<Candidate> cands GUARDED_BY(mu);
  std::vector<size_t> origin GUARDED_BY(mu);
  Features label_features GUARDED_BY(mu);
};

}  // namespace shadowfs::predict
