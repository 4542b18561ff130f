// The mount's prediction glue: cached directory listings of the primary for the engine, and the
// event loop that hands every reported read to the engine and the access log.
#include "cli/prediction.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/mem_blob_store.h"

namespace shadowfs::cli {
namespace {

class PrimaryNamespaceTest : public ::testing::Test {
 protected:
  PrimaryNamespaceTest() : mem_(rt_.fake_clock()) {
    for (std::string key : {"a/", "a/part-1", "a/part-2", "a/part-3", "a/sub/x", "b/y"}) {
      EXPECT_TRUE(blobstore::PutString(mem_, key, "data of " + key).ok());
    }
  }
  // The first ask schedules the listing and answers Unavailable; once it ran, the listing.
  static base::Result<std::vector<predict::ObjectInfo>> List(PrimaryNamespace& names,
                                                             std::string_view dir, size_t limit) {
    auto first = names.ListDirectory(dir, limit);
    if (first.ok() || first.status().code() != base::StatusCode::kUnavailable) return first;
    names.WaitIdle();
    return names.ListDirectory(dir, limit);
  }
  base::OwnedRuntime rt_;
  blobstore::MemBlobStore mem_;
};

TEST_F(PrimaryNamespaceTest, NeverBlocksAndListsInTheBackground) {
  PrimaryNamespace names(&mem_, rt_.fake_clock());
  auto first = names.ListDirectory("a/", 100);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), base::StatusCode::kUnavailable) << "ask again soon";
  names.WaitIdle();
  auto list = names.ListDirectory("a/", 100);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u) << "the marker and the subdirectory are not members";
  EXPECT_EQ((*list)[0].key, "a/part-1");
  EXPECT_EQ((*list)[2].key, "a/part-3");
  auto head = mem_.Head("a/part-2");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ((*list)[1].size, head->size);
  EXPECT_EQ((*list)[1].etag, head->etag);
  auto root = List(names, "", 100);
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->empty()) << "the root holds only directories";
  auto limited = names.ListDirectory("a/", 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);
}

TEST_F(PrimaryNamespaceTest, TellsItsObserverWhetherAListedDirectoryHasAMarker) {
  ASSERT_TRUE(blobstore::PutString(mem_, "c/z", "implicit").ok());
  PrimaryNamespace names(&mem_, rt_.fake_clock());
  std::map<std::string, bool> seen;  // directory -> has a marker
  base::MonoTime sent{};
  names.SetListingObserver([&](const std::string& dir, bool has_marker, base::MonoTime at) {
    seen[dir] = has_marker;
    sent = at;
  });
  const base::MonoTime before = rt_.fake_clock()->Monotonic();
  ASSERT_TRUE(List(names, "a/", 100).ok());
  ASSERT_TRUE(List(names, "c/", 100).ok());
  ASSERT_TRUE(List(names, "", 100).ok());
  EXPECT_EQ(seen, (std::map<std::string, bool>{{"a/", true}, {"c/", false}}))
      << "the root has no marker to tell of";
  EXPECT_EQ(sent, before);
}

TEST_F(PrimaryNamespaceTest, ServesAListingForItsTtlThenStaleWhileRefreshing) {
  PrimaryNamespace names(&mem_, rt_.fake_clock(), std::chrono::seconds(30));
  ASSERT_TRUE(List(names, "a/", 100).ok());
  uint64_t sent = names.requests();
  ASSERT_TRUE(names.ListDirectory("a/", 100).ok());
  ASSERT_TRUE(names.ListDirectory("a/", 10).ok());
  EXPECT_EQ(names.requests(), sent) << "served from the cache";
  ASSERT_TRUE(blobstore::PutString(mem_, "a/part-4", "new").ok());
  rt_.fake_clock()->Advance(std::chrono::seconds(31));
  auto stale = names.ListDirectory("a/", 100);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->size(), 3u) << "the old listing meanwhile";
  names.WaitIdle();
  EXPECT_GT(names.requests(), sent);
  auto fresh = names.ListDirectory("a/", 100);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->size(), 4u) << "a new member is seen once the listing was refreshed";
}

TEST_F(PrimaryNamespaceTest, KeepsAtMostMaxDirsListings) {
  PrimaryNamespace names(&mem_, rt_.fake_clock(), std::chrono::seconds(30), /*max_dirs=*/1);
  ASSERT_TRUE(List(names, "a/", 100).ok());
  ASSERT_TRUE(List(names, "b/", 100).ok());
  auto again = names.ListDirectory("a/", 100);
  EXPECT_FALSE(again.ok()) << "a/ was evicted by b/";
}

TEST_F(PrimaryNamespaceTest, AFailedListingIsAnErrorAndRetriedLaterNotAnEmptyDirectory) {
  blobstore::FaultInjectionBlobStore faulty(&mem_, rt_.fake_clock());
  faulty.FailNthCall(blobstore::BlobOp::kList, 1, base::Status::IOError("500 Internal Error"));
  PrimaryNamespace names(&faulty, rt_.fake_clock(), std::chrono::seconds(30), 256,
                         std::chrono::seconds(5));
  ASSERT_FALSE(List(names, "a/", 10).ok());
  EXPECT_FALSE(names.ListDirectory("a/", 10).ok()) << "not retried at once";
  EXPECT_EQ(names.requests(), 1u);
  rt_.fake_clock()->Advance(std::chrono::seconds(6));
  auto again = List(names, "a/", 10);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->size(), 3u);
}

TEST(PredictionLoopTest, EveryRecordedEventReachesTheLogBeforeTheLoopEnds) {
  base::OwnedRuntime rt(base::OwnedRuntime::Time::kSystem);
  predict::EventRing ring(1024);
  std::vector<std::string> seen;  // written by the loop thread, read after it joined
  {
    PredictionLoop loop(
        &ring, nullptr, [&](const predict::AccessEvent& e) { seen.push_back(*e.key); },
        rt.runtime());
    auto proc = std::make_shared<const std::string>("cat");
    for (int i = 0; i < 100; ++i) {
      predict::AccessEvent e;
      e.key = std::make_shared<const std::string>("k" + std::to_string(i));
      e.process_name = proc;
      e.length = 1;
      ring.Record(e);
    }
  }
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.front(), "k0");
  EXPECT_EQ(seen.back(), "k99");
  EXPECT_NE(rt.runtime().metrics->ExportPrometheus().find("shadowfs_access_events_total 100"),
            std::string::npos);
}

}  // namespace
}  // namespace shadowfs::cli
