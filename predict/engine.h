// Engine: the prediction engine (DESIGN.md section 6, issue 5). It learns the access stream
// online (experts -> learner), plans prefetches within budgets (planner), keeps its own
// accounting, and persists its state in the store directory. It knows nothing of FUSE or the
// shadow format: AccessEvents come in, PrefetchRequests go out to a PrefetchSink (the shadow
// Materializer), and the store's eviction asks it ReuseProbability.
//
// Labels: a prediction (key, range, probability, time) is labelled 1 when the range is read
// within `horizon`, 0 when the horizon passes first. Accounting follows the same rule: a
// prefetched range is useful if it is read within the horizon after it was requested, wasted
// otherwise; it was timely if the prefetch had finished before that first read.
//
// Thread-safe: one internal mutex, held only for in-memory work. Observe and Tick are called by
// the mount's event-drain thread; OnPrefetchDone by the Materializer's threads (the engine is
// its PrefetchListener); ReuseProbability
// by the store's eviction; the rest by the control socket or the CLI. The sink is called with
// no lock of the engine held, so the sink may call OnPrefetchDone from inside Offer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blobstore/base/metrics.h"
#include "blobstore/base/prefetch.h"
#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "predict/access_event.h"
#include "predict/namespace_view.h"

namespace shadowfs::predict {

class Expert;
class KeyTable;

struct EngineOptions {
  // Where the model state persists (SQLite): STORE/predict.db for a mount. Empty: not persisted.
  std::string state_path;
  // A prediction is right if the range is read within this long.
  std::chrono::seconds horizon{600};
  // Prefetching on (the default) or off. Off still learns and accounts (what it would have
  // prefetched is neither fetched nor counted as prefetched).
  bool prefetch = true;
  // The reader of a file has its own readahead (the mount's FileSystem fetches ahead of a
  // sequential stream into the shadow): proposals of the file being read are then left to it,
  // since two readaheads of one stream fetch its bytes twice, and not labelled either: the
  // learner would be calibrated on predictions the planner never acts on (in a columnar
  // workload, confident misses of the next window after each column chunk pulled the sibling
  // expert's footers, all read, below the threshold: tests/bench/README.md).
  bool readahead_owns_open_file = false;
  // The planner's threshold adapts to hold this byte precision.
  double target_precision = 0.8;
  // Budgets.
  uint64_t max_bytes_in_flight = 256ull << 20;
  uint64_t bandwidth_bytes_per_second = 0;  // 0: unlimited
  // Prefetched shadows not yet read may use at most this share of the store's capacity; the
  // planner backs off as the store fills.
  double store_share = 0.5;
  // Keys tracked (the memory bound: about 200 bytes each).
  size_t max_keys = 1'000'000;
  // The largest range one prefetch asks for; larger objects are prefetched window by window.
  uint64_t max_request_bytes = 64ull << 20;
};

// What the engine may ask about the store: its capacity and fill, for the share that prefetched
// but unread bytes may take and the backoff. Thread-safe.
class StoreView {
 public:
  virtual ~StoreView() = default;
  virtual uint64_t used_bytes() const = 0;
  virtual uint64_t capacity_bytes() const = 0;
};

struct EngineDeps {
  NamespaceView* names = nullptr;  // may be null: experts that need listings stay quiet
  StoreView* store = nullptr;      // may be null: no store budget or fill backoff
  base::Runtime runtime{};         // clock (Tick's and OnPrefetchDone's times), logger, metrics
};

// One line of `shadowfs predict show`.
struct Prediction {
  std::string key;
  uint64_t offset = 0;
  uint64_t length = 0;
  double probability = 0;
  std::vector<std::pair<std::string, double>> experts;  // name, score; highest first
};

// Counters of the accounting, overall (expert "") and per expert.
struct ExpertAccounting {
  std::string expert;
  uint64_t prefetches = 0;
  uint64_t prefetched_bytes = 0;
  uint64_t useful_bytes = 0;  // prefetched bytes read within the horizon
  uint64_t wasted_bytes = 0;  // prefetched bytes the horizon passed without a read
  uint64_t useful_prefetches = 0;
  uint64_t timely_prefetches = 0;  // useful ones that had finished before the read
  double precision() const;        // useful / (useful + wasted); 0 before any outcome
  double timeliness() const;       // timely / useful
};

struct Accounting {
  ExpertAccounting overall;
  std::vector<ExpertAccounting> experts;
  uint64_t demand_reads = 0;
  uint64_t demand_bytes = 0;
  uint64_t covered_reads = 0;  // demand reads served from a prefetched shadow
  uint64_t covered_bytes = 0;
  double coverage() const;       // covered_reads / demand_reads
  double calibration_error = 0;  // expected calibration error over 10 bins, labelled so far
  uint64_t labelled_predictions = 0;
  double threshold = 0;  // the planner's current probability threshold
  uint64_t bytes_in_flight = 0;
  uint64_t tracked_keys = 0;
  uint64_t memory_bytes = 0;
  uint64_t events = 0;
};

class Engine final : public base::ReuseScorer, public base::PrefetchListener {
 public:
  // Loads the state in options.state_path if there is one (a state that cannot be read is logged
  // and replaced, never fatal: prediction is an optimisation).
  static base::Result<std::unique_ptr<Engine>> Create(EngineOptions options, EngineDeps deps);
  // As Create, with the experts `make_experts` builds over the engine's key table instead of
  // MakeExperts' (predict/experts/all.h): for tests and experiments with other models.
  using ExpertFactory =
      std::function<std::vector<std::unique_ptr<Expert>>(KeyTable* keys, NamespaceView* names)>;
  static base::Result<std::unique_ptr<Engine>> CreateWithExperts(EngineOptions options,
                                                                 EngineDeps deps,
                                                                 const ExpertFactory& make_experts);
  ~Engine() override;  // saves the state
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Where prefetches go; may be set once, after construction (the Materializer needs the store,
  // which needs this engine as its ReuseScorer). Until then nothing is prefetched.
  void AttachSink(base::PrefetchSink* sink);

  // Learns from one read and offers the prefetches it now warrants.
  void Observe(const AccessEvent& event);
  // Time-driven work, about once a second: periodic and change-rate proposals, labels whose
  // horizon passed, threshold adaptation, metrics, and a save every few minutes.
  void Tick();
  // The NamespaceView's background listing of `dir` has arrived (Expert::Listed): the experts
  // that waited for it propose, and the prefetches they warrant are offered.
  void Listed(std::string_view dir);
  void OnPrefetchDone(const base::PrefetchResult& result) override;

  double ReuseProbability(std::string_view key, base::WallTime now) override;

  // The most probable next reads (under `prefix`), with the experts behind each.
  std::vector<Prediction> Top(std::string_view prefix, size_t limit);
  Accounting accounting() const;
  base::Status Save();
  // Writes the accounting and gauges to the runtime's metrics registry now. Tick does it every
  // 10 s; a scrape's collector calls it so that the scrape sees the current figures.
  void ExportMetrics();

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The standard experts (MakeExperts in predict/experts/all.h) configured from `options`: what
// Create uses, for callers of CreateWithExperts and Replayer that want the same models.
Engine::ExpertFactory StandardExperts(const EngineOptions& options);

}  // namespace shadowfs::predict
