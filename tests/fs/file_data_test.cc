// FileData: where reads come from (staged > shadow > primary), readahead, read-through,
// revalidation of low-confidence shadows, corrupt chunks, staged writes with lazy base fetches,
// truncate.
#include "fs/file_data.h"

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/shadow/materializer.h"
#include "tests/fs/data_test_util.h"

namespace shadowfs::fs::testing {
namespace {

class FileDataTest : public DataTest {
 protected:
  FileDataTest() { StartUploader(); }
};

TEST_F(FileDataTest, ReadOrderIsStagedThenShadowThenPrimary) {
  const std::string data = Pattern(3 * kChunk + 100, 'a');
  FileVersion v = Put("k", data);
  {
    auto f = Open(v);
    ASSERT_TRUE(f);
    EXPECT_EQ(ReadAll(*f), data);
    EXPECT_GT(primary_.get_count(), 0u);
    // The first read found no shadow. (Later reads of this pass may: the read-through fills it
    // in the background meanwhile, so served_from_shadow() after the pass depends on timing.)
    const auto first = sink_.events();
    ASSERT_FALSE(first.empty());
    EXPECT_FALSE(first.front().from_shadow);
  }  // joins the read-through
  auto info = store_->Find("k");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->etag, v.etag);
  EXPECT_TRUE(info->complete());

  primary_.ClearGets();
  auto f = Open(v);
  ASSERT_TRUE(f);
  EXPECT_EQ(ReadAll(*f), data);
  EXPECT_TRUE(f->served_from_shadow());
  EXPECT_EQ(primary_.get_count(), 0u) << "read-through made the second read primary-free";

  ASSERT_TRUE(f->Write(kChunk + 5, "STAGED").ok());
  std::string expect = data;
  expect.replace(kChunk + 5, 6, "STAGED");
  EXPECT_EQ(ReadAll(*f), expect);
  EXPECT_EQ(primary_.get_count(), 0u) << "base chunks came from the shadow";

  auto events = sink_.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(*events.back().key, "k");
  EXPECT_EQ(*events.back().process_name, "test-proc");
  // Each open's first read is marked (an "open" for the successor models); each event carries
  // the version read.
  EXPECT_TRUE(events.front().first_read);
  EXPECT_FALSE(events.back().first_read);
  size_t firsts = 0;
  for (const auto& e : events) {
    firsts += e.first_read;
    ASSERT_TRUE(e.etag);
    EXPECT_EQ(*e.etag, v.etag);
    EXPECT_EQ(e.object_size, data.size());
  }
  EXPECT_EQ(firsts, 2u) << "two opens read";
}

// A read that goes to the primary is reported to the engine before the primary is asked, once:
// the prefetches it warrants leave a round trip sooner.
TEST_F(FileDataTest, AReadFromThePrimaryIsReportedBeforeThePrimaryIsAsked) {
  FileVersion v = Put("k", Pattern(kChunk, 'b'));
  std::vector<size_t> events_at_get;
  primary_.BeforeGet([&] { events_at_get.push_back(sink_.events().size()); });
  auto f = Open(v);
  ASSERT_TRUE(f);
  std::string buf(100, '\0');
  ASSERT_TRUE(f->Read(0, buf).ok());
  primary_.BeforeGet(nullptr);
  ASSERT_FALSE(events_at_get.empty());
  EXPECT_EQ(events_at_get.front(), 1u);
  const auto events = sink_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].first_read);
  EXPECT_FALSE(events[0].from_shadow);
  EXPECT_EQ(events[0].offset, 0u);
  EXPECT_EQ(events[0].length, 100u);
}

// A read the shadow cannot serve while a prefetch of the file is under way waits for that
// prefetch and is served from the shadow it leaves, without a GET of its own.
TEST_F(FileDataTest, AReadWaitsForAPrefetchOfItsFileUnderWay) {
  const std::string data = Pattern(kChunk, 'p');
  FileVersion v = Put("k", data);
  blobstore::FaultInjectionBlobStore slow(&mem_, rt_.runtime().clock);
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  slow.RunBeforeNthCall(blobstore::BlobOp::kGet, 1, [&] {
    started.set_value();
    released.wait();
  });
  shadow::Materializer m(&slow, store_.get(), {}, rt_.runtime());
  ASSERT_TRUE(m.Submit({.key = "k", .expected_etag = v.etag}));
  started.get_future().wait();  // the prefetch's GET is on its way
  FileDataDeps deps = Deps();
  deps.fetches = &m;
  auto f = FileData::Open(deps, v, false, "test-proc");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::thread answer([&] {
    // The GET is answered once the read waits for it (or, if it never does, after 10 s, and
    // the checks below fail).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (m.stats().awaited == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    release.set_value();
  });
  EXPECT_EQ(ReadAll(**f), data);
  answer.join();
  EXPECT_EQ(primary_.get_count(), 0u) << "the read waited for the prefetch";
  EXPECT_TRUE((*f)->served_from_shadow());
  m.Drain();
}

TEST_F(FileDataTest, ReadaheadGrowsOnSequentialAndResetsOnRandom) {
  options_.read_through = false;  // every read goes to the primary
  const std::string data = Pattern(256 * kChunk, 'b');
  FileVersion v = Put("big", data);
  auto f = Open(v);
  ASSERT_TRUE(f);
  std::string buf(kChunk, '\0');
  for (uint64_t off = 0; off < 40 * kChunk; off += kChunk) {
    auto n = f->Read(off, buf);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(std::string_view(buf.data(), *n), std::string_view(data).substr(off, kChunk));
  }
  auto gets = primary_.gets();
  ASSERT_GE(gets.size(), 4u);
  // initial 2 chunks, then doubling windows fetched ahead, each starting where the last ended.
  EXPECT_EQ(gets[0], std::make_pair(uint64_t{0}, uint64_t{2 * kChunk}));
  EXPECT_EQ(gets[1], std::make_pair(uint64_t{2 * kChunk}, uint64_t{4 * kChunk}));
  EXPECT_EQ(gets[2], std::make_pair(uint64_t{6 * kChunk}, uint64_t{8 * kChunk}));
  EXPECT_EQ(gets[3], std::make_pair(uint64_t{14 * kChunk}, uint64_t{16 * kChunk}));
  EXPECT_LE(gets.size(), 6u) << "40 reads took only a few requests";

  const uint64_t random = 200 * kChunk + 17;
  auto n = f->Read(random, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string_view(buf.data(), *n), std::string_view(data).substr(random, kChunk));
  f.reset();  // joins any background fetch
  gets = primary_.gets();
  auto it = std::find_if(gets.begin(), gets.end(), [](auto& g) { return g.first == 200 * kChunk; });
  ASSERT_NE(it, gets.end());
  EXPECT_EQ(it->second, 2 * kChunk) << "the window reset to its initial size";
}

TEST_F(FileDataTest, ExhaustedBudgetReadsJustWhatIsAsked) {
  options_.read_through = false;
  ReadaheadBudget none(0);
  const std::string data = Pattern(64 * kChunk, 'c');
  FileVersion v = Put("k", data);
  FileDataDeps d = Deps();
  d.readahead_budget = &none;
  auto f = FileData::Open(d, v, false, "p");
  ASSERT_TRUE(f.ok());
  std::string buf(100, '\0');
  ASSERT_TRUE((*f)->Read(5000, buf).ok());
  EXPECT_EQ(buf, data.substr(5000, 100));
  auto gets = primary_.gets();
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_EQ(gets[0], std::make_pair(uint64_t{5000}, uint64_t{100}));
}

TEST_F(FileDataTest, LowConfidenceShadowRevalidatedByNotModified) {
  const std::string data = Pattern(2 * kChunk, 'd');
  FileVersion v = Put("k", data);
  ASSERT_TRUE(store_->Fill("k", v.etag, data.size(), 0, data, {}).ok());
  rt_.fake_clock()->Advance(std::chrono::hours(24 * 30));  // confidence decays below 0.9
  faults_.ResetCounters();
  auto f = Open(v);
  ASSERT_TRUE(f);
  EXPECT_EQ(faults_.calls(blobstore::BlobOp::kHead), 1);
  EXPECT_EQ(ReadAll(*f), data);
  EXPECT_TRUE(f->served_from_shadow());
  EXPECT_EQ(primary_.get_count(), 0u);
}

TEST_F(FileDataTest, LowConfidenceShadowOfAChangedObjectOpensTheNewVersion) {
  const std::string old_data = Pattern(2 * kChunk, 'e');
  FileVersion v = Put("k", old_data);
  ASSERT_TRUE(store_->Fill("k", v.etag, old_data.size(), 0, old_data, {}).ok());
  rt_.fake_clock()->Advance(std::chrono::hours(24 * 30));
  const std::string new_data = Pattern(kChunk + 3, 'f');
  ASSERT_TRUE(faults_.MutateNow("k", new_data).ok());
  auto f = Open(v);
  ASSERT_TRUE(f);
  EXPECT_NE(f->version().etag, v.etag);
  EXPECT_EQ(f->version().size, new_data.size());
  EXPECT_EQ(ReadAll(*f), new_data);
  EXPECT_FALSE(f->served_from_shadow());
}

TEST_F(FileDataTest, ObjectChangedWhileOpenIsConflict) {
  options_.read_through = false;
  FileVersion v = Put("k", Pattern(4 * kChunk, 'g'));
  auto f = Open(v);
  ASSERT_TRUE(faults_.MutateNow("k", "other").ok());
  std::string buf(10, '\0');
  auto n = f->Read(0, buf);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), base::StatusCode::kConflict);
}

TEST_F(FileDataTest, CorruptShadowChunkIsReadFromThePrimary) {
  const std::string data = Pattern(4 * kChunk, 'h');
  FileVersion v = Put("k", data);
  ASSERT_TRUE(store_->Fill("k", v.etag, data.size(), 0, data, {}).ok());
  std::string file;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir_.path() + "/store/shadows")) {
    if (e.is_regular_file()) file = e.path().string();
  }
  ASSERT_FALSE(file.empty());
  {
    // Flip bytes in every chunk's stored data (the file is mostly chunk bodies).
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    auto size = std::filesystem::file_size(file);
    for (uint64_t off = size / 8; off < size; off += size / 8) {
      io.seekp(static_cast<std::streamoff>(off));
      io.put('\x5a');
      io.seekp(static_cast<std::streamoff>(off + 1));
      io.put('\xa5');
    }
  }
  auto f = Open(v);
  ASSERT_TRUE(f);
  EXPECT_EQ(ReadAll(*f), data) << "a corrupt chunk is never served";
  EXPECT_GT(primary_.get_count(), 0u);
}

TEST_F(FileDataTest, WritesFetchBaseChunksLazilyAtBoundaries) {
  const std::string base_data = Pattern(3 * kChunk + kChunk / 2, 'i');
  struct Case {
    uint64_t offset;
    size_t length;
  };
  const Case cases[] = {{0, 3},           {1, 3},
                        {kChunk - 1, 3},  {kChunk, 3},
                        {kChunk + 1, 3},  {kChunk - 1, 2 * kChunk + 2},
                        {kChunk, kChunk}, {3 * kChunk + kChunk / 2 - 1, 10}};
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE("write at " + std::to_string(c.offset) + " of " + std::to_string(c.length));
    const std::string key = "w" + std::to_string(i++);
    FileVersion v = Put(key, base_data);
    ASSERT_TRUE(store_->Drop(key).ok() || true);
    primary_.ClearGets();
    auto f = Open(v);
    ASSERT_TRUE(f);
    const std::string patch(c.length, 'Z');
    ASSERT_TRUE(f->Write(c.offset, patch).ok());
    // Only partly covered chunks were fetched.
    const uint64_t first = c.offset / kChunk;
    const uint64_t last = (c.offset + c.length - 1) / kChunk;
    size_t partial = 0;
    for (uint64_t k = first; k <= last; ++k) {
      uint64_t b = k * kChunk;
      uint64_t e = std::min<uint64_t>(b + kChunk, base_data.size());
      if (b >= base_data.size()) continue;
      if (!(b >= c.offset && e <= c.offset + c.length)) ++partial;
    }
    EXPECT_EQ(primary_.get_count(), partial);
    std::string expect = base_data;
    if (expect.size() < c.offset + c.length) expect.resize(c.offset + c.length, '\0');
    expect.replace(c.offset, c.length, patch);
    EXPECT_TRUE(f->dirty());
    EXPECT_EQ(f->size(), expect.size());
    EXPECT_EQ(ReadAll(*f, 1000), expect);
    auto committed = f->Commit({});
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    EXPECT_FALSE(f->dirty());
    EXPECT_EQ(Primary(key), expect);
    EXPECT_EQ(committed->size, expect.size());
  }
}

TEST_F(FileDataTest, TruncateShrinksAndGrowsWithZeros) {
  const std::string base_data = Pattern(3 * kChunk, 'j');
  FileVersion v = Put("t", base_data);
  auto f = Open(v);
  ASSERT_TRUE(f->Truncate(kChunk + 10).ok());
  EXPECT_EQ(f->size(), kChunk + 10);
  ASSERT_TRUE(f->Truncate(3 * kChunk + 5).ok());
  std::string expect = base_data.substr(0, kChunk + 10);
  expect.resize(3 * kChunk + 5, '\0');
  EXPECT_EQ(ReadAll(*f), expect);
  ASSERT_TRUE(f->Commit({}).ok());
  EXPECT_EQ(Primary("t"), expect);
}

TEST_F(FileDataTest, CommitOfACleanFileMakesNoRequest) {
  FileVersion v = Put("c", "hello");
  auto f = Open(v);
  faults_.ResetCounters();
  auto r = f->Commit({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->etag, v.etag);
  EXPECT_EQ(faults_.total_calls(), 0);
}

TEST_F(FileDataTest, NewFileWithTruncateIsCreatedOnCommit) {
  FileVersion v;
  v.key = "new";
  auto f = Open(v, /*truncate=*/true);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->dirty());
  ASSERT_TRUE(f->Write(0, "fresh").ok());
  auto r = f->Commit({{"mode", "33188"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->exists);
  EXPECT_EQ(Primary("new"), "fresh");
  // Later writes stage on top of the new version.
  ASSERT_TRUE(f->Write(5, "er").ok());
  ASSERT_TRUE(f->Commit({}).ok());
  EXPECT_EQ(Primary("new"), "fresher");
}

}  // namespace
}  // namespace shadowfs::fs::testing
