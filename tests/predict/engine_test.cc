#include "predict/engine.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>

#include "blobstore/base/runtime.h"
#include "predict/key_table.h"
#include "predict/state_store.h"
#include "tests/predict/fake_expert.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::predict {
namespace {

using std::chrono::seconds;

// Records offers; accepts them (or not) and, like a fast Materializer, reports each one done from
// inside Offer.
class RecordingSink final : public base::PrefetchSink {
 public:
  explicit RecordingSink(base::Clock* clock) : clock_(clock) {}
  bool Offer(base::PrefetchRequest r) override {
    offers.push_back(r);
    if (!accept || present.contains(r.key)) return false;
    if (engine != nullptr && complete) {
      engine->OnPrefetchDone(
          {r.key, r.offset, r.length == 0 ? 100 : r.length, true, clock_->Now()});
    }
    return true;
  }
  Engine* engine = nullptr;
  bool accept = true;
  bool complete = true;
  std::set<std::string> present;  // refused, as the Materializer refuses complete shadows
  std::vector<base::PrefetchRequest> offers;

 private:
  base::Clock* clock_;
};

class EngineTest : public ::testing::Test {
 protected:
  std::unique_ptr<Engine> Make(EngineOptions options = {}) {
    EngineDeps deps;
    deps.runtime = rt_.runtime();
    auto e = Engine::CreateWithExperts(std::move(options), deps, fakes::MakeFakeExperts);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    sink_.engine = e->get();
    (*e)->AttachSink(&sink_);
    return std::move(*e);
  }

  // An engine with the experts `make` builds; the sink attached if `attach`.
  using ExpertsFn = std::function<std::vector<std::unique_ptr<Expert>>(KeyTable*)>;
  std::unique_ptr<Engine> MakeWith(const ExpertsFn& make, bool attach) {
    EngineDeps deps;
    deps.runtime = rt_.runtime();
    auto e = Engine::CreateWithExperts(EngineOptions{}, deps,
                                       [&](KeyTable* keys, NamespaceView*) { return make(keys); });
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return nullptr;
    if (attach) {
      sink_.engine = e->get();
      (*e)->AttachSink(&sink_);
    }
    return std::move(*e);
  }

  // An engine with the expert X (made from the key table), after a FakeSuccessor if
  // `with_successor`; *expert points at it.
  template <typename X>
  std::unique_ptr<Engine> MakeWithExpert(X** expert, bool with_successor, bool attach) {
    return MakeWith(
        [&](KeyTable* keys) {
          std::vector<std::unique_ptr<Expert>> v;
          if (with_successor) v.push_back(std::make_unique<fakes::FakeSuccessor>(keys));
          auto x = std::make_unique<X>(keys);
          *expert = x.get();
          v.push_back(std::move(x));
          return v;
        },
        attach);
  }

  // Opens and reads `key` whole (100 bytes), one second after the previous read. `length` 0: an
  // open whose reads the kernel's page cache serves. From `offset`, `length` bytes.
  void Read(Engine* e, const std::string& key, bool from_shadow = false, uint64_t length = 100,
            uint64_t offset = 0) {
    rt_.fake_clock()->Advance(seconds(1));
    AccessEvent ev;
    ev.key = std::make_shared<const std::string>(key);
    ev.process_name = std::make_shared<const std::string>("job");
    ev.etag = std::make_shared<const std::string>("etag-" + key);
    ev.object_size = 100;
    ev.offset = offset;
    ev.length = length;
    ev.time = rt_.fake_clock()->Now();
    ev.first_read = true;
    ev.from_shadow = from_shadow;
    e->Observe(ev);
    e->Tick();
  }

  // Reads a..j in order, `passes` times; a read is from a shadow if it was prefetched.
  void Cycle(Engine* e, int passes) {
    for (int p = 0; p < passes; ++p) {
      for (char c = 'a'; c <= 'j'; ++c) {
        std::string key(1, c);
        bool prefetched = false;
        for (const auto& o : sink_.offers) prefetched |= o.key == key;
        Read(e, key, prefetched);
      }
    }
  }

  base::OwnedRuntime rt_;
  RecordingSink sink_{rt_.fake_clock()};
};

TEST_F(EngineTest, LearnsARepeatingSequenceAndPrefetchesTheNextFile) {
  auto e = Make();
  Cycle(e.get(), 30);
  ASSERT_FALSE(sink_.offers.empty());
  const base::PrefetchRequest& o = sink_.offers.back();
  EXPECT_EQ(o.expert, "fake_successor");
  EXPECT_EQ(o.expected_etag, "etag-" + o.key) << "If-Match with the ETag last seen";
  EXPECT_EQ(o.offset, 0u);
  EXPECT_EQ(o.length, 100u);
  EXPECT_GE(o.probability, 0.5);

  sink_.offers.clear();
  Read(e.get(), "c");
  EXPECT_TRUE(sink_.offers.empty()) << "d was prefetched within the horizon: not again";
  rt_.fake_clock()->Advance(seconds(601));
  Read(e.get(), "c");
  ASSERT_EQ(sink_.offers.size(), 1u);
  EXPECT_EQ(sink_.offers[0].key, "d");

  Accounting a = e->accounting();
  EXPECT_GT(a.overall.prefetches, 0u);
  EXPECT_GT(a.covered_reads, 0u);
  EXPECT_EQ(a.events, 302u);
  EXPECT_EQ(a.demand_reads, 302u);
  EXPECT_GT(a.labelled_predictions, 0u);
  EXPECT_EQ(a.tracked_keys, 10u);
  EXPECT_EQ(a.bytes_in_flight, 0u) << "every prefetch reported done";
  ASSERT_EQ(a.experts.size(), 1u);
  EXPECT_EQ(a.experts[0].prefetches, a.overall.prefetches);

  EXPECT_GT(e->ReuseProbability("e", rt_.fake_clock()->Now()), 0.0);
  EXPECT_EQ(e->ReuseProbability("never-seen", rt_.fake_clock()->Now()), 0.0);
}

// Opens served from the page cache (events of length 0) teach the models that learn from opens
// and label predictions, but are not demand reads: nothing reached the filesystem.
TEST_F(EngineTest, CachedOpensTeachTheModelsButAreNotDemandReads) {
  auto e = Make();
  for (char c = 'a'; c <= 'j'; ++c) {
    Read(e.get(), std::string(1, c));
    sink_.present.insert(std::string(1, c));  // read through into the store
  }
  for (int pass = 0; pass < 29; ++pass) {
    for (char c = 'a'; c <= 'j'; ++c) Read(e.get(), std::string(1, c), true, /*length=*/0);
  }
  rt_.fake_clock()->Advance(seconds(601));  // every label given, every request forgotten
  e->Tick();
  Accounting a = e->accounting();
  EXPECT_EQ(a.events, 300u);
  EXPECT_EQ(a.demand_reads, 10u);
  EXPECT_EQ(a.covered_reads, 0u);
  EXPECT_GT(a.labelled_predictions, 200u);
  EXPECT_LT(a.calibration_error, 0.3) << "the opens labelled the predictions right";
  EXPECT_EQ(a.overall.prefetches, 0u) << "the store held every file";
  sink_.offers.clear();
  sink_.present.erase("d");  // evicted
  Read(e.get(), "c");
  ASSERT_FALSE(sink_.offers.empty()) << "the sequence was learned from opens; threshold "
                                     << a.threshold << ", labelled " << a.labelled_predictions;
  EXPECT_EQ(sink_.offers[0].key, "d");
}

// A query engine opens each file of a table at its footer: whichever expert predicts the next
// file's open (here the successor), the engine offers its tail, as long as the footers read,
// also while the opens come from the page cache (no reads: they say nothing of the shape); read
// from their starts again, the files are offered from their starts.
TEST_F(EngineTest, APredictedOpenInADirectoryReadAtItsTailsIsOfferedAsTheTail) {
  auto e = Make();
  auto cycle = [&](uint64_t offset, uint64_t length) {
    for (char c = 'a'; c <= 'j'; ++c) Read(e.get(), std::string("tbl/") + c, false, length, offset);
  };
  for (int pass = 0; pass < 30; ++pass) cycle(90, 10);
  ASSERT_FALSE(sink_.offers.empty());
  for (const auto& o : sink_.offers) {
    EXPECT_EQ(o.offset, 90u) << o.key;
    EXPECT_EQ(o.length, 10u) << o.key;
  }
  sink_.offers.clear();
  rt_.fake_clock()->Advance(seconds(601));  // every request forgotten
  for (int pass = 0; pass < 3; ++pass) cycle(0, 0);
  ASSERT_FALSE(sink_.offers.empty());
  for (const auto& o : sink_.offers) EXPECT_EQ(o.offset, 90u) << o.key;
  rt_.fake_clock()->Advance(seconds(601));
  for (int pass = 0; pass < 6; ++pass) cycle(0, 100);
  sink_.offers.clear();
  rt_.fake_clock()->Advance(seconds(601));
  cycle(0, 100);
  ASSERT_FALSE(sink_.offers.empty());
  for (const auto& o : sink_.offers) EXPECT_EQ(o.offset, 0u) << o.key;
}

// An expert that always expects the next 100 bytes of the file just read, sure of it.
// An expert without state: nothing to forget, save or load.
class StatelessExpert : public Expert {
 public:
  void Forget(const std::vector<KeyId>&) override {}
  size_t MemoryBytes() const override { return 0; }
  std::string Save(const std::function<std::string_view(KeyId)>&) const override { return ""; }
  base::Status Load(std::string_view, const std::function<KeyId(std::string_view)>&) override {
    return base::Status::Ok();
  }
};

class NextRangeExpert final : public StatelessExpert {
 public:
  std::string_view name() const override { return "next_range"; }
  void Observe(const Access& a, std::vector<Candidate>* out) override {
    out->push_back({a.key, a.offset + 100, 100, 1.0, a.time});
  }
  double Score(KeyId, base::WallTime) const override { return 1.0; }
};

// With a reader that has its own readahead (the mount), the open file's next ranges are left to
// it: never prefetched twice, and not labelled (the learner would learn from predictions it
// never acts on).
TEST_F(EngineTest, TheOpenFilesRangesAreLeftToTheReadersReadahead) {
  for (bool owned : {false, true}) {
    EngineOptions options;
    options.readahead_owns_open_file = owned;
    EngineDeps deps;
    deps.runtime = rt_.runtime();
    auto e = Engine::CreateWithExperts(options, deps, [](KeyTable*, NamespaceView*) {
      std::vector<std::unique_ptr<Expert>> experts;
      experts.push_back(std::make_unique<NextRangeExpert>());
      return experts;
    });
    ASSERT_TRUE(e.ok());
    sink_.engine = e->get();
    (*e)->AttachSink(&sink_);
    sink_.offers.clear();
    for (int i = 0; i < 5; ++i) {
      rt_.fake_clock()->Advance(seconds(1));
      AccessEvent ev;
      ev.key = std::make_shared<const std::string>("big");
      ev.object_size = 10000;
      ev.offset = 100 * static_cast<uint64_t>(i);
      ev.length = 100;
      ev.time = rt_.fake_clock()->Now();
      ev.first_read = i == 0;
      (*e)->Observe(ev);
    }
    if (owned) {
      EXPECT_TRUE(sink_.offers.empty());
      EXPECT_TRUE((*e)->Top("", 10).empty()) << "nothing predicted, nothing to label";
      EXPECT_EQ((*e)->accounting().labelled_predictions, 0u);
    } else {
      EXPECT_FALSE(sink_.offers.empty());
    }
    sink_.engine = nullptr;
  }
}

// Proposes "d/x" when the listing of "d/" arrives, as the sibling expert does for a run that
// waited for it.
class ListingExpert final : public StatelessExpert {
 public:
  explicit ListingExpert(KeyTable* keys) : keys_(keys) {}
  std::string_view name() const override { return "listing"; }
  void Observe(const Access&, std::vector<Candidate>*) override {}
  void Listed(std::string_view dir, base::WallTime now, std::vector<Candidate>* out) override {
    if (dir != "d/") return;
    const KeyId x = keys_->Intern("d/x");
    keys_->SetObject(x, 100, "\"e\"");
    out->push_back({x, 0, 0, 1.0, now});
  }
  double Score(KeyId, base::WallTime) const override { return 1.0; }

 private:
  KeyTable* const keys_;
};

TEST_F(EngineTest, AListingsArrivalOffersWhatTheExpertsWaitingForItPropose) {
  EngineDeps deps;
  deps.runtime = rt_.runtime();
  auto e = Engine::CreateWithExperts(EngineOptions{}, deps, [](KeyTable* keys, NamespaceView*) {
    std::vector<std::unique_ptr<Expert>> experts;
    experts.push_back(std::make_unique<ListingExpert>(keys));
    return experts;
  });
  ASSERT_TRUE(e.ok());
  sink_.engine = e->get();
  (*e)->AttachSink(&sink_);
  (*e)->Listed("other/");
  EXPECT_TRUE(sink_.offers.empty());
  (*e)->Listed("d/");
  ASSERT_EQ(sink_.offers.size(), 1u);
  EXPECT_EQ(sink_.offers[0].key, "d/x");
  EXPECT_EQ(sink_.offers[0].expected_etag, "\"e\"");
  sink_.engine = nullptr;
}

TEST_F(EngineTest, HorizonLabelsAndAccountsEveryPrediction) {
  auto e = Make();
  Cycle(e.get(), 30);
  Accounting before = e->accounting();
  EXPECT_EQ(before.overall.wasted_bytes, 0u) << "every prediction came true so far";
  EXPECT_GT(before.overall.useful_bytes, 0u);
  // Later, j is read again and a prefetched, but the pattern has stopped: the prefetch is wasted
  // once the horizon passes.
  rt_.fake_clock()->Advance(seconds(601));
  sink_.offers.clear();
  Read(e.get(), "j");
  ASSERT_EQ(sink_.offers.size(), 1u);
  EXPECT_EQ(sink_.offers[0].key, "a");
  rt_.fake_clock()->Advance(seconds(601));
  e->Tick();
  Accounting after = e->accounting();
  EXPECT_EQ(after.overall.wasted_bytes, 100u);
  EXPECT_GT(after.labelled_predictions, before.labelled_predictions);
  EXPECT_GT(after.overall.precision(), 0.9);
  EXPECT_GT(after.overall.timeliness(), 0.9);
}

// The chain's right predictions are read a second after they are made, so their labels come a
// few times that delay later (8 s), not after a fixed half minute: a short job teaches the
// learner while it runs.
TEST_F(EngineTest, LabelsComeAFewTimesTheProposersUsualDelayAfterAPrediction) {
  auto e = Make();
  Cycle(e.get(), 3);  // 30 s; predictions from the second pass on, each read 1 s later
  EXPECT_GE(e->accounting().labelled_predictions, 5u) << "labelled while the job runs";
  rt_.fake_clock()->Advance(seconds(10));
  e->Tick();
  EXPECT_GE(e->accounting().labelled_predictions, 15u);
}

// Scores one key and says its read may take `within` to come (as the epoch expert says of a
// shuffled pass's unread members); proposes nothing.
class PatientExpert final : public StatelessExpert {
 public:
  explicit PatientExpert(KeyTable* keys) : keys_(keys) {}
  std::string_view name() const override { return "patient"; }
  void Observe(const Access&, std::vector<Candidate>*) override {}
  double Score(KeyId key, base::WallTime) const override { return Mine(key) ? 0.5 : 0; }
  std::chrono::seconds Within(KeyId key, base::WallTime) const override {
    return Mine(key) ? within : seconds(0);
  }
  std::string key;
  seconds within{0};

 private:
  bool Mine(KeyId id) const { return !key.empty() && keys_->Name(id) == key; }
  KeyTable* keys_;
};

// An expert that knows a read may come late (a shuffled pass with a minute left) says so, and a
// prediction of that key waits that long for its label, whoever proposed it: with the few
// seconds the proposer's past hits suggest, a label of 0 would teach the learner that the
// patient expert's score means "not read".
TEST_F(EngineTest, APredictionWaitsAsLongAsAnyExpertScoringItSays) {
  PatientExpert* patient = nullptr;
  std::unique_ptr<Engine> e = MakeWithExpert(&patient, /*with_successor=*/true, /*attach=*/false);
  ASSERT_NE(e, nullptr);
  Cycle(e.get(), 3);  // right predictions read 1 s after they are made: windows of about 8 s
  rt_.fake_clock()->Advance(seconds(20));
  e->Tick();
  const uint64_t settled = e->accounting().labelled_predictions;

  patient->key = "a";
  patient->within = seconds(60);
  Read(e.get(), "j");  // the successor proposes "a", read 40 s later
  rt_.fake_clock()->Advance(seconds(30));
  e->Tick();
  EXPECT_EQ(e->accounting().labelled_predictions, settled) << "still within the 60 s";
  rt_.fake_clock()->Advance(seconds(9));
  Read(e.get(), "a");
  rt_.fake_clock()->Advance(seconds(61));
  e->Tick();
  EXPECT_GT(e->accounting().labelled_predictions, settled);

  patient->within = seconds(0);
  const uint64_t before = e->accounting().labelled_predictions;
  Read(e.get(), "j");
  rt_.fake_clock()->Advance(seconds(30));
  e->Tick();
  EXPECT_GT(e->accounting().labelled_predictions, before) << "the usual window: long passed";
}

// Proposes "next" at `score` on every read.
class ScriptedExpert final : public StatelessExpert {
 public:
  explicit ScriptedExpert(KeyTable* keys) : keys_(keys) {}
  std::string_view name() const override { return "scripted"; }
  void Observe(const Access& a, std::vector<Candidate>* out) override {
    const KeyId next = keys_->Intern("next");
    keys_->SetObject(next, 100, "etag-next");
    out->push_back({next, 0, 0, score, a.time});
  }
  double Score(KeyId, base::WallTime) const override { return 0; }
  double score = 0;

 private:
  KeyTable* keys_;
};

// A range scored a moment ago keeps its probability (experts propose the same ranges read after
// read), unless its proposer is more confident now: a run of files one longer makes the next
// file worth a prefetch at once, not a second later.
TEST_F(EngineTest, AProposalWhoseScoreGrewIsScoredAgainAtOnce) {
  ScriptedExpert* scripted = nullptr;
  std::unique_ptr<Engine> e = MakeWithExpert(&scripted, /*with_successor=*/false, /*attach=*/true);
  ASSERT_NE(e, nullptr);
  for (double score : {0.3, 0.3, 0.99}) {
    scripted->score = score;
    rt_.fake_clock()->Advance(std::chrono::milliseconds(100));
    AccessEvent ev;
    ev.key = std::make_shared<const std::string>("x" + std::to_string(sink_.offers.size()));
    ev.object_size = 100;
    ev.length = 100;
    ev.time = rt_.fake_clock()->Now();
    ev.first_read = true;
    e->Observe(ev);
    if (score < 0.5) {
      EXPECT_TRUE(sink_.offers.empty()) << "not at " << score;
    }
  }
  ASSERT_EQ(sink_.offers.size(), 1u);
  EXPECT_EQ(sink_.offers[0].key, "next");
  EXPECT_GE(sink_.offers[0].probability, 0.8);
  sink_.engine = nullptr;
}

TEST_F(EngineTest, WithPrefetchOffItLearnsButOffersNothing) {
  EngineOptions options;
  options.prefetch = false;
  auto e = Make(options);
  Cycle(e.get(), 30);
  EXPECT_TRUE(sink_.offers.empty());
  Accounting a = e->accounting();
  EXPECT_EQ(a.demand_reads, 300u);
  EXPECT_EQ(a.overall.prefetches, 0u);
  EXPECT_GT(a.labelled_predictions, 30u);
  std::vector<Prediction> top = e->Top("", 5);
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].key, "a") << "after j comes a";
  ASSERT_FALSE(top[0].experts.empty());
  EXPECT_EQ(top[0].experts[0].first, "fake_successor");
  EXPECT_TRUE(e->Top("zzz/", 5).empty());
}

TEST_F(EngineTest, RefusedOffersGiveTheirBudgetBack) {
  auto e = Make();
  sink_.accept = false;
  Cycle(e.get(), 30);
  EXPECT_FALSE(sink_.offers.empty());
  Accounting a = e->accounting();
  EXPECT_EQ(a.overall.prefetches, 0u);
  EXPECT_EQ(a.bytes_in_flight, 0u);
  size_t offered = sink_.offers.size();
  Read(e.get(), "a");
  EXPECT_EQ(sink_.offers.size(), offered + 1) << "a refused range may be offered again";
}

TEST_F(EngineTest, InFlightPrefetchesCountUntilDone) {
  auto e = Make();
  sink_.complete = false;
  Cycle(e.get(), 30);
  Accounting a = e->accounting();
  ASSERT_GT(a.overall.prefetches, 0u);
  EXPECT_EQ(a.bytes_in_flight, a.overall.prefetched_bytes);
  for (const auto& o : sink_.offers) {
    e->OnPrefetchDone({o.key, o.offset, o.length, true, rt_.fake_clock()->Now()});
  }
  EXPECT_EQ(e->accounting().bytes_in_flight, 0u);
}

TEST_F(EngineTest, ExportsItsMetricsOnTick) {
  auto e = Make();
  Cycle(e.get(), 30);
  // Exported every 10 s of Ticks: the next export includes everything so far.
  rt_.fake_clock()->Advance(std::chrono::seconds(10));
  e->Tick();
  std::string text = rt_.metrics().ExportPrometheus();
  for (const char* name :
       {"shadowfs_predict_prefetches_total{expert=\"fake_successor\"}",
        "shadowfs_predict_prefetched_bytes_total", "shadowfs_predict_useful_bytes_total",
        "shadowfs_predict_wasted_bytes_total", "shadowfs_predict_timely_prefetches_total",
        "shadowfs_predict_demand_reads_total 300", "shadowfs_predict_covered_reads_total",
        "shadowfs_predict_precision", "shadowfs_predict_coverage",
        "shadowfs_predict_calibration_error", "shadowfs_predict_calibration_labels",
        "shadowfs_predict_threshold", "shadowfs_predict_tracked_keys 10",
        "shadowfs_predict_memory_bytes", "shadowfs_predict_bytes_in_flight"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
}

TEST_F(EngineTest, ALearnedPatternSurvivesARestart) {
  testing::TempDir dir;
  EngineOptions options;
  options.state_path = dir.File("predict.db");
  {
    auto e = Make(options);
    Cycle(e.get(), 30);
  }  // saved on destruction
  sink_.offers.clear();
  auto e = Make(options);
  Read(e.get(), "f");
  ASSERT_EQ(sink_.offers.size(), 1u) << "the first open after the restart is predicted";
  EXPECT_EQ(sink_.offers[0].key, "g");
  EXPECT_GE(sink_.offers[0].probability, 0.8);
}

// The read shapes persist with the state: after a restart, opens the page cache serves (no
// reads, nothing to learn a shape from) are predicted as the tails they were before.
TEST_F(EngineTest, ReadShapesSurviveARestart) {
  testing::TempDir dir;
  EngineOptions options;
  options.state_path = dir.File("predict.db");
  {
    auto e = Make(options);
    for (int pass = 0; pass < 30; ++pass) {
      for (char c = 'a'; c <= 'j'; ++c) Read(e.get(), std::string("tbl/") + c, false, 10, 90);
    }
  }  // saved on destruction
  sink_.offers.clear();
  auto e = Make(options);
  // A file not seen since the restart has no known size: its tail cannot be placed, and it is
  // not offered whole either. Once seen, it is offered as its tail.
  for (int pass = 0; pass < 2; ++pass) {
    for (char c = 'a'; c <= 'j'; ++c) Read(e.get(), std::string("tbl/") + c, false, 0);
  }
  ASSERT_FALSE(sink_.offers.empty());
  for (const auto& o : sink_.offers) EXPECT_EQ(o.offset, 90u) << o.key;
}

TEST_F(EngineTest, ACorruptStateIsIgnoredAndReplaced) {
  testing::TempDir dir;
  EngineOptions options;
  options.state_path = dir.File("predict.db");
  std::ofstream(options.state_path) << "this is not a database, it only looks like one to a user";
  auto e = Make(options);
  Cycle(e.get(), 30);
  EXPECT_FALSE(sink_.offers.empty()) << "starts afresh and works";
  EXPECT_TRUE(e->Save().ok());
  e.reset();
  sink_.offers.clear();
  e = Make(options);
  Read(e.get(), "b");
  EXPECT_EQ(sink_.offers.size(), 1u) << "the new state was saved and loads";
}

TEST_F(EngineTest, AStateOfAnotherFormatIsIgnored) {
  testing::TempDir dir;
  EngineOptions options;
  options.state_path = dir.File("predict.db");
  std::ofstream(options.state_path).flush();  // an empty SQLite file: format 0
  auto loaded = LoadEngineState(options.state_path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), base::StatusCode::kNotSupported);
  auto e = Make(options);
  Cycle(e.get(), 30);
  EXPECT_FALSE(sink_.offers.empty());
  EXPECT_TRUE(e->Save().ok());
  EXPECT_TRUE(LoadEngineState(options.state_path).ok());
}

TEST_F(EngineTest, KeysAreRecycledPastTheBound) {
  EngineOptions options;
  options.max_keys = 64;
  auto e = Make(options);
  for (int i = 0; i < 1000; ++i) Read(e.get(), "k" + std::to_string(i % 300));
  Accounting a = e->accounting();
  EXPECT_LE(a.tracked_keys, 64u + 2u);
  EXPECT_EQ(a.events, 1000u);
  // Still learns after recycling.
  sink_.offers.clear();
  Cycle(e.get(), 30);
  EXPECT_FALSE(sink_.offers.empty());
}

}  // namespace
}  // namespace shadowfs::predict
