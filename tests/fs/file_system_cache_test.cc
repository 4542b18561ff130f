// FileSystem caches and consistency with other writers of the primary: the directory listing
// cache, keep_cache, close-to-open revalidation (and when a confident shadow stands in for it),
// attribute changes while data is staged, and failures of the primary that must leave nothing
// half-done.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "blobstore/base/mutex.h"
#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/mem_blob_store.h"
#include "blobstore/shadow/mapped_file.h"
#include "fs/file_system.h"
#include "tests/fs/fs_fixture.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::fs {
namespace {

using base::Status;
using base::StatusCode;
using blobstore::BlobOp;
using NameList = std::vector<std::string>;

class FileSystemCacheTest : public FsFixture {
 protected:
  void Advance(std::chrono::milliseconds d) { rt_.fake_clock()->Advance(d); }
  InodeId Lookup(InodeId parent, const std::string& name) {
    auto e = fs_->Lookup(parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.status().ToString();
    return e.ok() ? e->attr.ino : 0;
  }
  InodeId WriteFile(InodeId parent, const std::string& name, const std::string& data) {
    auto c = fs_->Create(parent, name, 0644, O_WRONLY | O_CREAT | O_TRUNC, caller_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return 0;
    EXPECT_TRUE(fs_->Write(c->second.handle, 0, data).ok());
    EXPECT_TRUE(fs_->Release(c->second.handle).ok());
    return c->first.attr.ino;
  }
  // Opens, reads everything, closes. `keep_cache` receives what the open answered.
  std::string Read(InodeId ino, bool* keep_cache = nullptr) {
    auto h = fs_->Open(ino, O_RDONLY, caller_);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return "<open failed>";
    if (keep_cache) *keep_cache = h->keep_cache;
    std::string out(1 << 16, '\0');
    auto n = fs_->Read(h->handle, 0, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    EXPECT_TRUE(fs_->Release(h->handle).ok());
    return out;
  }
  base::Result<std::vector<std::string>> List(InodeId dir) {
    SHADOWFS_ASSIGN_OR_RETURN(HandleId h, fs_->OpenDir(dir));
    std::vector<std::string> names;
    Status st = fs_->ReadDir(h, 0, false, [&](const DirEntry& e) {
      if (e.name != "." && e.name != "..") names.push_back(e.name);
      return true;
    });
    SHADOWFS_RETURN_IF_ERROR(fs_->ReleaseDir(h));
    SHADOWFS_RETURN_IF_ERROR(st);
    return names;
  }
  std::vector<std::string> Names(InodeId dir) {
    auto names = List(dir);
    EXPECT_TRUE(names.ok()) << names.status().ToString();
    return names.ok() ? *names : std::vector<std::string>{};
  }
};

// An open that lets the kernel keep the file's pages is reported as an access of length 0: its
// reads may never reach the filesystem, and the models learn from opens.
TEST_F(FileSystemCacheTest, AnOpenTheKernelMayServeFromItsPageCacheIsReported) {
  struct : predict::AccessSink {
    void Record(const predict::AccessEvent& e) noexcept override {
      base::MutexLock lock(&mu);
      seen.push_back(e);
    }
    std::vector<predict::AccessEvent> events() {
      base::MutexLock lock(&mu);
      return seen;
    }
    base::Mutex mu;
    std::vector<predict::AccessEvent> seen;
  } sink;
  access_ = &sink;
  Mount({});
  ASSERT_TRUE(blobstore::PutString(mem_, "d/f", "hello").ok());
  InodeId f = Lookup(Lookup(kRootInode, "d"), "f");
  bool keep = true;
  EXPECT_EQ(Read(f, &keep), "hello");
  EXPECT_FALSE(keep) << "the first open: the kernel has no pages of this version";
  auto events = sink.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].length, 5u);
  EXPECT_TRUE(events[0].first_read);

  EXPECT_EQ(Read(f, &keep), "hello");
  ASSERT_TRUE(keep);
  events = sink.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(*events[1].key, "d/f");
  EXPECT_EQ(events[1].length, 0u) << "the open itself, before any read";
  EXPECT_EQ(events[1].object_size, 5u);
  EXPECT_TRUE(events[1].first_read);
  EXPECT_EQ(events[2].length, 5u) << "a read that did reach us is reported as before";
  EXPECT_FALSE(events[2].first_read);
  fs_.reset();  // before the sink goes
}

TEST_F(FileSystemCacheTest, AnotherWritersChangeShowsOnlyAfterTheListingTtl) {
  ASSERT_TRUE(blobstore::PutString(mem_, "d/old", "x").ok());
  InodeId d = Lookup(kRootInode, "d");
  EXPECT_EQ(Names(d), NameList{"old"});
  ASSERT_TRUE(faults_.MutateNow("d/new", "y").ok());
  ASSERT_TRUE(faults_.MutateNow("d/old", std::nullopt).ok());
  Advance(std::chrono::milliseconds(900));  // dir_cache_ttl is 1 s
  EXPECT_EQ(Names(d), NameList{"old"});
  // Within the TTL the cached listing also answers lookups: no request per name.
  EXPECT_EQ(fs_->Lookup(d, "new").status().code(), StatusCode::kNotFound);
  Advance(std::chrono::milliseconds(200));
  EXPECT_EQ(Names(d), NameList{"new"});
  EXPECT_TRUE(fs_->Lookup(d, "new").ok());
  EXPECT_EQ(fs_->Lookup(d, "old").status().code(), StatusCode::kNotFound);
}

TEST_F(FileSystemCacheTest, LocalChangesShowAtOnce) {
  auto d = fs_->MkDir(kRootInode, "d", 0755, caller_);
  ASSERT_TRUE(d.ok());
  const InodeId dir = d->attr.ino;
  EXPECT_EQ(Names(dir), NameList{});
  WriteFile(dir, "f", "1");
  EXPECT_EQ(Names(dir), (NameList{"f"}));
  ASSERT_TRUE(fs_->MkDir(dir, "sub", 0755, caller_).ok());
  EXPECT_EQ(Names(dir), (NameList{"f", "sub"}));
  ASSERT_TRUE(fs_->Rename(dir, "f", dir, "g", 0).ok());
  EXPECT_EQ(Names(dir), (NameList{"g", "sub"}));
  ASSERT_TRUE(fs_->Rename(dir, "g", kRootInode, "top", 0).ok());
  EXPECT_EQ(Names(dir), (NameList{"sub"}));
  EXPECT_EQ(Names(kRootInode), (NameList{"d", "top"}));
  ASSERT_TRUE(fs_->RmDir(dir, "sub").ok());
  EXPECT_EQ(Names(dir), NameList{});
  ASSERT_TRUE(fs_->Unlink(kRootInode, "top").ok());
  EXPECT_EQ(Names(kRootInode), NameList{"d"});
  // A local change refetches the whole listing: another writer's change comes along.
  ASSERT_TRUE(faults_.MutateNow("d/theirs", "t").ok());
  EXPECT_EQ(Names(dir), NameList{});
  WriteFile(dir, "mine", "m");
  EXPECT_EQ(Names(dir), (NameList{"mine", "theirs"}));
}

// An open file's reads of a complete shadow with large raw chunks go through a mapping of it
// (shadow::MappedFile), which the store gives up when the file is closed: the shadow's pages are
// then the page cache's alone, to keep or to drop.
TEST_F(FileSystemCacheTest, AShadowIsMappedWhileItsFileIsOpen) {
  std::string data;
  for (int i = 0; i < (3 << 20) / 8; ++i) {  // incompressible: stored raw
    uint64_t v = (i + 1) * 0x9E3779B97F4A7C15ull;
    data.append(reinterpret_cast<const char*>(&v), 8);
  }
  ASSERT_TRUE(blobstore::PutString(mem_, "big", data).ok());
  InodeId f = Lookup(kRootInode, "big");
  auto first = fs_->Open(f, O_RDONLY, caller_);
  ASSERT_TRUE(first.ok());
  std::string out(data.size(), '\0');
  ASSERT_TRUE(fs_->Read(first->handle, 0, out).ok());  // from the primary, filling the shadow
  ASSERT_TRUE(fs_->Release(first->handle).ok());
  ASSERT_TRUE(WaitForShadow("big"));

  const size_t before = shadow::MappedFile::live();
  auto h = fs_->Open(f, O_RDONLY, caller_);
  ASSERT_TRUE(h.ok());
  std::fill(out.begin(), out.end(), '\0');
  auto n = fs_->Read(h->handle, 0, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, data.size());
  EXPECT_TRUE(out == data);
  EXPECT_EQ(shadow::MappedFile::live(), before + 1);
  ASSERT_TRUE(fs_->Release(h->handle).ok());
  EXPECT_EQ(shadow::MappedFile::live(), before);
}

TEST_F(FileSystemCacheTest, KeepCacheOnlyForAnUnchangedFile) {
  ASSERT_TRUE(blobstore::PutString(mem_, "f", "one").ok());
  InodeId f = Lookup(kRootInode, "f");
  bool keep = true;
  EXPECT_EQ(Read(f, &keep), "one");
  EXPECT_FALSE(keep) << "the first open has nothing cached to keep";
  EXPECT_EQ(Read(f, &keep), "one");
  EXPECT_TRUE(keep);

  // Changed by another writer: seen once the attributes expire, and the kernel's pages go.
  // (Without a shadow: a confident one would stand in for the check, see below.)
  ASSERT_TRUE(store_->Drop("f").ok() || !store_->Find("f"));
  ASSERT_TRUE(faults_.MutateNow("f", "two!").ok());
  Advance(std::chrono::milliseconds(1100));
  EXPECT_EQ(Read(f, &keep), "two!");
  EXPECT_FALSE(keep);
  EXPECT_EQ(Read(f, &keep), "two!");
  EXPECT_TRUE(keep);

  // Changed here.
  auto h = fs_->Open(f, O_WRONLY, caller_);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(fs_->Write(h->handle, 0, "TWO").ok());
  ASSERT_TRUE(fs_->Release(h->handle).ok());
  EXPECT_EQ(Read(f, &keep), "TWO!");
  EXPECT_FALSE(keep);
  EXPECT_EQ(Read(f, &keep), "TWO!");
  EXPECT_TRUE(keep);
  // A truncate is a change too.
  SetAttrRequest t;
  t.size = 1;
  ASSERT_TRUE(fs_->SetAttr(f, t, std::nullopt, caller_).ok());
  EXPECT_EQ(Read(f, &keep), "T");
  EXPECT_FALSE(keep);
}

TEST_F(FileSystemCacheTest, ReopenAfterAttrTimeoutSeesANewVersion) {
  FileSystemOptions o;
  o.read_through = false;  // no shadow: every open after attr_timeout asks the primary
  Mount(o);
  ASSERT_TRUE(blobstore::PutString(mem_, "f", "v1").ok());
  InodeId f = Lookup(kRootInode, "f");
  EXPECT_EQ(Read(f), "v1");
  ASSERT_TRUE(faults_.MutateNow("f", "v2-longer").ok());
  Advance(std::chrono::milliseconds(1001));
  EXPECT_EQ(Read(f), "v2-longer");
  auto attr = fs_->GetAttr(f);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->size, 9u);
}

TEST_F(FileSystemCacheTest, OnlyAConfidentShadowStandsInForTheOpenCheck) {
  ASSERT_TRUE(blobstore::PutString(mem_, "f", "v1").ok());
  InodeId f = Lookup(kRootInode, "f");
  EXPECT_EQ(Read(f), "v1");  // read-through: the shadow of v1
  ASSERT_TRUE(WaitForShadow("f"));
  ASSERT_GE(store_->Find("f")->confidence, store_->min_confidence());

  // Confident: the reopen after attr_timeout costs no HEAD.
  Advance(std::chrono::milliseconds(1001));
  faults_.ResetCounters();
  EXPECT_EQ(Read(f), "v1");
  EXPECT_EQ(faults_.calls(BlobOp::kHead), 0);
  EXPECT_EQ(faults_.total_calls(), 0);

  // Days later the shadow is below min_confidence: the open revalidates and sees v2.
  ASSERT_TRUE(faults_.MutateNow("f", "v2").ok());
  Advance(std::chrono::hours(24 * 5));
  ASSERT_LT(store_->Find("f")->confidence, store_->min_confidence());
  faults_.ResetCounters();
  bool keep = true;
  EXPECT_EQ(Read(f, &keep), "v2");
  EXPECT_FALSE(keep);
  EXPECT_GE(faults_.calls(BlobOp::kHead), 1);
}

TEST_F(FileSystemCacheTest, ChmodWhileDataIsStagedReachesTheObject) {
  auto c = fs_->Create(kRootInode, "new", 0644, O_WRONLY | O_CREAT, caller_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(fs_->Write(c->second.handle, 0, "staged").ok());
  SetAttrRequest r;
  r.mode = 0600;
  r.uid = 77;
  auto a = fs_->SetAttr(c->first.attr.ino, r, c->second.handle, caller_);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->mode, S_IFREG | 0600u);
  EXPECT_FALSE(mem_.Head("new").ok()) << "nothing is uploaded before close";
  ASSERT_TRUE(fs_->Release(c->second.handle).ok());
  auto head = mem_.Head("new");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->metadata.at("mode"), std::to_string(S_IFREG | 0600));
  EXPECT_EQ(head->metadata.at("uid"), "77");
  EXPECT_EQ(*blobstore::GetString(mem_, "new"), "staged");

  // An existing file: written, then chmod, then more writes; the last close keeps the mode.
  auto h = fs_->Open(c->first.attr.ino, O_RDWR, caller_);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(fs_->Write(h->handle, 0, "S").ok());
  SetAttrRequest m;
  m.mode = 0640;
  ASSERT_TRUE(fs_->SetAttr(c->first.attr.ino, m, std::nullopt, caller_).ok());
  ASSERT_TRUE(fs_->Flush(h->handle).ok());
  EXPECT_EQ(mem_.Head("new")->metadata.at("mode"), std::to_string(S_IFREG | 0640));
  m.mode = 0604;  // committed data, open handle: written at once
  ASSERT_TRUE(fs_->SetAttr(c->first.attr.ino, m, std::nullopt, caller_).ok());
  EXPECT_EQ(mem_.Head("new")->metadata.at("mode"), std::to_string(S_IFREG | 0604));
  ASSERT_TRUE(fs_->Write(h->handle, 6, "+").ok());
  ASSERT_TRUE(fs_->Release(h->handle).ok());
  head = mem_.Head("new");
  EXPECT_EQ(head->metadata.at("mode"), std::to_string(S_IFREG | 0604));
  EXPECT_EQ(head->metadata.at("uid"), "77");
  EXPECT_EQ(*blobstore::GetString(mem_, "new"), "Staged+");
}

TEST_F(FileSystemCacheTest, PrimaryDownFailsCleanlyAndNothingIsHalfDone) {
  const Status down = Status::Unavailable("injected: primary down");
  ASSERT_TRUE(blobstore::PutString(mem_, "d/f", "data").ok());
  // Lookup.
  faults_.FailNthCall(BlobOp::kHead, 1, down);
  faults_.FailNthCall(BlobOp::kList, 1, down);
  EXPECT_EQ(fs_->Lookup(kRootInode, "d").status().code(), StatusCode::kUnavailable);
  faults_.ClearFaults();
  InodeId d = Lookup(kRootInode, "d");
  // Readdir: the failure is not cached as an empty listing.
  faults_.FailNthCall(BlobOp::kList, 1, down);
  EXPECT_EQ(List(d).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Names(d), NameList{"f"});
  // Mkdir: no marker, no entry.
  faults_.FailNthCall(BlobOp::kPut, 1, down);
  EXPECT_EQ(fs_->MkDir(d, "sub", 0755, caller_).status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(mem_.Head("d/sub/").ok());
  EXPECT_EQ(fs_->Lookup(d, "sub").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Names(d), NameList{"f"});
  // Unlink and rmdir: the entry stays.
  Lookup(d, "f");  // as the kernel would have
  faults_.FailNthCall(BlobOp::kDelete, 1, down);
  EXPECT_EQ(fs_->Unlink(d, "f").code(), StatusCode::kUnavailable);
  EXPECT_EQ(Read(Lookup(d, "f")), "data");
  EXPECT_EQ(Names(d), NameList{"f"});
  {  // and it is still a file whose writes reach the primary
    auto h = fs_->Open(Lookup(d, "f"), O_WRONLY, caller_);
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE(fs_->Write(h->handle, 0, "DATA").ok());
    ASSERT_TRUE(fs_->Release(h->handle).ok());
    EXPECT_EQ(*blobstore::GetString(mem_, "d/f"), "DATA");
  }
  ASSERT_TRUE(fs_->MkDir(kRootInode, "e", 0755, caller_).ok());
  faults_.FailNthCall(BlobOp::kDelete, 1, down);
  EXPECT_EQ(fs_->RmDir(kRootInode, "e").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(fs_->Lookup(kRootInode, "e").ok());
  EXPECT_EQ(Names(kRootInode), (NameList{"d", "e"}));
  // Rename: the copy fails, the source is intact and the target absent.
  faults_.FailNthCall(BlobOp::kCopy, 1, down);
  EXPECT_EQ(fs_->Rename(d, "f", kRootInode, "g", 0).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(mem_.Head("g").ok());
  EXPECT_EQ(Read(Lookup(d, "f")), "DATA");
  EXPECT_EQ(Names(kRootInode), (NameList{"d", "e"}));
  // Getattr after the attributes expire asks the primary (unless a confident shadow answers,
  // see file_system_offline_test.cc, so the shadow the reads above left goes first).
  InodeId f = Lookup(d, "f");
  ASSERT_TRUE(store_->Drop("d/f").ok() || !store_->Find("d/f"));
  Advance(std::chrono::milliseconds(1001));
  faults_.FailNthCall(BlobOp::kHead, 1, down);
  EXPECT_EQ(fs_->GetAttr(f).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(fs_->GetAttr(f).ok());
  // Everything works again once the primary is back.
  faults_.ClearFaults();
  ASSERT_TRUE(fs_->MkDir(d, "sub", 0755, caller_).ok());
  ASSERT_TRUE(fs_->Rename(d, "f", kRootInode, "g", 0).ok());
  EXPECT_EQ(Names(kRootInode), (NameList{"d", "e", "g"}));
  EXPECT_EQ(Names(d), NameList{"sub"});
}

}  // namespace
}  // namespace shadowfs::fs
