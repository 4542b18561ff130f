// Lookups, getattrs and opens answered without the primary when a confident shadow vouches for
// the version this mount knows (fs/version_cache.h), also after the kernel forgot the inode; and
// everything that must make them ask again: no shadow, a shadow whose confidence decayed, known
// metadata older than metadata_ttl, local unlink and rename. The same for directories, vouched
// for by a shadow beneath them. Plus: a cold lookup's HEAD and one-key List go out together.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "blobstore/base/mutex.h"
#include "blobstore/shadow/materializer.h"
#include "tests/fs/fs_fixture.h"

namespace shadowfs::fs {
namespace {

using base::StatusCode;
using blobstore::BlobOp;

class OfflineTest : public FsFixture {
 protected:
  void Advance(std::chrono::nanoseconds d) { rt_.fake_clock()->Advance(d); }
  InodeId Lookup(InodeId parent, const std::string& name) {
    auto e = fs_->Lookup(parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.status().ToString();
    return e.ok() ? e->attr.ino : 0;
  }
  std::string Read(InodeId ino) {
    auto h = fs_->Open(ino, O_RDONLY, caller_);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return "<open failed>";
    std::string out(1 << 16, '\0');
    auto n = fs_->Read(h->handle, 0, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    EXPECT_TRUE(fs_->Release(h->handle).ok());
    return out;
  }
  // d/NAME holding `data`, read once (so that read-through leaves a shadow of it) and then
  // forgotten by the kernel, as after drop_caches. Returns the directory's inode.
  InodeId ReadOnceAndForget(const std::string& name, const std::string& data) {
    EXPECT_TRUE(blobstore::PutString(mem_, "d/" + name, data).ok());
    InodeId d = Lookup(kRootInode, "d");
    InodeId f = Lookup(d, name);
    EXPECT_EQ(Read(f), data);
    EXPECT_TRUE(WaitForShadow("d/" + name));
    uint64_t before = fs_->stats().inodes;
    fs_->Forget(f, 1);
    EXPECT_EQ(fs_->stats().inodes, before - 1) << "the kernel's Forget frees the inode";
    // Past attr_timeout and the listing cache: only the version cache and the shadow remain.
    Advance(std::chrono::seconds(2));
    return d;
  }
  // Lookup + getattr + open + read of d/NAME; the content read.
  std::string LookupAndRead(InodeId d, const std::string& name) {
    InodeId f = Lookup(d, name);
    auto attr = fs_->GetAttr(f);
    EXPECT_TRUE(attr.ok()) << attr.status().ToString();
    std::string data = Read(f);
    if (attr.ok()) {
      EXPECT_EQ(attr->size, data.size());
    }
    fs_->Forget(f, 1);
    return data;
  }
};

TEST_F(OfflineTest, AConfidentShadowAnswersWithoutThePrimaryAfterForget) {
  InodeId d = ReadOnceAndForget("f", "hello");
  faults_.ResetCounters();
  EXPECT_EQ(LookupAndRead(d, "f"), "hello");
  EXPECT_EQ(faults_.total_calls(), 0)
      << "HEAD " << faults_.calls(BlobOp::kHead) << ", LIST " << faults_.calls(BlobOp::kList)
      << ", GET " << faults_.calls(BlobOp::kGet);
  EXPECT_GE(fs_->stats().answered_from_shadow, 1u);
  // Getattr and open after attr_timeout on a live inode: no request either.
  InodeId f = Lookup(d, "f");
  Advance(std::chrono::seconds(2));
  ASSERT_TRUE(fs_->GetAttr(f).ok());
  Advance(std::chrono::seconds(2));
  EXPECT_EQ(Read(f), "hello");
  EXPECT_EQ(faults_.total_calls(), 0);
}

// A prefetch's GET tells the version: the first lookup of a prefetched file, never seen by
// this mount, asks nothing either.
TEST_F(OfflineTest, APrefetchedFilesFirstLookupAsksNothing) {
  blobstore::PutOptions put;
  put.metadata["mode"] = "33152";  // 0600, as s3fs stores it
  auto info = blobstore::PutString(mem_, "d/p", "prefetched", put);
  ASSERT_TRUE(info.ok());
  InodeId d = Lookup(kRootInode, "d");
  shadow::Materializer m(&mem_, store_.get(), {}, rt_.runtime());
  m.SetVersionObserver([&](const blobstore::ObjectInfo& v) { fs_->LearnVersion(v); });
  ASSERT_TRUE(m.Materialize({.key = "d/p", .expected_etag = info->etag}).ok());
  Advance(std::chrono::seconds(2));  // past the listing cache of d
  faults_.ResetCounters();
  InodeId f = Lookup(d, "p");
  EXPECT_EQ(faults_.total_calls(), 0);
  auto attr = fs_->GetAttr(f);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->size, 10u);
  EXPECT_EQ(attr->mode & 07777, 0600u) << "the metadata came with the GET";
  EXPECT_EQ(Read(f), "prefetched");
  EXPECT_EQ(faults_.total_calls(), 0);
  // A version learned otherwise is not overwritten by a prefetch's (crossed answers).
  auto other = info.value();
  other.etag = "crossed";
  fs_->LearnVersion(other);
  fs_->Forget(f, 1);
  faults_.ResetCounters();
  EXPECT_EQ(LookupAndRead(d, "p"), "prefetched");
  EXPECT_EQ(faults_.total_calls(), 0);
}

// The first lookup of a file whose prefetch is under way waits for that GET instead of asking
// the primary itself: its answer tells the version and leaves the shadow the read is served
// from. A lookup of a file no fetch is bringing in asks at once.
TEST_F(OfflineTest, ALookupWaitsForAPrefetchUnderWayInsteadOfAsking) {
  auto info = blobstore::PutString(mem_, "d/p", "prefetched");
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(blobstore::PutString(mem_, "d/q", "not prefetched").ok());
  blobstore::FaultInjectionBlobStore slow(&mem_, rt_.runtime().clock);
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  slow.RunBeforeNthCall(BlobOp::kGet, 1, [&] {
    started.set_value();
    released.wait();
  });
  shadow::Materializer m(&slow, store_.get(), {}, rt_.runtime());
  m.SetVersionObserver([&](const blobstore::ObjectInfo& v) { fs_->LearnVersion(v); });
  FileSystemOptions o;
  o.hostname = "test";
  fs_.reset();
  auto fs = FileSystem::Create(
      {.primary = &faults_, .store = store_.get(), .runtime = rt_.runtime(), .fetches = &m}, o);
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  fs_ = std::move(*fs);
  InodeId d = Lookup(kRootInode, "d");
  Advance(std::chrono::seconds(2));  // past the listing cache of d
  EXPECT_FALSE(m.AwaitFetch("d/p", std::chrono::seconds(10))) << "nothing under way yet";
  ASSERT_TRUE(m.Submit({.key = "d/p", .expected_etag = info->etag}));
  started.get_future().wait();  // the prefetch's GET is on its way
  faults_.ResetCounters();
  std::thread answer([&] {
    // The GET is answered once the lookup waits for it (or, if it never does, after 10 s, and
    // the checks below fail).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (m.stats().awaited == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    release.set_value();
  });
  InodeId f = Lookup(d, "p");
  answer.join();
  EXPECT_EQ(faults_.total_calls(), 0)
      << "HEAD " << faults_.calls(BlobOp::kHead) << ", LIST " << faults_.calls(BlobOp::kList);
  EXPECT_EQ(Read(f), "prefetched");
  EXPECT_EQ(faults_.total_calls(), 0);
  EXPECT_EQ(fs_->stats().joined_fetches, 1u);
  m.Drain();
  Lookup(d, "q");
  EXPECT_GE(faults_.calls(BlobOp::kHead), 1);
  EXPECT_EQ(fs_->stats().joined_fetches, 1u);
}

TEST_F(OfflineTest, WithoutAShadowTheyAsk) {
  InodeId d = ReadOnceAndForget("f", "hello");
  ASSERT_TRUE(store_->Drop("d/f").ok());
  faults_.ResetCounters();
  InodeId f = Lookup(d, "f");
  EXPECT_GE(faults_.calls(BlobOp::kHead), 1);
  Advance(std::chrono::seconds(2));
  faults_.ResetCounters();
  ASSERT_TRUE(fs_->GetAttr(f).ok());
  EXPECT_GE(faults_.calls(BlobOp::kHead), 1);
}

TEST_F(OfflineTest, ADecayedShadowNoLongerVouches) {
  FileSystemOptions o;
  o.metadata_ttl = std::chrono::hours(24 * 30);  // only the confidence decides here
  Mount(o);
  InodeId d = ReadOnceAndForget("f", "v1");
  ASSERT_TRUE(faults_.MutateNow("d/f", "v2-other-writer").ok());
  // Another writer's change is not seen while the shadow of v1 is confident: the documented
  // limit of answering without asking.
  faults_.ResetCounters();
  EXPECT_EQ(LookupAndRead(d, "f"), "v1");
  EXPECT_EQ(faults_.total_calls(), 0);
  // Days later the shadow is below min_confidence: the lookup asks and sees v2.
  Advance(std::chrono::hours(24 * 5));
  ASSERT_LT(store_->Find("d/f")->confidence, store_->min_confidence());
  faults_.ResetCounters();
  EXPECT_EQ(LookupAndRead(d, "f"), "v2-other-writer");
  EXPECT_GE(faults_.calls(BlobOp::kHead), 1);
}

TEST_F(OfflineTest, AHeadThatFindsTheSameVersionRestoresTheShadowsConfidence) {
  FileSystemOptions o;
  o.metadata_ttl = std::chrono::hours(24 * 30);
  Mount(o);
  InodeId d = ReadOnceAndForget("f", "v1");
  Advance(std::chrono::hours(24 * 5));
  ASSERT_LT(store_->Find("d/f")->confidence, store_->min_confidence());
  faults_.ResetCounters();
  InodeId f = Lookup(d, "f");                  // a lookup alone, as `ls -l` or `stat` makes
  EXPECT_GE(faults_.calls(BlobOp::kHead), 1);  // decayed: the lookup asked
  EXPECT_GE(store_->Find("d/f")->confidence, store_->min_confidence());
  fs_->Forget(f, 1);
  // The answer vouched for the shadow again: the next lookup (LookupAndRead forgot the inode)
  // asks nothing.
  faults_.ResetCounters();
  EXPECT_EQ(LookupAndRead(d, "f"), "v1");
  EXPECT_EQ(faults_.total_calls(), 0);
}

TEST_F(OfflineTest, KnownMetadataOlderThanTheTtlIsAskedFor) {
  InodeId d = ReadOnceAndForget("f", "v1");
  ASSERT_TRUE(faults_.MutateNow("d/f", "v2-other-writer").ok());
  Advance(std::chrono::minutes(16));  // metadata_ttl is 15 minutes by default
  ASSERT_GE(store_->Find("d/f")->confidence, store_->min_confidence())
      << "the shadow itself is still confident: the age of what we know decides";
  faults_.ResetCounters();
  EXPECT_EQ(LookupAndRead(d, "f"), "v2-other-writer");
  EXPECT_GE(faults_.calls(BlobOp::kHead), 1);
}

TEST_F(OfflineTest, LocalRenameOverAFileForgetsItsVersion) {
  InodeId d = ReadOnceAndForget("b", "old b");
  ASSERT_TRUE(blobstore::PutString(mem_, "d/a", "the new content of b").ok());
  ASSERT_TRUE(store_->Find("d/b").has_value());
  ASSERT_TRUE(fs_->Rename(d, "a", d, "b", 0).ok());
  Advance(std::chrono::seconds(2));
  // What we knew of b, and the shadow of old b, say nothing about the b that is there now.
  EXPECT_EQ(LookupAndRead(d, "b"), "the new content of b");
  EXPECT_EQ(fs_->Lookup(d, "a").status().code(), StatusCode::kNotFound);
}

TEST_F(OfflineTest, LocalUnlinkForgetsTheVersion) {
  InodeId d = ReadOnceAndForget("f", "hello");
  ASSERT_TRUE(fs_->Unlink(d, "f").ok());
  Advance(std::chrono::seconds(2));
  faults_.ResetCounters();
  EXPECT_EQ(fs_->Lookup(d, "f").status().code(), StatusCode::kNotFound);
  EXPECT_GE(faults_.total_calls(), 1);
  // Recreated by another client with the same bytes (the same ETag): found again.
  ASSERT_TRUE(faults_.MutateNow("d/f", "hello").ok());
  EXPECT_EQ(LookupAndRead(d, "f"), "hello");
}

// Directories: an implicit directory (no marker) whose marker state this mount learned, with a
// confident shadow beneath it, is looked up and stat'ed without a request.
TEST_F(OfflineTest, AnImplicitDirectoryWithAConfidentShadowBeneathAsksNothing) {
  InodeId d = ReadOnceAndForget("f", "hello");  // d's lookup learned that d/ has no marker
  faults_.ResetCounters();
  auto again = fs_->Lookup(kRootInode, "d");  // d's attributes expired two seconds ago
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->attr.ino, d);
  EXPECT_EQ(again->attr.kind, FileKind::kDirectory);
  Advance(std::chrono::seconds(2));
  ASSERT_TRUE(fs_->GetAttr(d).ok());
  EXPECT_EQ(LookupAndRead(d, "f"), "hello");
  EXPECT_EQ(faults_.total_calls(), 0)
      << "HEAD " << faults_.calls(BlobOp::kHead) << ", LIST " << faults_.calls(BlobOp::kList);
  // Without a shadow beneath it the directory is asked for again.
  ASSERT_TRUE(store_->Drop("d/f").ok());
  Advance(std::chrono::seconds(2));
  ASSERT_TRUE(fs_->Lookup(kRootInode, "d").ok());
  EXPECT_GE(faults_.calls(BlobOp::kHead), 1);
}

TEST_F(OfflineTest, AMarkerStateOlderThanTheTtlIsAskedFor) {
  InodeId d = ReadOnceAndForget("f", "hello");
  // Another client gives d a marker with its own mode.
  blobstore::PutOptions put;
  put.metadata["mode"] = "16832";  // a directory, 0700
  ASSERT_TRUE(blobstore::PutString(mem_, "d/", "", put).ok());
  Advance(std::chrono::minutes(16));  // metadata_ttl is 15 minutes by default
  ASSERT_TRUE(store_->Verify("d/f", store_->Find("d/f")->etag, rt_.fake_clock()->Now()).ok());
  faults_.ResetCounters();
  auto e = fs_->Lookup(kRootInode, "d");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_GE(faults_.total_calls(), 1);
  EXPECT_EQ(e->attr.ino, d);
  EXPECT_EQ(e->attr.mode & 07777, 0700u);
}

TEST_F(OfflineTest, AChmodOfAVouchedDirectoryIsWhatItsNextLookupShows) {
  InodeId d = ReadOnceAndForget("f", "hello");
  const base::MonoTime listed = rt_.fake_clock()->Monotonic();
  SetAttrRequest chmod;
  chmod.mode = 0700;
  ASSERT_TRUE(fs_->SetAttr(d, chmod, std::nullopt, caller_).ok());
  // A listing sent before the chmod, answered after it, says nothing of the new marker.
  fs_->LearnDirectory("d/", /*has_marker=*/false, listed);
  Advance(std::chrono::seconds(2));
  faults_.ResetCounters();
  auto e = fs_->Lookup(kRootInode, "d");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(faults_.total_calls(), 0);
  EXPECT_EQ(e->attr.mode & 07777, 0700u);
}

// A new directory's first lookup, when a listing the filesystem did not ask for (the prediction
// engine's) showed it without a marker and a prefetch put a shadow beneath it: no request.
TEST_F(OfflineTest, AListedDirectoryWithAPrefetchBeneathAsksNothingOnItsFirstLookup) {
  auto info = blobstore::PutString(mem_, "d/new/part-0", "prefetched");
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(blobstore::PutString(mem_, "d/other/part-0", "also").ok());
  InodeId d = Lookup(kRootInode, "d");
  shadow::Materializer m(&mem_, store_.get(), {}, rt_.runtime());
  m.SetVersionObserver([&](const blobstore::ObjectInfo& v) { fs_->LearnVersion(v); });
  ASSERT_TRUE(m.Materialize({.key = "d/new/part-0", .expected_etag = info->etag}).ok());
  ASSERT_TRUE(m.Materialize({.key = "d/other/part-0", .expected_etag = ""}).ok());
  const base::MonoTime now = rt_.fake_clock()->Monotonic();
  fs_->LearnDirectory("d/new/", /*has_marker=*/false, now);
  fs_->LearnDirectory("d/other/", /*has_marker=*/true, now);  // its metadata is unknown
  Advance(std::chrono::seconds(2));                           // past the listing cache of d
  faults_.ResetCounters();
  InodeId dn = Lookup(d, "new");
  EXPECT_EQ(LookupAndRead(dn, "part-0"), "prefetched");
  EXPECT_EQ(faults_.total_calls(), 0)
      << "HEAD " << faults_.calls(BlobOp::kHead) << ", LIST " << faults_.calls(BlobOp::kList);
  Lookup(d, "other");
  EXPECT_GE(faults_.total_calls(), 1) << "a marker's metadata needs its HEAD";
}

// A process that reads the files it looks up: once that is learned, a cold lookup GETs the
// object's first bytes instead of its HEAD, and the read is served from the shadow they made.
TEST_F(OfflineTest, AProcessThatReadsWhatItLooksUpGetsTheFileWithItsLookup) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        blobstore::PutString(mem_, "d/f" + std::to_string(i), "data " + std::to_string(i)).ok());
  }
  const std::string big(100 << 10, 'b');  // more than the lookup reads
  ASSERT_TRUE(blobstore::PutString(mem_, "d/big", big).ok());
  const Caller reader{.uid = 1001, .gid = 1002, .pid = ::getpid()};
  auto lookup = [&](InodeId parent, const std::string& name, const Caller& c) {
    auto e = fs_->Lookup(parent, name, c);
    EXPECT_TRUE(e.ok()) << name << ": " << e.status().ToString();
    return e.ok() ? e->attr.ino : 0;
  };
  InodeId d = lookup(kRootInode, "d", reader);
  for (int i = 0; i < 8; ++i) {
    std::string name = "f" + std::to_string(i);
    EXPECT_EQ(Read(lookup(d, name, reader)), "data " + std::to_string(i));
  }
  faults_.ResetCounters();
  InodeId f8 = lookup(d, "f8", reader);
  EXPECT_EQ(faults_.calls(BlobOp::kHead), 0) << "the lookup read instead";
  EXPECT_EQ(faults_.calls(BlobOp::kGet), 1);
  auto attr = fs_->GetAttr(f8);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->size, 6u);
  EXPECT_EQ(Read(f8), "data 8");
  EXPECT_EQ(faults_.calls(BlobOp::kGet), 1) << "the read was served from what the lookup got";
  EXPECT_EQ(faults_.calls(BlobOp::kHead), 0);
  EXPECT_TRUE(WaitForShadow("d/f8")) << "written as a shadow in the background";
  EXPECT_EQ(Read(f8), "data 8");
  EXPECT_EQ(faults_.calls(BlobOp::kGet), 1);
  // A file larger than the lookup reads: the lookup's bytes make no shadow, the read fetches.
  InodeId b = lookup(d, "big", reader);
  auto big_attr = fs_->GetAttr(b);
  ASSERT_TRUE(big_attr.ok());
  EXPECT_EQ(big_attr->size, big.size());
  auto h = fs_->Open(b, O_RDONLY, caller_);
  ASSERT_TRUE(h.ok());
  std::string out(big.size() + 10, '\0');
  auto n = fs_->Read(h->handle, 0, out);
  ASSERT_TRUE(n.ok());
  out.resize(*n);
  EXPECT_EQ(out, big);
  EXPECT_TRUE(fs_->Release(h->handle).ok());
  // A lookup whose process is not known (no pid) asks with a HEAD, as does one for a missing name.
  faults_.ResetCounters();
  lookup(d, "f9", Caller{});
  EXPECT_EQ(faults_.calls(BlobOp::kHead), 1);
  EXPECT_EQ(faults_.calls(BlobOp::kGet), 0);
  EXPECT_EQ(fs_->Lookup(d, "missing", reader).status().code(), StatusCode::kNotFound);
}

// Forwards to `base`. Once armed, a HEAD waits (up to a deadline) until a List is in flight and
// a List until a HEAD saw it, counting the overlaps: a cold lookup that sends them one after the
// other makes no overlap (and waits out the deadlines).
class OverlapStore final : public blobstore::BlobStore {
 public:
  explicit OverlapStore(blobstore::BlobStore* base) : base_(base) {}
  void Arm() {
    base::MutexLock lock(&mu_);
    armed_ = true;
  }
  base::Result<blobstore::ObjectInfo> Head(std::string_view key,
                                           const blobstore::Preconditions& c) override {
    {
      base::MutexLock lock(&mu_);
      if (armed_) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (lists_in_flight_ == 0 && std::chrono::steady_clock::now() < deadline) {
          cv_.WaitFor(&mu_, std::chrono::milliseconds(10));
        }
        if (lists_in_flight_ > 0) ++overlapped_;
        cv_.SignalAll();
      }
    }
    return base_->Head(key, c);
  }
  using BlobStore::Head;
  base::Result<blobstore::ListPage> List(const blobstore::ListOptions& o) override {
    {
      base::MutexLock lock(&mu_);
      if (armed_) {
        ++lists_in_flight_;
        cv_.SignalAll();
        const int before = overlapped_;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (overlapped_ == before && std::chrono::steady_clock::now() < deadline) {
          cv_.WaitFor(&mu_, std::chrono::milliseconds(10));
        }
        --lists_in_flight_;
      }
    }
    return base_->List(o);
  }
  base::Result<blobstore::GetResult> Get(std::string_view key, const blobstore::GetOptions& o,
                                         blobstore::ByteSink& sink) override {
    return base_->Get(key, o, sink);
  }
  base::Result<blobstore::ObjectInfo> Put(std::string_view key, blobstore::ByteSource& body,
                                          const blobstore::PutOptions& o) override {
    return base_->Put(key, body, o);
  }
  base::Status Delete(std::string_view key) override { return base_->Delete(key); }
  base::Result<blobstore::ObjectInfo> Copy(std::string_view from, std::string_view to,
                                           const blobstore::CopyOptions& o) override {
    return base_->Copy(from, to, o);
  }
  base::Result<bool> SupportsConditionalWrites() override {
    return base_->SupportsConditionalWrites();
  }
  std::string Describe() const override { return base_->Describe(); }

  int overlapped() {
    base::MutexLock lock(&mu_);
    return overlapped_;
  }

 private:
  blobstore::BlobStore* const base_;
  base::Mutex mu_;
  base::CondVar cv_;
  bool armed_ GUARDED_BY(mu_) = false;
  int lists_in_flight_ GUARDED_BY(mu_) = 0;
  int overlapped_ GUARDED_BY(mu_) = 0;
};

TEST_F(OfflineTest, AColdLookupSendsItsHeadAndListTogether) {
  ASSERT_TRUE(blobstore::PutString(mem_, "f", "x").ok());
  ASSERT_TRUE(blobstore::PutString(mem_, "dir/g", "y").ok());
  OverlapStore overlap(&mem_);
  fs_.reset();
  FileSystemOptions o;
  o.hostname = "test";
  auto created =
      FileSystem::Create({.primary = &overlap, .store = store_.get(), .runtime = rt_.runtime()}, o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  fs_ = std::move(*created);
  overlap.Arm();
  auto file = fs_->Lookup(kRootInode, "f");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->attr.kind, FileKind::kRegular);
  auto dir = fs_->Lookup(kRootInode, "dir");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(dir->attr.kind, FileKind::kDirectory);
  EXPECT_GE(overlap.overlapped(), 2) << "each cold lookup's HEAD overlapped its List";
  fs_.reset();  // before `overlap`
}

}  // namespace
}  // namespace shadowfs::fs
