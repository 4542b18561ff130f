#include "blobstore/local_dir_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "blobstore/base/digest.h"
#include "tests/blobstore/conformance.h"
#include "tests/blobstore/local_dir_test_util.h"

namespace shadowfs::blobstore::testing {
namespace {

namespace fs = std::filesystem;

base::SystemClock system_clock;

INSTANTIATE_TEST_SUITE_P(LocalDir, BlobStoreConformance,
                         ::testing::Values(ConformanceTarget{
                             "local_dir",
                             [] { return std::make_unique<OwningLocalDirStore>(&system_clock); },
                             /*path_like_keys_only=*/true}),
                         [](const auto& info) { return info.param.name; });

class LocalDirTest : public LocalDirFixture {
 protected:
  void MustPut(const std::string& key, const std::string& data, const PutOptions& options = {}) {
    auto put = PutString(store(), key, data, options);
    ASSERT_TRUE(put.ok()) << key << ": " << put.status().ToString();
  }
};

TEST_F(LocalDirTest, DescribeNamesTheDirectory) {
  EXPECT_EQ(store().Describe(), "file://" + dir_.path());
}

TEST_F(LocalDirTest, OpenRejectsWhatIsNotAnAbsoluteDirectory) {
  EXPECT_EQ(LocalDirBlobStore::Open("relative/dir", &clock_).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(LocalDirBlobStore::Open(Path("missing"), &clock_).status().IsNotFound());
  WriteFile(Path("plain"), "x");
  EXPECT_EQ(LocalDirBlobStore::Open(Path("plain"), &clock_).status().code(),
            base::StatusCode::kInvalidArgument);
  TempDir other;
  WriteFile(other.path() + "/.shadowfs", "the user's own file");
  auto r = LocalDirBlobStore::Open(other.path(), &clock_);
  EXPECT_EQ(r.status().code(), base::StatusCode::kInvalidArgument) << r.status().ToString();
}

TEST_F(LocalDirTest, KeysThatEscapeOrCannotBeNamesAreRejected) {
  const std::string outside = fs::path(dir_.path()).parent_path().string();
  const std::string marker = "escape-" + fs::path(dir_.path()).filename().string();
  for (const std::string& key : std::vector<std::string>{
           "/abs", "/" + outside + "/" + marker, "..", ".", "../" + marker, "a/../../" + marker,
           "a/./b", "a//b", "//", "a/" + std::string(256, 'n'), ".shadowfs", ".shadowfs/lock",
           ".shadowfs/tmp/x", std::string("./") + marker}) {
    StringSource body("x");
    auto put = store().Put(key, body, {});
    EXPECT_EQ(put.status().code(), base::StatusCode::kInvalidArgument) << key;
    EXPECT_NE(put.status().message().find("local directory"), std::string::npos)
        << put.status().message();
    EXPECT_EQ(store().Head(key).status().code(), base::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store().Delete(key).code(), base::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store().Copy("src", key, {}).status().code(), base::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(fs::exists(outside + "/" + marker));
  EXPECT_FALSE(fs::exists("/abs"));
  // A component of exactly NAME_MAX bytes is fine.
  MustPut("a/" + std::string(255, 'n'), "ok");
}

TEST_F(LocalDirTest, SymlinksInsideTheRootAreNeverFollowed) {
  TempDir outside;
  WriteFile(outside.path() + "/secret.txt", "secret");
  ASSERT_EQ(::symlink(outside.path().c_str(), Path("dirlink").c_str()), 0);
  ASSERT_EQ(::symlink((outside.path() + "/secret.txt").c_str(), Path("filelink").c_str()), 0);
  ASSERT_EQ(::symlink("..", Path("up").c_str()), 0);
  MustPut("visible", "v");

  for (const std::string key : {"dirlink/secret.txt", "filelink", "up/x", "dirlink/"}) {
    EXPECT_TRUE(store().Head(key).status().IsNotFound()) << key;
    StringSink sink;
    EXPECT_TRUE(store().Get(key, {}, sink).status().IsNotFound()) << key;
    EXPECT_TRUE(store().Copy(key, "stolen", {}).status().IsNotFound()) << key;
  }
  EXPECT_EQ(ListKeys(store()), std::vector<std::string>{"visible"});

  // Writes onto or through a symlink are refused, and nothing outside changes.
  auto through = PutString(store(), "dirlink/planted", "p");
  EXPECT_EQ(through.status().code(), base::StatusCode::kPermissionDenied);
  EXPECT_NE(through.status().message().find("symbolic link"), std::string::npos);
  EXPECT_FALSE(fs::exists(outside.path() + "/planted"));
  EXPECT_EQ(PutString(store(), "filelink", "overwrite").status().code(),
            base::StatusCode::kPermissionDenied);
  EXPECT_EQ(PutString(store(), "up/planted", "p").status().code(),
            base::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadFile(outside.path() + "/secret.txt"), "secret");
  EXPECT_TRUE(fs::is_symlink(Path("filelink")));

  // Deleting them deletes nothing: there is no object there.
  EXPECT_TRUE(store().Delete("filelink").ok());
  EXPECT_TRUE(store().Delete("dirlink/secret.txt").ok());
  EXPECT_TRUE(fs::is_symlink(Path("filelink")));
  EXPECT_EQ(ReadFile(outside.path() + "/secret.txt"), "secret");
}

TEST_F(LocalDirTest, SpecialFilesAndUnnameableFilesAreInvisible) {
  ASSERT_EQ(::mkfifo(Path("fifo").c_str(), 0644), 0);
  WriteFile(Path(std::string("bad\xff-name")), "not utf-8");
  MustPut("ok", "1");
  EXPECT_TRUE(store().Head("fifo").status().IsNotFound());  // and does not block
  EXPECT_EQ(ListKeys(store()), std::vector<std::string>{"ok"});
}

TEST_F(LocalDirTest, ExistingFilesAreObjectsWithContentEtags) {
  WriteFile(Path("a.txt"), "alpha");
  WriteFile(Path("docs/b.md"), "# bravo");
  WriteFile(Path("docs/sub/c"), "");
  fs::create_directories(Path("empty"));
  Reopen();
  EXPECT_EQ(ListKeys(store()), (std::vector<std::string>{"a.txt", "docs/", "docs/b.md", "docs/sub/",
                                                         "docs/sub/c", "empty/"}));
  auto head = store().Head("docs/b.md");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->etag, base::Md5Hex("# bravo"));
  EXPECT_EQ(head->size, 7u);
  EXPECT_TRUE(head->metadata.empty());
  struct stat st;
  ASSERT_EQ(::stat(Path("docs/b.md").c_str(), &st), 0);
  EXPECT_EQ(base::ToUnixSeconds(head->last_modified), st.st_mtim.tv_sec);
  EXPECT_EQ(*GetString(store(), "a.txt"), "alpha");

  ListOptions options;
  auto page = store().List(options);
  ASSERT_TRUE(page.ok());
  for (const auto& o : page->objects) {
    const std::string want = o.key == "a.txt" ? "alpha" : o.key == "docs/b.md" ? "# bravo" : "";
    EXPECT_EQ(o.etag, base::Md5Hex(want)) << o.key;
  }
  // The user's directory is theirs: deleting the last file in it does not remove it.
  EXPECT_TRUE(store().Delete("docs/sub/c").ok());
  EXPECT_TRUE(fs::is_directory(Path("docs/sub")));
  EXPECT_TRUE(store().Head("docs/sub/").ok());
}

TEST_F(LocalDirTest, FilesEditedOutsideShadowfsGetNewEtags) {
  PutOptions options;
  options.metadata = {{"mode", "33188"}};
  MustPut("k", "version one", options);

  // Edited in place: same inode, so the user metadata still belongs to it.
  WriteFile(Path("k"), "version two, longer");
  auto head = store().Head("k");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->etag, base::Md5Hex("version two, longer"));
  EXPECT_EQ(head->metadata, options.metadata);

  // Replaced by another file (an editor's save-by-rename): the metadata was the old file's.
  WriteFile(Path("k.new"), "three");
  ASSERT_EQ(::rename(Path("k.new").c_str(), Path("k").c_str()), 0);
  head = store().Head("k");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->etag, base::Md5Hex("three"));
  EXPECT_TRUE(head->metadata.empty());
  auto page = store().List({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].etag, base::Md5Hex("three"));
}

TEST_F(LocalDirTest, SameSizeEditWithRestoredMtimeIsDetectedByCtime) {
  // Tools like rsync -t and cp -p put the mtime back after writing; only the ctime tells.
  PutOptions options;
  options.metadata = {{"mode", "33188"}};
  MustPut("same", "version one", options);
  struct stat before, after;
  ASSERT_EQ(::stat(Path("same").c_str(), &before), 0);
  WriteFile(Path("same"), "VERSION ONE");
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("same").c_str(), times, 0), 0);
  ASSERT_EQ(::stat(Path("same").c_str(), &after), 0);
  ASSERT_EQ(after.st_size, before.st_size);
  ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  if (after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
      after.st_ctim.tv_nsec == before.st_ctim.tv_nsec) {
    GTEST_SKIP() << "the ctime did not move within one timestamp tick on this filesystem, so "
                    "an edit this fast that keeps size and mtime is undetectable";
  }
  auto head = store().Head("same");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->etag, base::Md5Hex("VERSION ONE"));
  EXPECT_EQ(head->metadata, options.metadata);
}

TEST_F(LocalDirTest, ListingIsInByteOrderNotDirectoryWalkOrder) {
  // A directory walk sorted by name would put "a/" (the directory "a") before "a-c".
  for (const char* key : {"a/b", "a-c", "a.d", "a0", "a/b-x", "a/b0"}) MustPut(key, key);
  MustPut("z/a/b", "1");
  MustPut("z/a-c", "2");
  const std::vector<std::string> want = {"a-c",  "a.d", "a/b",   "a/b-x",
                                         "a/b0", "a0",  "z/a-c", "z/a/b"};
  EXPECT_EQ(ListKeys(store()), want);
  EXPECT_EQ(ListKeys(store(), "", "", 1), want);
  EXPECT_EQ(ListKeys(store(), "", "", 3), want);
  std::vector<std::string> prefixes;
  EXPECT_EQ(ListKeys(store(), "", "/", 1000, &prefixes),
            (std::vector<std::string>{"a-c", "a.d", "a0"}));
  EXPECT_EQ(prefixes, (std::vector<std::string>{"a/", "z/"}));
  prefixes.clear();
  EXPECT_EQ(ListKeys(store(), "z/a", "/", 1, &prefixes), (std::vector<std::string>{"z/a-c"}));
  EXPECT_EQ(prefixes, (std::vector<std::string>{"z/a/"}));
  EXPECT_EQ(ListKeys(store(), "a/b", ""), (std::vector<std::string>{"a/b", "a/b-x", "a/b0"}));
}

TEST_F(LocalDirTest, ImplicitDirectoriesVanishWithTheirLastChild) {
  MustPut("x/y/z", "1");
  EXPECT_TRUE(fs::is_directory(Path("x/y")));
  EXPECT_EQ(ListKeys(store()), std::vector<std::string>{"x/y/z"});
  EXPECT_TRUE(store().Head("x/").status().IsNotFound());
  EXPECT_TRUE(store().Head("x/y/").status().IsNotFound());
  ASSERT_TRUE(store().Delete("x/y/z").ok());
  EXPECT_FALSE(fs::exists(Path("x")));

  // A marker persists without children, and Delete of it on a non-empty directory only drops
  // the marker status.
  PutOptions options;
  options.metadata = {{"mode", "16877"}};
  MustPut("m/", "", options);
  MustPut("m/f", "1");
  ASSERT_TRUE(store().Delete("m/f").ok());
  EXPECT_EQ(ListKeys(store()), std::vector<std::string>{"m/"});
  EXPECT_EQ(store().Head("m/")->metadata, options.metadata);
  MustPut("m/g", "1");
  ASSERT_TRUE(store().Delete("m/").ok());
  EXPECT_EQ(ListKeys(store()), std::vector<std::string>{"m/g"});
  EXPECT_TRUE(store().Head("m/").status().IsNotFound());
  ASSERT_TRUE(store().Delete("m/g").ok());
  EXPECT_FALSE(fs::exists(Path("m")));

  // Put "d/" on an implicit directory makes it explicit.
  MustPut("p/q", "1");
  MustPut("p/", "");
  ASSERT_TRUE(store().Delete("p/q").ok());
  EXPECT_EQ(ListKeys(store()), std::vector<std::string>{"p/"});
  ASSERT_TRUE(store().Delete("p/").ok());
  EXPECT_TRUE(ListKeys(store()).empty());
  EXPECT_EQ(CountEntries(dir_.path()), 1u);  // only .shadowfs
}

TEST_F(LocalDirTest, AFileAndADirectoryCannotShareAName) {
  MustPut("a", "file");
  auto under = PutString(store(), "a/b", "x");
  EXPECT_EQ(under.status().code(), base::StatusCode::kAlreadyExists);
  EXPECT_NE(under.status().message().find("cannot hold both 'a' and 'a/b'"), std::string::npos)
      << under.status().message();
  EXPECT_EQ(PutString(store(), "a/", "").status().code(), base::StatusCode::kAlreadyExists);
  MustPut("d/x", "1");
  EXPECT_EQ(PutString(store(), "d", "x").status().code(), base::StatusCode::kAlreadyExists);
  EXPECT_EQ(store().Copy("a", "d", {}).status().code(), base::StatusCode::kAlreadyExists);
  EXPECT_EQ(*GetString(store(), "a"), "file");
  EXPECT_EQ(PutString(store(), "dir/", "data").status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store().Head("d").status().IsNotFound());
  EXPECT_TRUE(store().Delete("d").ok());  // no object "d": the directory stays
  EXPECT_EQ(*GetString(store(), "d/x"), "1");
}

TEST_F(LocalDirTest, CopyBetweenFilesAndMarkers) {
  PutOptions options;
  options.metadata = {{"mode", "16877"}};
  MustPut("src/", "", options);
  auto copied = store().Copy("src/", "dst/", {});
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_TRUE(fs::is_directory(Path("dst")));
  EXPECT_EQ(store().Head("dst/")->metadata, options.metadata);
  MustPut("empty-file", "");
  EXPECT_TRUE(store().Copy("empty-file", "from-file/", {}).ok());
  MustPut("full", "data");
  EXPECT_EQ(store().Copy("full", "full-dir/", {}).status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST_F(LocalDirTest, TenThousandFilesInOneDirectoryPageCorrectly) {
  // Written straight to disk (as a user's directory would be); the store hashes them on demand.
  std::vector<std::string> want;
  for (int i = 0; i < 10000; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "f%05d", i);
    // Every 1000th name is also a directory whose sort position sits between files.
    // (Made by hand, so they are the user's directories: explicit markers.)
    if (i % 1000 == 7) {
      WriteFile(Path(std::string("big/") + name + "/inner"), "i");
      want.push_back(std::string("big/") + name + "/");
      want.push_back(std::string("big/") + name + "/inner");
      continue;
    }
    WriteFile(Path(std::string("big/") + name), name);
    want.push_back(std::string("big/") + name);
  }
  std::sort(want.begin(), want.end());
  auto all = ListKeys(store(), "big/f", "", 1000);
  EXPECT_EQ(all, want);
  EXPECT_EQ(ListKeys(store(), "big/f", "", 777), want);
  std::vector<std::string> prefixes;
  auto top = ListKeys(store(), "big/", "/", 1000, &prefixes);
  EXPECT_EQ(top.size(), 9991u);  // the files and "big/" itself
  EXPECT_EQ(top.front(), "big/");
  EXPECT_EQ(prefixes.size(), 10u);
  EXPECT_EQ(prefixes.front(), "big/f00007/");
  // A page from the middle, as a continuation would ask.
  ListOptions options;
  options.prefix = "big/";
  options.start_after = "big/f05000";
  options.max_keys = 2;
  auto page = store().List(options);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "big/f05001");
  EXPECT_EQ(page->objects[0].etag, base::Md5Hex("f05001"));
  EXPECT_TRUE(page->truncated);
}

TEST_F(LocalDirTest, ConcurrentPutsAndDeletesUnderSharedImplicitDirectories) {
  // Deletes remove the implicit directories that concurrent Puts are writing into.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        std::string key = "race/shared/" + std::to_string(t);
        auto put = PutString(store(), key, std::to_string(i));
        if (!put.ok()) {
          ADD_FAILURE() << put.status().ToString();
          failures++;
        }
        if (!store().Delete(key).ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(ListKeys(store()).empty());
  EXPECT_FALSE(fs::exists(Path("race")));
}

TEST_F(LocalDirTest, ReservedAreaIsHiddenFromListings) {
  MustPut("x", "1");
  std::vector<std::string> prefixes;
  EXPECT_EQ(ListKeys(store(), "", "/", 1000, &prefixes), std::vector<std::string>{"x"});
  EXPECT_TRUE(prefixes.empty());
  EXPECT_TRUE(ListKeys(store(), ".shadowfs/").empty());
  EXPECT_TRUE(ListKeys(store(), ".sh").empty());
}

}  // namespace
}  // namespace shadowfs::blobstore::testing
