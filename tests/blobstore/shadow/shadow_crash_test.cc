// Crash consistency: a child process commits or appends in a loop and is SIGKILLed at a random
// moment; the parent then checks what a restarted store would see. A killed process keeps its
// page cache, so this checks the ordering and visibility of the protocol (rename, entry after
// data), not the fsyncs' durability against power loss.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "blobstore/shadow/shadow_file.h"
#include "tests/blobstore/shadow/shadow_test_util.h"

namespace shadowfs::shadow {
namespace {

using testing::Options;
using testing::TempDir;
using testing::TextBytes;

constexpr uint32_t kChunk = 4096;
constexpr uint32_t kChunks = 64;

std::string VersionData(int v) { return TextBytes(uint64_t{kChunk} * kChunks - v % 100, v); }
std::string VersionEtag(int v) { return "v" + std::to_string(v); }

// Runs `body` in a child and kills it after a random delay. The delay picks the crash point; it
// is not a wait for a condition.
template <typename Body>
void RunAndKill(std::mt19937& rng, int max_delay_us, Body body) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    body();
    ::_exit(0);  // skip destructors, like a crash would
  }
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % max_delay_us));
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
}

TEST(ShadowCrashTest, TheFinalPathHoldsTheOldOrTheNewCompleteFileNeverAMix) {
  TempDir dir;
  std::string path = dir.File("blob");
  testing::WriteShadow(path, "k", VersionEtag(0), VersionData(0), Options(Codec::kZstd, kChunk));
  std::mt19937 rng(42);
  int saw_new = 0;
  for (int iter = 1; iter <= 30; ++iter) {
    int base = iter * 1000;
    RunAndKill(rng, 20000, [&] {
      CodecContext ctx;
      for (int v = base; v < base + 1000; ++v) {
        std::string data = VersionData(v);
        auto w = ShadowWriter::Create(path, "k", VersionEtag(v), data.size(),
                                      Options(Codec::kZstd, kChunk));
        if (!w.ok()) ::_exit(1);
        for (uint32_t i = 0; i < (*w)->chunk_count(); ++i) {
          if (!(*w)->PutChunk(i, std::string_view(data).substr(i * kChunk, (*w)->chunk_length(i)),
                              ctx)
                   .ok()) {
            ::_exit(1);
          }
        }
        if (!(*w)->Commit().ok()) ::_exit(1);
      }
    });
    // Whatever version the header names must open, be complete, and hold that version's bytes.
    format::Header h = testing::HeaderOnDisk(path);
    int v = std::stoi(h.etag.substr(1));
    if (v >= base) ++saw_new;
    auto f = ShadowFile::Open(path, "k", h.etag);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->complete());
    ReadContext ctx;
    ASSERT_EQ(testing::ReadWhole(**f, ctx), VersionData(v)) << h.etag;
  }
  EXPECT_GT(saw_new, 0) << "the children never committed; the test checked nothing";
  // Killed writers leave temp files behind, never at the final path.
  for (const std::string& name : dir.List()) {
    EXPECT_TRUE(name == "blob" || name.rfind("blob.tmp.", 0) == 0) << name;
  }
}

TEST(ShadowCrashTest, AnUncommittedWriterIsInvisible) {
  TempDir dir;
  std::string path = dir.File("blob");
  std::string data = VersionData(1);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto w = ShadowWriter::Create(path, "k", "e", data.size(), Options(Codec::kZstd, kChunk));
    CodecContext ctx;
    for (uint32_t i = 0; w.ok() && i < (*w)->chunk_count(); ++i) {
      (void)(*w)->PutChunk(i, std::string_view(data).substr(i * kChunk, (*w)->chunk_length(i)),
                           ctx);
    }
    ::_exit(0);  // crash before Commit
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(ShadowFile::Open(path, "k", "e").status().IsNotFound());
  ASSERT_EQ(dir.List().size(), 1u);
  EXPECT_EQ(dir.List()[0].rfind("blob.tmp.", 0), 0u);
  // A new writer is not disturbed by the leftover, and an abandoned one cleans up after itself.
  {
    auto w = ShadowWriter::Create(path, "k", "e", data.size(), Options(Codec::kZstd, kChunk));
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(dir.List().size(), 2u);
  }
  EXPECT_EQ(dir.List().size(), 1u);
  testing::WriteShadow(path, "k", "e", data, Options(Codec::kZstd, kChunk));
  EXPECT_TRUE(ShadowFile::Open(path, "k", "e").ok());
}

TEST(ShadowCrashTest, KilledAppendsLeaveOnlyVerifiedChunks) {
  TempDir dir;
  std::string path = dir.File("blob");
  std::string data = VersionData(7);
  testing::WriteShadow(path, "k", "e", data, Options(Codec::kZstd, kChunk),
                       [](uint32_t) { return false; });
  std::mt19937 rng(7);
  uint32_t before = 0;
  for (int iter = 0; iter < 20; ++iter) {
    uint32_t seed = rng();
    RunAndKill(rng, 50000, [&] {
      auto f = ShadowFile::Open(path, "k", "e");
      if (!f.ok()) ::_exit(1);
      CodecContext ctx;
      std::mt19937 order(seed);
      for (int n = 0; n < 10000; ++n) {
        uint32_t i = order() % kChunks;
        auto chunk = std::string_view(data).substr(i * kChunk, (*f)->chunk_length(i));
        (void)(*f)->AppendChunk(i, chunk, {}, ctx);
        if ((*f)->complete()) (void)(*f)->DropChunk(order() % kChunks);
      }
    });
    auto f = ShadowFile::Open(path, "k", "e");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ReadContext ctx;
    std::vector<char> buf(kChunk);
    for (uint32_t i = 0; i < kChunks; ++i) {
      if (!(*f)->IsPresent(i)) continue;
      ASSERT_TRUE((*f)->ReadChunk(i, buf, ctx).ok()) << "chunk " << i;
      ASSERT_EQ(std::string_view(buf.data(), (*f)->chunk_length(i)),
                std::string_view(data).substr(i * kChunk, (*f)->chunk_length(i)));
    }
    before = std::max(before, (*f)->present_chunks());
  }
  EXPECT_GT(before, 0u) << "the children never appended; the test checked nothing";
  auto f = ShadowFile::Open(path, "k", "e");
  ASSERT_TRUE(f.ok());
  CodecContext cctx;
  for (uint32_t i = 0; i < kChunks; ++i) {
    if ((*f)->IsPresent(i)) continue;
    ASSERT_TRUE((*f)->AppendChunk(i,
                                  std::string_view(data).substr(i * kChunk, (*f)->chunk_length(i)),
                                  {}, cctx)
                    .ok());
  }
  f = ShadowFile::Open(path, "k", "e");
  ASSERT_TRUE(f.ok());
  ReadContext ctx;
  EXPECT_EQ(testing::ReadWhole(**f, ctx), data);
}

}  // namespace
}  // namespace shadowfs::shadow
