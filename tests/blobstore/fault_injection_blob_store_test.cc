#include "blobstore/fault_injection_blob_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "blobstore/base/digest.h"
#include "blobstore/mem_blob_store.h"

namespace shadowfs::blobstore {
namespace {

using namespace std::chrono_literals;

// Counts how much of an upload body was read.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(std::string data) : data_(std::move(data)), inner_(data_) {}
  uint64_t size() const override { return data_.size(); }
  Status ReadAt(uint64_t offset, std::span<char> out) override {
    bytes_read_ += out.size();
    return inner_.ReadAt(offset, out);
  }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  std::string data_;
  StringSource inner_;
  std::atomic<uint64_t> bytes_read_{0};
};

class FaultInjectionTest : public ::testing::Test {
 protected:
  base::FakeClock clock_;
  MemBlobStore mem_{&clock_};
  FaultInjectionBlobStore store_{&mem_, &clock_, /*seed=*/42};
};

TEST_F(FaultInjectionTest, ForwardsAndCountsCallsPerOperation) {
  ASSERT_TRUE(PutString(store_, "a", "1").ok());
  ASSERT_TRUE(PutString(store_, "b", "22").ok());
  EXPECT_EQ(*GetString(store_, "b"), "22");
  EXPECT_EQ(store_.Head("a")->size, 1u);
  EXPECT_EQ(store_.List({})->objects.size(), 2u);
  EXPECT_TRUE(store_.Copy("a", "c", {}).ok());
  EXPECT_TRUE(store_.Delete("a").ok());
  EXPECT_TRUE(*store_.SupportsConditionalWrites());
  EXPECT_EQ(store_.Describe(), "mem://");

  EXPECT_EQ(store_.calls(BlobOp::kPut), 2);
  EXPECT_EQ(store_.calls(BlobOp::kGet), 1);
  EXPECT_EQ(store_.calls(BlobOp::kHead), 1);
  EXPECT_EQ(store_.calls(BlobOp::kList), 1);
  EXPECT_EQ(store_.calls(BlobOp::kCopy), 1);
  EXPECT_EQ(store_.calls(BlobOp::kDelete), 1);
  EXPECT_EQ(store_.calls(BlobOp::kSupportsConditionalWrites), 1);
  EXPECT_EQ(store_.total_calls(), 8);
  EXPECT_TRUE(mem_.Head("c").ok());
  EXPECT_TRUE(mem_.Head("a").status().IsNotFound());
  store_.ResetCounters();
  EXPECT_EQ(store_.total_calls(), 0);
  EXPECT_EQ(store_.calls(BlobOp::kPut), 0);
}

TEST_F(FaultInjectionTest, LatencyIsSleptThroughTheClock) {
  store_.SetLatency(10ms);
  store_.SetLatency(BlobOp::kGet, 250ms);
  ASSERT_TRUE(PutString(store_, "k", "v").ok());
  EXPECT_EQ(clock_.slept(), 10ms);
  ASSERT_TRUE(GetString(store_, "k").ok());
  EXPECT_EQ(clock_.slept(), 260ms);
  ASSERT_TRUE(store_.Head("k").ok());
  EXPECT_EQ(clock_.slept(), 270ms);
  store_.ClearFaults();
  ASSERT_TRUE(store_.Head("k").ok());
  EXPECT_EQ(clock_.slept(), 270ms);
}

TEST_F(FaultInjectionTest, FailsTheNthCallOfAnOperationOnce) {
  ASSERT_TRUE(PutString(store_, "k", "v").ok());
  store_.FailNthCall(BlobOp::kGet, 2, Status::Unavailable("injected 503"));
  EXPECT_TRUE(GetString(store_, "k").ok());
  ASSERT_TRUE(store_.Head("k").ok());  // other operations do not count
  auto second = GetString(store_, "k");
  EXPECT_TRUE(second.status().IsUnavailable());
  EXPECT_EQ(second.status().message(), "injected 503");
  EXPECT_TRUE(GetString(store_, "k").ok());
  EXPECT_EQ(store_.injected_failures(), 1);
  EXPECT_EQ(store_.calls(BlobOp::kGet), 3);
}

TEST_F(FaultInjectionTest, FailsTheNthCallOfAnyOperation) {
  store_.FailNthCallOfAny(3, Status::IOError("boom"));
  EXPECT_TRUE(PutString(store_, "k", "v").ok());
  EXPECT_TRUE(store_.Head("k").ok());
  EXPECT_EQ(store_.Delete("k").code(), base::StatusCode::kIOError);
  EXPECT_TRUE(mem_.Head("k").ok()) << "a failure instead of the call must not reach the store";
  EXPECT_TRUE(store_.Delete("k").ok());
  EXPECT_TRUE(mem_.Head("k").status().IsNotFound());
}

TEST_F(FaultInjectionTest, FailureAfterTheCallLeavesItsEffect) {
  store_.FailNthCall(BlobOp::kPut, 1, Status::Unavailable("response lost"),
                     FaultInjectionBlobStore::When::kAfterCall);
  EXPECT_TRUE(PutString(store_, "k", "applied").status().IsUnavailable());
  EXPECT_EQ(*GetString(mem_, "k"), "applied");
}

TEST_F(FaultInjectionTest, RandomFailuresAreDeterministicForASeed) {
  ASSERT_TRUE(PutString(mem_, "k", "v").ok());
  auto pattern = [&](FaultInjectionBlobStore& s) {
    std::string out;
    for (int i = 0; i < 1000; ++i) out += s.Head("k").ok() ? '.' : 'x';
    return out;
  };
  store_.FailRandomly(0.3, Status::Unavailable("flaky"), BlobOp::kHead);
  std::string first = pattern(store_);
  FaultInjectionBlobStore same_seed(&mem_, &clock_, 42);
  same_seed.FailRandomly(0.3, Status::Unavailable("flaky"), BlobOp::kHead);
  EXPECT_EQ(pattern(same_seed), first);
  auto failures = std::count(first.begin(), first.end(), 'x');
  EXPECT_GT(failures, 220);
  EXPECT_LT(failures, 380);
  EXPECT_EQ(store_.injected_failures(), failures);
  // Only the chosen operation fails.
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(GetString(store_, "k").ok());
  FaultInjectionBlobStore other_seed(&mem_, &clock_, 7);
  other_seed.FailRandomly(0.3, Status::Unavailable("flaky"));
  EXPECT_NE(pattern(other_seed), first);
}

TEST_F(FaultInjectionTest, GetDeliversOnlyThePrefixThenDrops) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(PutString(store_, "k", data).ok());
  store_.DropGetsAfter(300);
  StringSink sink;
  auto got = store_.Get("k", {}, sink);
  EXPECT_TRUE(got.status().IsUnavailable()) << got.status().ToString();
  EXPECT_EQ(sink.Take(), data.substr(0, 300));
  EXPECT_EQ(*GetString(store_, "k"), data);  // only the next Get was cut

  store_.DropGetsAfter(300, 2);
  ASSERT_TRUE(PutString(mem_, "small", "short").ok());
  EXPECT_EQ(*GetString(store_, "small"), "short");  // fits: completes
  EXPECT_TRUE(GetString(store_, "k").status().IsUnavailable());
  EXPECT_TRUE(GetString(store_, "k").ok());
}

TEST_F(FaultInjectionTest, PutReadsPartOfTheBodyThenFails) {
  ASSERT_TRUE(PutString(store_, "k", "old").ok());
  store_.DropPutsAfter(40);
  CountingSource body(std::string(100, 'n'));
  auto put = store_.Put("k", body, {});
  EXPECT_TRUE(put.status().IsUnavailable()) << put.status().ToString();
  EXPECT_EQ(body.bytes_read(), 40u);
  EXPECT_EQ(*GetString(mem_, "k"), "old");
  CountingSource again(std::string(100, 'n'));
  EXPECT_TRUE(store_.Put("k", again, {}).ok());
  EXPECT_EQ(again.bytes_read(), 100u);
}

TEST_F(FaultInjectionTest, ObjectsChangeBehindTheCallersBack) {
  ASSERT_TRUE(PutString(store_, "k", "mine").ok());
  const std::string etag = store_.Head("k")->etag;
  store_.MutateBeforeNthCall(BlobOp::kGet, 1, "k", std::string("theirs"));
  GetOptions conditional;
  conditional.conditions.if_match = etag;
  StringSink sink;
  EXPECT_TRUE(store_.Get("k", conditional, sink).status().IsConflict());
  EXPECT_EQ(store_.Head("k")->etag, base::Md5Hex("theirs"));

  store_.MutateBeforeNthCall(std::nullopt, 2, "k", std::nullopt);
  EXPECT_TRUE(store_.Head("k").ok());
  EXPECT_TRUE(store_.Head("k").status().IsNotFound());

  ASSERT_TRUE(store_.MutateNow("k", "again").ok());
  const int64_t before = store_.total_calls();
  EXPECT_EQ(*GetString(store_, "k"), "again");
  EXPECT_EQ(store_.total_calls(), before + 1);  // MutateNow itself is not counted
}

TEST_F(FaultInjectionTest, AnActionRunsJustBeforeItsCall) {
  ASSERT_TRUE(PutString(store_, "k", "v").ok());
  std::vector<std::string> order;
  store_.RunBeforeNthCall(BlobOp::kHead, 2, [&] { order.push_back("action"); });
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(store_.Head("k").ok());
    order.push_back("head " + std::to_string(i + 1));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"head 1", "action", "head 2", "head 3"}));
}

TEST_F(FaultInjectionTest, ListPagesAreCutToTheLimit) {
  for (const char* key : {"a", "b", "c"}) ASSERT_TRUE(PutString(store_, key, "x").ok());
  store_.LimitListPages(2);
  ListOptions options;
  options.max_keys = 1000;
  auto page = store_.List(options);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->objects.size(), 2u);
  EXPECT_TRUE(page->truncated);
  options.max_keys = 1;  // a smaller request is left alone
  EXPECT_EQ(store_.List(options)->objects.size(), 1u);
}

TEST_F(FaultInjectionTest, ClearFaultsRemovesEveryRule) {
  store_.FailNthCallOfAny(1, Status::IOError("x"));
  store_.FailRandomly(1.0, Status::IOError("y"));
  store_.DropGetsAfter(0, 10);
  store_.MutateBeforeNthCall(std::nullopt, 1, "k", std::string("z"));
  store_.LimitListPages(1);
  store_.ClearFaults();
  EXPECT_TRUE(PutString(store_, "k", "v").ok());
  EXPECT_EQ(*GetString(store_, "k"), "v");
  EXPECT_EQ(store_.injected_failures(), 0);
  ASSERT_TRUE(PutString(store_, "l", "w").ok());
  EXPECT_EQ(store_.List({})->objects.size(), 2u);
}

TEST_F(FaultInjectionTest, CountsStayExactUnderConcurrency) {
  base::SystemClock clock;
  FaultInjectionBlobStore store(&mem_, &clock, 1);
  store.FailRandomly(0.5, Status::Unavailable("flaky"), BlobOp::kHead);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        (void)PutString(store, "k" + std::to_string(t), "v");
        if (!store.Head("k" + std::to_string(t)).ok()) failed++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store.calls(BlobOp::kPut), 1000);
  EXPECT_EQ(store.calls(BlobOp::kHead), 1000);
  EXPECT_EQ(store.injected_failures(), failed.load());
}

}  // namespace
}  // namespace shadowfs::blobstore
