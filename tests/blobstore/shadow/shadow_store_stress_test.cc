// ShadowStore under concurrency and crashes: the byte cap measured on disk while readers and
// fillers race over a working set larger than the store, and a filler SIGKILLed at random
// moments, after which a reopened store serves only correct bytes and holds no orphans.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "blobstore/shadow/shadow_store.h"
#include "tests/blobstore/shadow/store_test_util.h"

namespace shadowfs::shadow {
namespace {

using base::Status;
using testing::kTestChunk;
using testing::OpenStore;
using testing::StoreOptions;
using testing::TempDir;
using testing::VersionBytes;

TEST(ShadowStoreStressTest, CapHoldsOnDiskUnderConcurrentReadersAndFillers) {
  TempDir dir;
  base::OwnedRuntime rt;
  ShadowStoreOptions o = StoreOptions(dir.path() + "/store");
  o.capacity_bytes = 256 * 1024;
  o.min_confidence = 0;
  auto store = OpenStore(o, rt.runtime());
  ASSERT_NE(store, nullptr);
  constexpr int kKeys = 40;
  constexpr size_t kSize = 8 * kTestChunk;  // 40 x ~36 KiB: more than five times the cap
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> max_disk{0}, max_used{0}, hits{0}, fills{0}, no_space{0}, samples{0};
  auto key_of = [](int i) { return "dir" + std::to_string(i % 4) + "/k" + std::to_string(i); };

  std::vector<std::thread> threads;
  threads.reserve(3);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      while (!stop.load()) {
        std::string key = key_of(static_cast<int>(rng() % kKeys));
        std::string etag = "v" + std::to_string(rng() % 3);
        std::string data = VersionBytes(key, etag, kSize);
        // Whole objects and partial ranges.
        uint64_t first = rng() % 4 == 0 ? (rng() % 8) * kTestChunk : 0;
        Status s = store->Fill(key, etag, kSize, first, std::string_view(data).substr(first), {});
        if (s.ok()) {
          ++fills;
        } else {
          ASSERT_EQ(s.code(), base::StatusCode::kNoSpace) << s.ToString();
          ++no_space;
        }
      }
    });
  }
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      ReadContext ctx;
      std::string buf(kSize, '\0');
      while (!stop.load()) {
        std::string key = key_of(static_cast<int>(rng() % kKeys));
        uint64_t off = (rng() % 8) * kTestChunk;
        auto r = store->Read(key, off, std::span<char>(buf.data(), kSize - off), ctx);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (r->miss != Miss::kNone) continue;
        ASSERT_EQ(buf.substr(0, r->bytes), VersionBytes(key, r->etag, kSize).substr(off, r->bytes));
        ++hits;
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop.load()) {
      uint64_t used = store->used_bytes();
      std::optional<uint64_t> stable = testing::StableDiskUsage(o.dir);
      if (!stable) continue;
      uint64_t disk = *stable;
      uint64_t m = max_disk.load();
      while (disk > m && !max_disk.compare_exchange_weak(m, disk)) {
      }
      m = max_used.load();
      while (used > m && !max_used.compare_exchange_weak(m, used)) {
      }
      ++samples;
    }
  });
  // Run until enough happened (bounded by a deadline, not a sleep for a condition).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((fills.load() < 500 || hits.load() < 500 || samples.load() < 200) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_GE(fills.load(), 500u);
  EXPECT_GE(hits.load(), 100u);
  EXPECT_GE(samples.load(), 50u);
  EXPECT_LE(max_disk.load(), o.capacity_bytes);
  EXPECT_LE(max_used.load(), o.capacity_bytes);
  EXPECT_GT(max_disk.load(), o.capacity_bytes / 2);  // the store was actually under pressure
  EXPECT_GT(rt.metrics().GetCounter("shadowfs_shadow_evictions_total", "").value(), 100u);
  std::cout << "fills " << fills << " no_space " << no_space << " hits " << hits << " samples "
            << samples << " max on disk " << max_disk << " max accounted " << max_used << "\n";
  // At rest the accounting equals what is on disk.
  EXPECT_EQ(store->used_bytes(), testing::DiskUsage(o.dir));
}

TEST(ShadowStoreStressTest, KilledFillerLeavesAConsistentStore) {
  TempDir dir;
  ShadowStoreOptions o = StoreOptions(dir.path() + "/store");
  o.capacity_bytes = 512 * 1024;  // evictions happen in the child too
  o.min_confidence = 0;
  o.flush_interval = std::chrono::milliseconds(1);
  constexpr size_t kSize = 6 * kTestChunk + 123;
  std::mt19937 rng(7);
  int served = 0;
  // The child counts its operations here, so that each kill lands after a random number of them
  // however slow the machine is (a sanitizer build on a busy CI runner), not after a fixed time.
  void* shared = ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  auto* done = new (shared) std::atomic<uint64_t>(0);
  for (int iter = 0; iter < 20; ++iter) {
    done->store(0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      base::OwnedRuntime rt;
      auto s = ShadowStore::Open(o, rt.runtime());
      if (!s.ok()) ::_exit(2);
      std::mt19937 crng(static_cast<uint32_t>(iter));
      ReadContext ctx;
      std::string buf(kSize, '\0');
      for (;;) {
        std::string key = "k" + std::to_string(crng() % 30);
        std::string etag = "v" + std::to_string(crng() % 4);
        std::string data = VersionBytes(key, etag, kSize);
        uint64_t first = (crng() % 7) * kTestChunk;
        switch (crng() % 8) {
          case 0:
            (void)(*s)->Drop(key);
            break;
          case 1:
            (void)(*s)->Read(key, 0, buf, ctx);
            break;
          default:
            (void)(*s)->Fill(key, etag, kSize, first, std::string_view(data).substr(first), {});
        }
        done->fetch_add(1);
      }
    }
    // Killed after 8 to 40 operations, then somewhere within the next one or few.
    const uint64_t ops = 8 + rng() % 33;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (done->load() < ops && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);

    base::OwnedRuntime rt;
    auto store = OpenStore(o, rt.runtime());
    ASSERT_NE(store, nullptr);
    auto list = store->List("");
    EXPECT_EQ(testing::ShadowFiles(o.dir).size(), list.size())
        << "orphans after iteration " << iter;
    for (const ShadowInfo& info : list) {
      std::string expected = VersionBytes(info.key, info.etag, kSize);
      for (uint32_t c = 0; c < info.chunk_count; ++c) {
        auto r = testing::ReadRange(*store, info.key, uint64_t{c} * kTestChunk, kTestChunk);
        if (r.read.miss == Miss::kPartial) continue;
        ASSERT_EQ(r.read.miss, Miss::kNone) << MissName(r.read.miss);
        ASSERT_EQ(r.bytes, expected.substr(uint64_t{c} * kTestChunk, kTestChunk)) << info.key;
        ++served;
      }
    }
    EXPECT_LE(store->used_bytes(), o.capacity_bytes);
    EXPECT_EQ(store->used_bytes(), testing::DiskUsage(o.dir));
  }
  EXPECT_GT(served, 100);
  ::munmap(shared, sizeof(std::atomic<uint64_t>));
}

}  // namespace
}  // namespace shadowfs::shadow
