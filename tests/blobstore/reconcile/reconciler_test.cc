// The reconciler over an in-memory primary (wrapped for fault injection and call counting) and a
// real ShadowStore in a scratch directory, on a FakeClock.
#include "blobstore/reconcile/reconciler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "blobstore/base/runtime.h"
#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/mem_blob_store.h"
#include "blobstore/shadow/materializer.h"
#include "blobstore/shadow/shadow_store.h"
#include "tests/blobstore/reconcile/reconcile_test_util.h"

namespace shadowfs::reconcile::testing {
namespace {

using blobstore::BlobOp;
using std::chrono::hours;
using std::chrono::seconds;

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shadow::ShadowStoreOptions options;
    options.dir = dir_.path() + "/store";
    auto store = shadow::ShadowStore::Open(options, runtime_.runtime());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  base::FakeClock& clock() { return *runtime_.fake_clock(); }
  std::string store_dir() const { return dir_.path() + "/store"; }

  // Puts `data` on the primary and a complete shadow of that version in the store.
  std::string PutWithShadow(const std::string& key, const std::string& data,
                            const shadow::FillOptions& fill = {}) {
    auto info = blobstore::PutString(mem_, key, data);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return "";
    base::Status st = store_->Fill(key, info->etag, data.size(), 0, data, fill);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return info->etag;
  }

  std::unique_ptr<Reconciler> MakeReconciler(shadow::Materializer* materializer = nullptr,
                                             base::ReuseScorer* scorer = nullptr,
                                             ReconcilerOptions options = {}) {
    options.store_dir = store_dir();
    auto r = Reconciler::Create(&primary_, store_.get(), materializer, scorer, options,
                                runtime_.runtime());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  uint64_t Counter(const std::string& name, const base::Labels& labels = {}) {
    return runtime_.metrics().GetCounter(name, "", labels).value();
  }

  TempDir dir_;
  base::OwnedRuntime runtime_;
  blobstore::MemBlobStore mem_{runtime_.fake_clock()};
  blobstore::FaultInjectionBlobStore primary_{&mem_, runtime_.fake_clock()};
  std::unique_ptr<shadow::ShadowStore> store_;
};

TEST_F(ReconcilerTest, MatchRefreshesConfidenceToOne) {
  PutWithShadow("data/a", "alpha");
  PutWithShadow("data/b", "beta");
  base::WallTime filled = clock().Now();
  clock().Advance(hours(24 * 30));
  ASSERT_LT(store_->Find("data/a")->confidence, 0.999) << "the prior should have decayed it";

  auto reconciler = MakeReconciler();
  primary_.ResetCounters();
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.shadows, 2u);
  EXPECT_EQ(report.matched, 2u);
  EXPECT_EQ(report.changed + report.deleted + report.skipped, 0u);
  EXPECT_EQ(report.list_requests, 1u);
  EXPECT_EQ(primary_.calls(BlobOp::kList), 1);
  EXPECT_EQ(primary_.calls(BlobOp::kHead), 0);
  for (const char* key : {"data/a", "data/b"}) {
    auto info = store_->Find(key);
    ASSERT_TRUE(info.has_value()) << key;
    EXPECT_GT(info->last_verified, filled);
    EXPECT_EQ(info->last_verified, clock().Now());
    EXPECT_NEAR(info->confidence, 1.0, 1e-9) << key;
  }
  EXPECT_EQ(report.lag_seconds, 0);
  EXPECT_EQ(Counter("shadowfs_reconcile_shadows_checked_total", {{"result", "match"}}), 2u);
  EXPECT_EQ(Counter("shadowfs_reconcile_list_requests_total"), 1u);
  EXPECT_EQ(Counter("shadowfs_reconcile_cycles_total"), 1u);
}

TEST_F(ReconcilerTest, RemoteChangeDropsTheShadow) {
  PutWithShadow("d/changed", "v1");
  PutWithShadow("d/same", "same");
  ASSERT_TRUE(primary_.MutateNow("d/changed", std::string_view("v2, from another writer")).ok());

  auto reconciler = MakeReconciler();
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.changed, 1u);
  EXPECT_EQ(report.matched, 1u);
  EXPECT_EQ(report.rematerialized, 0u);
  EXPECT_FALSE(store_->Find("d/changed").has_value());
  EXPECT_TRUE(store_->Find("d/same").has_value());
}

TEST_F(ReconcilerTest, RemoteChangeOfAHotShadowIsRematerialized) {
  PutWithShadow("d/hot", "hot v1");
  PutWithShadow("d/cold", "cold v1");
  auto hot = blobstore::PutString(mem_, "d/hot", "hot v2, longer than before");
  auto cold = blobstore::PutString(mem_, "d/cold", "cold v2");
  ASSERT_TRUE(hot.ok() && cold.ok());
  TableScorer scorer;
  scorer.Set("d/hot", 0.9);
  scorer.Set("d/cold", 0.1);
  shadow::Materializer materializer(&primary_, store_.get(), {}, runtime_.runtime());

  ReconcilerOptions options;
  options.rematerialize_threshold = 0.5;
  auto reconciler = MakeReconciler(&materializer, &scorer, options);
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.changed, 2u);
  EXPECT_EQ(report.rematerialized, 1u);
  materializer.Drain();
  auto info = store_->Find("d/hot");
  ASSERT_TRUE(info.has_value()) << "the hot shadow should be fetched again";
  EXPECT_EQ(info->etag, hot->etag);
  EXPECT_EQ(info->size, hot->size);
  EXPECT_TRUE(info->complete());
  EXPECT_FALSE(store_->Find("d/cold").has_value());
}

TEST_F(ReconcilerTest, RemoteDeleteDropsTheShadow) {
  PutWithShadow("d/gone", "bye");
  PutWithShadow("d/kept", "hi");
  PutWithShadow("e/gone-too", "bye");
  ASSERT_TRUE(primary_.MutateNow("d/gone", std::nullopt).ok());
  ASSERT_TRUE(primary_.MutateNow("e/gone-too", std::nullopt).ok());

  auto reconciler = MakeReconciler();
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.deleted, 2u);
  EXPECT_EQ(report.matched, 1u);
  EXPECT_FALSE(store_->Find("d/gone").has_value());
  EXPECT_FALSE(store_->Find("e/gone-too").has_value());
  EXPECT_TRUE(store_->Find("d/kept").has_value());
}

class ReconcilerManyTest : public ReconcilerTest {
 protected:
  static constexpr int kShadows = 2500;
  static std::string Key(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "dir/f%05d", i);
    return buf;
  }
  void SetUp() override {
    ReconcilerTest::SetUp();
    for (int i = 0; i < kShadows; ++i) PutWithShadow(Key(i), "content " + std::to_string(i));
  }
};

TEST_F(ReconcilerManyTest, OneListRequestPerThousandShadowsAndNoHead) {
  auto reconciler = MakeReconciler();
  primary_.ResetCounters();
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.matched, static_cast<uint64_t>(kShadows));
  EXPECT_EQ(primary_.calls(BlobOp::kList), 3);  // ceil(2500 / 1000)
  EXPECT_EQ(report.list_requests, 3u);
  EXPECT_EQ(primary_.calls(BlobOp::kHead), 0);
  EXPECT_EQ(primary_.calls(BlobOp::kGet), 0);
}

TEST_F(ReconcilerManyTest, ListingFailureMidCycleLeavesTheRestUntouched) {
  // One deletion on the first page, one beyond the failure.
  ASSERT_TRUE(primary_.MutateNow(Key(500), std::nullopt).ok());
  ASSERT_TRUE(primary_.MutateNow(Key(2000), std::nullopt).ok());
  base::WallTime filled = clock().Now();
  clock().Advance(hours(1));
  primary_.FailNthCall(BlobOp::kList, 2, base::Status::Unavailable("injected 503"));

  auto reconciler = MakeReconciler();
  CycleReport report = reconciler->RunCycle();
  EXPECT_TRUE(report.error.IsUnavailable()) << report.error.ToString();
  EXPECT_NE(report.error.message().find("injected 503"), std::string::npos);
  EXPECT_EQ(report.list_requests, 2u);
  EXPECT_EQ(report.deleted, 1u);
  // The first page holds f00000..f01000 (f00500 is gone): 1000 matches and one deletion.
  EXPECT_EQ(report.matched, 1000u);
  EXPECT_EQ(report.changed, 0u);
  EXPECT_FALSE(store_->Find(Key(500)).has_value());
  auto beyond = store_->Find(Key(2000));
  ASSERT_TRUE(beyond.has_value()) << "an unlisted shadow must not be treated as deleted";
  EXPECT_EQ(beyond->last_verified, filled);
  EXPECT_EQ(store_->Find(Key(1500))->last_verified, filled);
  EXPECT_EQ(store_->Find(Key(1000))->last_verified, clock().Now());
  EXPECT_EQ(store_->Find(Key(1001))->last_verified, filled);
  EXPECT_EQ(store_->List("").size(), static_cast<size_t>(kShadows - 1));
  EXPECT_DOUBLE_EQ(report.lag_seconds, 3600);
  EXPECT_EQ(Counter("shadowfs_reconcile_errors_total"), 1u);

  // The next cycle starts over and finishes the job.
  report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.deleted, 1u);
  EXPECT_EQ(report.matched, static_cast<uint64_t>(kShadows - 2));
  EXPECT_FALSE(store_->Find(Key(2000)).has_value());
}

TEST_F(ReconcilerTest, SparseShadowsSeekInsteadOfListingEverything) {
  for (int i = 0; i < 5000; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "big/o%05d", i);
    ASSERT_TRUE(blobstore::PutString(mem_, key, "x").ok());
  }
  PutWithShadow("big/o00010", "ten");
  PutWithShadow("big/o02500", "middle");
  PutWithShadow("big/o04999", "last");
  ASSERT_TRUE(primary_.MutateNow("big/o02500", std::nullopt).ok());
  auto reconciler = MakeReconciler();
  primary_.ResetCounters();
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.matched, 2u);
  EXPECT_EQ(report.deleted, 1u);
  // A flat listing of big/ would take 5 requests; one seek per shadow takes 3.
  EXPECT_EQ(primary_.calls(BlobOp::kList), 3);
}

TEST_F(ReconcilerTest, SecondReconcilerOfAStoreIsRefused) {
  auto first = MakeReconciler();
  ASSERT_NE(first, nullptr);
  ReconcilerOptions options;
  options.store_dir = store_dir();
  auto second =
      Reconciler::Create(&primary_, store_.get(), nullptr, nullptr, options, runtime_.runtime());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), base::StatusCode::kAlreadyExists);
  EXPECT_EQ(
      second.status().message(),
      "store " + store_dir() + " is already being reconciled by pid " + std::to_string(::getpid()));
  first.reset();
  auto third =
      Reconciler::Create(&primary_, store_.get(), nullptr, nullptr, options, runtime_.runtime());
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

std::vector<std::string> ThreadNames() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.push_back(name);
  }
  return names;
}

bool HasThread(const std::string& name) {
  auto names = ThreadNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST_F(ReconcilerTest, StartRunsCyclesUntilStop) {
  PutWithShadow("s/a", "a");
  ReconcilerOptions options;
  options.interval = seconds(0);
  auto reconciler = MakeReconciler(nullptr, nullptr, options);
  reconciler->Start();
  EXPECT_TRUE(PollUntil([&] { return Counter("shadowfs_reconcile_cycles_total") >= 3; }));
  EXPECT_TRUE(HasThread("reconcile"));
  reconciler->Stop();
  EXPECT_FALSE(HasThread("reconcile"));
  EXPECT_EQ(reconciler->last_report().matched, 1u);
}

TEST_F(ReconcilerTest, ACycleInterruptedByStopKeepsTheLastCompleteReport) {
  PutWithShadow("s/a", "a");
  PutWithShadow("s/b", "b");
  primary_.LimitListPages(1);  // two pages a cycle, so Stop can fall between them
  ReconcilerOptions options;
  options.interval = hours(24);
  auto reconciler = MakeReconciler(nullptr, nullptr, options);
  CycleReport complete = reconciler->RunCycle();
  ASSERT_TRUE(complete.error.ok()) << complete.error.ToString();
  ASSERT_EQ(complete.list_requests, 2u);
  const uint64_t cycles = Counter("shadowfs_reconcile_cycles_total");

  // The stop is asked for during the thread's first cycle's first page.
  std::atomic<bool> asked{false};
  primary_.RunBeforeNthCall(BlobOp::kList, 1, [&] {
    reconciler->RequestStop();
    asked = true;
  });
  reconciler->Start();
  ASSERT_TRUE(PollUntil([&] { return asked.load(); }));
  reconciler->Stop();

  EXPECT_EQ(primary_.calls(BlobOp::kList), 3) << "the interrupted cycle asked for its second page";
  CycleReport last = reconciler->last_report();
  EXPECT_TRUE(last.error.ok()) << last.error.ToString();
  EXPECT_FALSE(last.interrupted);
  EXPECT_EQ(last.matched, 2u);
  EXPECT_EQ(Counter("shadowfs_reconcile_cycles_total"), cycles) << "an interrupted cycle counted";
}

TEST_F(ReconcilerTest, StopWakesTheThreadDuringALongInterval) {
  ReconcilerOptions options;
  options.interval = hours(24);
  auto reconciler = MakeReconciler(nullptr, nullptr, options);
  reconciler->Start();
  ASSERT_TRUE(PollUntil([&] { return Counter("shadowfs_reconcile_cycles_total") >= 1; }));
  reconciler->Stop();  // would hang the test (and its ctest timeout) if it waited the interval
  EXPECT_FALSE(HasThread("reconcile"));
  // A cycle run by the caller after Stop runs to the end.
  PutWithShadow("s/after", "x");
  EXPECT_EQ(reconciler->RunCycle().matched, 1u);
}

TEST_F(ReconcilerTest, CycleExpiresTtlsAndRemovesOrphans) {
  shadow::FillOptions ttl;
  ttl.ttl = seconds(60);
  PutWithShadow("t/short-lived", "x", ttl);
  PutWithShadow("t/forever", "y");
  std::filesystem::create_directories(store_dir() + "/shadows/zz");
  std::string orphan = store_dir() + "/shadows/zz/orphan-without-a-row";
  std::ofstream(orphan) << "left behind by a crash";
  clock().Advance(seconds(120));

  auto reconciler = MakeReconciler();
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.maintenance.expired, 1u);
  EXPECT_GE(report.maintenance.orphans_removed, 1u);
  EXPECT_FALSE(store_->Find("t/short-lived").has_value());
  EXPECT_TRUE(store_->Find("t/forever").has_value());
  EXPECT_FALSE(std::filesystem::exists(orphan));
}

TEST_F(ReconcilerTest, EmptyStoreMakesNoRequest) {
  auto reconciler = MakeReconciler();
  CycleReport report = reconciler->RunCycle();
  EXPECT_TRUE(report.error.ok());
  EXPECT_EQ(report.list_requests, 0u);
  EXPECT_EQ(primary_.calls(BlobOp::kList), 0);
}

}  // namespace
}  // namespace shadowfs::reconcile::testing
