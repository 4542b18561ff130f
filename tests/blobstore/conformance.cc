#include "tests/blobstore/conformance.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "blobstore/base/digest.h"
#include "tests/blobstore/list_keys.h"

namespace shadowfs::blobstore::testing {
namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

std::string MustGet(BlobStore& store, const std::string& key, const GetOptions& options = {}) {
  auto r = GetString(store, key, options);
  EXPECT_TRUE(r.ok()) << key << ": " << r.status().ToString();
  return r.ok() ? *r : std::string();
}

void MustPut(BlobStore& store, const std::string& key, const std::string& data,
             const PutOptions& options = {}) {
  auto r = PutString(store, key, data, options);
  ASSERT_TRUE(r.ok()) << key << ": " << r.status().ToString();
}

TEST_P(BlobStoreConformance, PutThenGetReturnsTheSameBytes) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{4096}, size_t{1} << 20, (size_t{1} << 20) + 7}) {
    std::string key = "obj-" + std::to_string(size);
    std::string data = RandomBytes(size, static_cast<uint32_t>(size));
    auto put = PutString(store(), key, data);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->size, size);
    EXPECT_FALSE(put->etag.empty());
    EXPECT_EQ(MustGet(store(), key), data) << "size " << size;
  }
}

TEST_P(BlobStoreConformance, HeadReportsSizeEtagAndMetadata) {
  PutOptions options;
  options.metadata = {{"mode", "33188"}, {"uid", "1000"}, {"mtime", "1700000000"}};
  options.content_type = "text/plain";
  MustPut(store(), "dir/file.txt", "hello world", options);
  auto head = store().Head("dir/file.txt");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->key, "dir/file.txt");
  EXPECT_EQ(head->size, 11u);
  EXPECT_EQ(head->etag, base::Md5Hex("hello world"));
  EXPECT_EQ(head->metadata, options.metadata);
  EXPECT_EQ(head->content_type, "text/plain");
  EXPECT_GT(head->last_modified.time_since_epoch().count(), 0);
}

TEST_P(BlobStoreConformance, MissingObjectsAreNotFound) {
  EXPECT_TRUE(store().Head("nope").status().IsNotFound());
  StringSink sink;
  EXPECT_TRUE(store().Get("nope", {}, sink).status().IsNotFound());
  CopyOptions copy;
  EXPECT_TRUE(store().Copy("nope", "dest", copy).status().IsNotFound());
}

TEST_P(BlobStoreConformance, OverwriteReplacesContentAndEtag) {
  MustPut(store(), "k", "first");
  auto first = store().Head("k");
  MustPut(store(), "k", "second version");
  auto second = store().Head("k");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->etag, second->etag);
  EXPECT_EQ(second->size, 14u);
  EXPECT_EQ(MustGet(store(), "k"), "second version");
}

TEST_P(BlobStoreConformance, DeleteRemovesAndDeletingMissingSucceeds) {
  MustPut(store(), "gone", "x");
  EXPECT_TRUE(store().Delete("gone").ok());
  EXPECT_TRUE(store().Head("gone").status().IsNotFound());
  EXPECT_TRUE(store().Delete("gone").ok());
  EXPECT_TRUE(store().Delete("never-existed").ok());
}

TEST_P(BlobStoreConformance, RangesAtTheEdges) {
  const std::string data = "0123456789";
  MustPut(store(), "r", data);
  struct Case {
    ByteRange range;
    std::string want;
    uint64_t offset;
  };
  const Case cases[] = {
      {ByteRange::Span(0, 1), "0", 0},    {ByteRange::Span(9, 1), "9", 9},
      {ByteRange::Span(3, 4), "3456", 3}, {ByteRange::Span(8, 100), "89", 8},
      {ByteRange::From(7), "789", 7},     {ByteRange::Last(3), "789", 7},
      {ByteRange::Last(100), data, 0},    {ByteRange::From(10), "", 10},
      {ByteRange::Span(10, 5), "", 10},   {ByteRange::Span(1000, 5), "", 10},
      {ByteRange::Full(), data, 0},
  };
  for (const auto& c : cases) {
    GetOptions options;
    options.range = c.range;
    StringSink sink;
    auto r = store().Get("r", options, sink);
    ASSERT_TRUE(r.ok()) << c.range.ToHttpRange() << ": " << r.status().ToString();
    EXPECT_EQ(sink.Take().substr(0, r->length), c.want) << c.range.ToHttpRange();
    EXPECT_EQ(r->length, c.want.size()) << c.range.ToHttpRange();
    if (!c.want.empty()) {
      EXPECT_EQ(r->offset, c.offset) << c.range.ToHttpRange();
    }
    EXPECT_EQ(r->info.size, data.size());
    EXPECT_EQ(r->info.etag, base::Md5Hex(data));
  }
}

TEST_P(BlobStoreConformance, EmptyObjectReadsAsEmptyWithAnyRange) {
  MustPut(store(), "empty", "");
  for (auto range :
       {ByteRange::Full(), ByteRange::From(0), ByteRange::Span(0, 10), ByteRange::Last(4)}) {
    GetOptions options;
    options.range = range;
    StringSink sink;
    auto r = store().Get("empty", options, sink);
    ASSERT_TRUE(r.ok()) << range.ToHttpRange() << ": " << r.status().ToString();
    EXPECT_EQ(r->length, 0u);
    EXPECT_EQ(r->info.size, 0u);
  }
}

TEST_P(BlobStoreConformance, AwkwardKeysRoundTripAndList) {
  std::vector<std::string> keys = {
      "with space",
      "plus+sign",
      "percent%20literal",
      "question?mark",
      "hash#tag",
      "tilde~x",
      "amp&eq=1",
      "unicodé/ファイル",
      "quote\"s'",
      "semi;colon",
      "star*",
      "brackets[1](2)",
      "dollar$@!",
      "a/b/c/deep",
      "trailing.",
      std::string(200, 'k') + "/" + std::string(200, 'l') + "/" + std::string(200, 'm'),
  };
  if (!GetParam().path_like_keys_only) {
    keys.push_back("double//slash");
    keys.push_back("collide");
    keys.push_back("collide/child");
  }
  for (const auto& key : keys) MustPut(store(), key, "data:" + key);
  for (const auto& key : keys) EXPECT_EQ(MustGet(store(), key), "data:" + key);
  auto listed = ListKeys(store(), "", "", 1000);
  std::vector<std::string> want = keys;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(listed, want);
  for (const auto& key : keys) EXPECT_TRUE(store().Delete(key).ok()) << key;
  EXPECT_TRUE(ListKeys(store(), "", "", 1000).empty());
}

TEST_P(BlobStoreConformance, InvalidKeysAreRejected) {
  StringSource body("x");
  for (const std::string& key :
       {std::string(), std::string("a\0b", 3), std::string(1025, 'x'), std::string("\xff\xfe")}) {
    auto r = store().Put(key, body, {});
    EXPECT_EQ(r.status().code(), base::StatusCode::kInvalidArgument) << r.status().ToString();
  }
}

TEST_P(BlobStoreConformance, ListWithPrefixAndDelimiter) {
  for (const char* key : {"a/1", "a/2", "a/sub/3", "a/sub/4", "a-sibling", "b/5", "top"}) {
    MustPut(store(), key, key);
  }
  MustPut(store(), "emptydir/", "");
  std::vector<std::string> prefixes;
  auto keys = ListKeys(store(), "", "/", 1000, &prefixes);
  EXPECT_EQ(keys, (std::vector<std::string>{"a-sibling", "top"}));
  EXPECT_EQ(prefixes, (std::vector<std::string>{"a/", "b/", "emptydir/"}));

  prefixes.clear();
  keys = ListKeys(store(), "a/", "/", 1000, &prefixes);
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2"}));
  EXPECT_EQ(prefixes, (std::vector<std::string>{"a/sub/"}));

  keys = ListKeys(store(), "a", "", 1000);
  EXPECT_EQ(keys, (std::vector<std::string>{"a-sibling", "a/1", "a/2", "a/sub/3", "a/sub/4"}));

  prefixes.clear();
  keys = ListKeys(store(), "emptydir/", "/", 1000, &prefixes);
  EXPECT_EQ(keys, (std::vector<std::string>{"emptydir/"}));
  EXPECT_TRUE(prefixes.empty());

  ListOptions after;
  after.start_after = "a/2";
  auto page = store().List(after);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->objects.empty());
  EXPECT_EQ(page->objects.front().key, "a/sub/3");
}

TEST_P(BlobStoreConformance, ListReportsSizeAndEtag) {
  MustPut(store(), "sized", "12345");
  auto page = store().List({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].size, 5u);
  EXPECT_EQ(page->objects[0].etag, base::Md5Hex("12345"));
}

TEST_P(BlobStoreConformance, PaginationVisitsEveryKeyOnce) {
  // More than one server page (1000), written by several threads.
  const int kKeys = 1100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kKeys; i += 8) {
        char key[32];
        std::snprintf(key, sizeof key, "many/%05d", i);
        if (!PutString(store(), key, "").ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  auto all = ListKeys(store(), "many/", "", 1000);
  ASSERT_EQ(all.size(), static_cast<size_t>(kKeys));
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
  EXPECT_EQ(ListKeys(store(), "many/", "", 7).size(), static_cast<size_t>(kKeys));
  std::vector<std::string> prefixes;
  EXPECT_TRUE(ListKeys(store(), "", "/", 1, &prefixes).empty());
  EXPECT_EQ(prefixes, (std::vector<std::string>{"many/"}));
}

TEST_P(BlobStoreConformance, CopyKeepsOrReplacesMetadata) {
  PutOptions options;
  options.metadata = {{"mode", "33188"}};
  MustPut(store(), "src", "payload", options);
  auto kept = store().Copy("src", "dst1", {});
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(MustGet(store(), "dst1"), "payload");
  EXPECT_EQ(store().Head("dst1")->metadata, options.metadata);

  CopyOptions replace;
  replace.replace_metadata = UserMetadata{{"mode", "33261"}, {"uid", "7"}};
  auto replaced = store().Copy("src", "dst2", replace);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(store().Head("dst2")->metadata, *replace.replace_metadata);
  EXPECT_EQ(MustGet(store(), "dst2"), "payload");

  // Replacing an object's own metadata in place (chmod on a file).
  auto self = store().Copy("src", "src", replace);
  ASSERT_TRUE(self.ok()) << self.status().ToString();
  EXPECT_EQ(store().Head("src")->metadata, *replace.replace_metadata);
  EXPECT_EQ(MustGet(store(), "src"), "payload");

  CopyOptions stale;
  stale.source_conditions.if_match = base::Md5Hex("something else");
  EXPECT_TRUE(store().Copy("src", "dst3", stale).status().IsConflict());
}

TEST_P(BlobStoreConformance, ConditionalReads) {
  MustPut(store(), "c", "v1");
  const std::string etag = base::Md5Hex("v1");
  GetOptions options;
  options.conditions.if_match = etag;
  EXPECT_EQ(MustGet(store(), "c", options), "v1");
  options.conditions.if_match = base::Md5Hex("v0");
  StringSink sink;
  EXPECT_TRUE(store().Get("c", options, sink).status().IsConflict());

  options.conditions = {};
  options.conditions.if_none_match = etag;
  EXPECT_TRUE(store().Get("c", options, sink).status().IsNotModified());
  EXPECT_TRUE(store().Head("c", options.conditions).status().IsNotModified());
  options.conditions.if_none_match = base::Md5Hex("v0");
  EXPECT_EQ(MustGet(store(), "c", options), "v1");
}

TEST_P(BlobStoreConformance, ConditionalWritesWhereSupported) {
  auto supported = store().SupportsConditionalWrites();
  ASSERT_TRUE(supported.ok()) << supported.status().ToString();
  if (!*supported) GTEST_SKIP() << "store does not honour conditional writes";

  PutOptions create;
  create.conditions.if_none_match = "*";
  EXPECT_TRUE(PutString(store(), "cw", "one", create).ok());
  EXPECT_TRUE(PutString(store(), "cw", "two", create).status().IsConflict());
  EXPECT_EQ(MustGet(store(), "cw"), "one");

  PutOptions update;
  update.conditions.if_match = base::Md5Hex("one");
  EXPECT_TRUE(PutString(store(), "cw", "three", update).ok());
  EXPECT_TRUE(PutString(store(), "cw", "four", update).status().IsConflict());
  EXPECT_EQ(MustGet(store(), "cw"), "three");

  PutOptions vanished;
  vanished.conditions.if_match = base::Md5Hex("whatever");
  EXPECT_TRUE(PutString(store(), "cw-missing", "x", vanished).status().IsConflict());
  EXPECT_TRUE(store().Head("cw-missing").status().IsNotFound());
}

TEST_P(BlobStoreConformance, FileSinkAndFileSourceRoundTrip) {
  char path[] = "/tmp/shadowfs-conformance-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  const std::string data = RandomBytes(3 << 20, 42);
  ASSERT_EQ(pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  FileSource source(fd, data.size());
  auto put = store().Put("from-file", source, {});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  ASSERT_EQ(ftruncate(fd, 0), 0);
  FileSink sink(fd, 100);
  GetOptions options;
  options.range = ByteRange::Span(1000, 2 << 20);
  auto get = store().Get("from-file", options, sink);
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  ASSERT_EQ(get->length, 2u << 20);
  std::string back(get->length, '\0');
  ASSERT_EQ(pread(fd, back.data(), back.size(), 100), static_cast<ssize_t>(back.size()));
  EXPECT_TRUE(back == data.substr(1000, 2 << 20));
  close(fd);
}

TEST_P(BlobStoreConformance, LargeObjectRoundTripsWithRanges) {
  // Large enough to take the multipart path of stores that have one.
  const size_t kSize = (64u << 20) + 12345;
  const std::string data = RandomBytes(kSize, 7);
  MustPut(store(), "large/blob", data);
  auto head = store().Head("large/blob");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, kSize);
  std::string back = MustGet(store(), "large/blob");
  EXPECT_EQ(back.size(), kSize);
  EXPECT_TRUE(back == data) << "large object differs";
  GetOptions options;
  options.range = ByteRange::Span(kSize - 5000, 10000);
  EXPECT_TRUE(MustGet(store(), "large/blob", options) == data.substr(kSize - 5000));
}

TEST_P(BlobStoreConformance, ConcurrentWritersAndReaders) {
  const int kThreads = 8, kRounds = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string own = "own/" + std::to_string(t);
        std::string value = RandomBytes(1000 + t * 10 + i, t * 1000 + i);
        if (!PutString(store(), own, value).ok()) failures++;
        auto back = GetString(store(), own);
        if (!back.ok() || *back != value) failures++;
        // Everyone races on one key: every read must see one whole version.
        std::string shared(100 + t, static_cast<char>('a' + t));
        if (!PutString(store(), "shared", shared).ok()) failures++;
        auto seen = GetString(store(), "shared");
        if (!seen.ok() || seen->empty() || *seen != std::string(seen->size(), (*seen)[0]) ||
            seen->size() != 100u + ((*seen)[0] - 'a')) {
          failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace shadowfs::blobstore::testing
