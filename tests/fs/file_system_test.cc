// FileSystem over MemBlobStore: namespace operations, s3fs-compatible metadata, objects written
// by other tools.
#include "fs/file_system.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/mem_blob_store.h"
#include "fs/object_meta.h"
#include "tests/fs/fs_fixture.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::fs {
namespace {

using base::StatusCode;

class FileSystemTest : public FsFixture {
 protected:
  // Creates `name` in `parent` with `data`, closes it; returns its inode.
  InodeId WriteFile(InodeId parent, const std::string& name, const std::string& data) {
    auto c = fs_->Create(parent, name, 0640, O_WRONLY | O_CREAT, caller_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return 0;
    EXPECT_TRUE(fs_->Write(c->second.handle, 0, data).ok());
    EXPECT_TRUE(fs_->Release(c->second.handle).ok());
    return c->first.attr.ino;
  }
  std::string ReadFile(InodeId ino) {
    auto h = fs_->Open(ino, O_RDONLY, caller_);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return "";
    std::string out(1 << 16, '\0');
    auto n = fs_->Read(h->handle, 0, out);
    EXPECT_TRUE(n.ok());
    out.resize(n.ok() ? *n : 0);
    EXPECT_TRUE(fs_->Release(h->handle).ok());
    return out;
  }
  std::vector<std::string> List(InodeId dir, bool plus = false) {
    std::vector<std::string> names;
    auto h = fs_->OpenDir(dir);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return names;
    EXPECT_TRUE(fs_->ReadDir(*h, 0, plus,
                             [&](const DirEntry& e) {
                               if (e.name != "." && e.name != "..") names.push_back(e.name);
                               return true;
                             })
                    .ok());
    EXPECT_TRUE(fs_->ReleaseDir(*h).ok());
    return names;
  }
};

TEST_F(FileSystemTest, MkDirWritesAnS3fsMarker) {
  auto e = fs_->MkDir(kRootInode, "d", 0750, caller_);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->attr.kind, FileKind::kDirectory);
  auto head = mem_.Head("d/");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_type, "application/x-directory");
  EXPECT_EQ(head->metadata.at("mode"), std::to_string(S_IFDIR | 0750));
  EXPECT_EQ(head->metadata.at("uid"), "1001");
  EXPECT_EQ(head->metadata.at("gid"), "1002");
  EXPECT_EQ(head->metadata.at("mtime"),
            std::to_string(base::ToUnixSeconds(rt_.runtime().clock->Now())));
  EXPECT_EQ(fs_->MkDir(kRootInode, "d", 0750, caller_).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(FileSystemTest, CreateWriteCloseStoresOneObjectWithMetadata) {
  InodeId ino = WriteFile(kRootInode, "f.txt", "hello");
  auto head = mem_.Head("f.txt");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, 5u);
  EXPECT_EQ(head->metadata.at("mode"), std::to_string(S_IFREG | 0640));
  EXPECT_EQ(head->metadata.at("uid"), "1001");
  EXPECT_EQ(ReadFile(ino), "hello");
  auto attr = fs_->GetAttr(ino);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->size, 5u);
  // A new empty file exists once closed.
  WriteFile(kRootInode, "empty", "");
  EXPECT_TRUE(mem_.Head("empty").ok());
}

TEST_F(FileSystemTest, ObjectsFromOtherToolsGetDefaults) {
  ASSERT_TRUE(blobstore::PutString(mem_, "plain", "abc").ok());
  ASSERT_TRUE(blobstore::PutString(mem_, "x/y/z", "deep").ok());
  auto e = fs_->Lookup(kRootInode, "plain");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attr.mode, S_IFREG | 0644u);
  EXPECT_EQ(e->attr.size, 3u);
  auto x = fs_->Lookup(kRootInode, "x");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->attr.kind, FileKind::kDirectory);
  EXPECT_EQ(x->attr.mode, S_IFDIR | 0755u);
  auto y = fs_->Lookup(x->attr.ino, "y");
  ASSERT_TRUE(y.ok());
  auto z = fs_->Lookup(y->attr.ino, "z");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(ReadFile(z->attr.ino), "deep");
  EXPECT_EQ(List(kRootInode), (std::vector<std::string>{"plain", "x"}));
}

TEST_F(FileSystemTest, DirectoryWinsOverFileOfTheSameName) {
  ASSERT_TRUE(blobstore::PutString(mem_, "a", "file").ok());
  ASSERT_TRUE(blobstore::PutString(mem_, "a/b", "child").ok());
  auto e = fs_->Lookup(kRootInode, "a");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attr.kind, FileKind::kDirectory);
  EXPECT_EQ(List(kRootInode), std::vector<std::string>{"a"});
}

TEST_F(FileSystemTest, UnrepresentableKeysAreSkipped) {
  ASSERT_TRUE(blobstore::PutString(mem_, "d//b", "x").ok());
  ASSERT_TRUE(blobstore::PutString(mem_, "d/./c", "x").ok());
  ASSERT_TRUE(blobstore::PutString(mem_, "d/ok", "x").ok());
  auto d = fs_->Lookup(kRootInode, "d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(List(d->attr.ino), std::vector<std::string>{"ok"});
}

TEST_F(FileSystemTest, NameRules) {
  EXPECT_EQ(fs_->Lookup(kRootInode, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Lookup(kRootInode, "..").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Lookup(kRootInode, "a/b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Lookup(kRootInode, std::string(256, 'n')).status().code(),
            StatusCode::kNameTooLong);
  EXPECT_EQ(fs_->Lookup(kRootInode, "missing").status().code(), StatusCode::kNotFound);
}

TEST_F(FileSystemTest, RmDirAndUnlinkErrors) {
  auto d = fs_->MkDir(kRootInode, "d", 0755, caller_);
  ASSERT_TRUE(d.ok());
  WriteFile(d->attr.ino, "f", "x");
  EXPECT_EQ(fs_->RmDir(kRootInode, "d").code(), StatusCode::kNotEmpty);
  EXPECT_EQ(fs_->Unlink(kRootInode, "d").code(), StatusCode::kIsDirectory);
  EXPECT_EQ(fs_->RmDir(d->attr.ino, "f").code(), StatusCode::kNotDirectory);
  EXPECT_TRUE(fs_->Unlink(d->attr.ino, "f").ok());
  EXPECT_FALSE(mem_.Head("d/f").ok());
  EXPECT_TRUE(fs_->RmDir(kRootInode, "d").ok());
  EXPECT_FALSE(mem_.Head("d/").ok());
  EXPECT_EQ(fs_->Lookup(kRootInode, "d").status().code(), StatusCode::kNotFound);
}

TEST_F(FileSystemTest, UnlinkedOpenFileKeepsServingAndIsNotRecreated) {
  auto c = fs_->Create(kRootInode, "f", 0644, O_RDWR | O_CREAT, caller_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(fs_->Write(c->second.handle, 0, "data").ok());
  ASSERT_TRUE(fs_->Flush(c->second.handle).ok());
  ASSERT_TRUE(fs_->Unlink(kRootInode, "f").ok());
  auto w = fs_->Write(c->second.handle, 4, "more");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::string buf(8, '\0');
  auto n = fs_->Read(c->second.handle, 0, buf);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(buf.substr(0, *n), "datamore");
  EXPECT_TRUE(fs_->Release(c->second.handle).ok());
  EXPECT_FALSE(mem_.Head("f").ok());
}

TEST_F(FileSystemTest, RenameFileAndDirectory) {
  InodeId f = WriteFile(kRootInode, "f", "one");
  ASSERT_TRUE(fs_->Rename(kRootInode, "f", kRootInode, "g", 0).ok());
  EXPECT_FALSE(mem_.Head("f").ok());
  EXPECT_EQ(*blobstore::GetString(mem_, "g"), "one");
  EXPECT_EQ(ReadFile(f), "one");
  auto d = fs_->MkDir(kRootInode, "d", 0755, caller_);
  ASSERT_TRUE(d.ok());
  InodeId inner = WriteFile(d->attr.ino, "in", "two");
  ASSERT_TRUE(fs_->Rename(kRootInode, "d", kRootInode, "e", 0).ok());
  EXPECT_EQ(*blobstore::GetString(mem_, "e/in"), "two");
  EXPECT_TRUE(mem_.Head("e/").ok());
  EXPECT_FALSE(mem_.Head("d/in").ok());
  EXPECT_EQ(ReadFile(inner), "two");
  WriteFile(kRootInode, "h", "x");
  EXPECT_EQ(fs_->Rename(kRootInode, "g", kRootInode, "h", RENAME_NOREPLACE).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(fs_->Rename(kRootInode, "g", kRootInode, "h", RENAME_EXCHANGE).code(),
            StatusCode::kNotSupported);
  EXPECT_EQ(fs_->Rename(kRootInode, "g", kRootInode, "e", 0).code(), StatusCode::kIsDirectory);
  EXPECT_EQ(fs_->Rename(kRootInode, "e", kRootInode, "g", 0).code(), StatusCode::kNotDirectory);
  ASSERT_TRUE(fs_->Rename(kRootInode, "g", kRootInode, "h", 0).ok());
  EXPECT_EQ(*blobstore::GetString(mem_, "h"), "one");
}

TEST_F(FileSystemTest, DirectoryRenameAboveTheBoundIsRefused) {
  FileSystemOptions o;
  o.max_rename_objects = 2;
  Mount(o);
  for (const char* k : {"big/1", "big/2", "big/3"})
    ASSERT_TRUE(blobstore::PutString(mem_, k, "x").ok());
  base::Status st = fs_->Rename(kRootInode, "big", kRootInode, "moved", 0);
  EXPECT_EQ(st.code(), StatusCode::kNotSupported);
  EXPECT_NE(st.message().find("max_rename_objects = 2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("3 objects"), std::string::npos) << st.message();
  EXPECT_TRUE(mem_.Head("big/1").ok());
}

TEST_F(FileSystemTest, SymlinkLinkAndXattrs) {
  auto s = fs_->Symlink("target/path", kRootInode, "ln", caller_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*blobstore::GetString(mem_, "ln"), "target/path");
  EXPECT_EQ(mem_.Head("ln")->metadata.at("mode"), std::to_string(S_IFLNK | 0777));
  Mount({});  // a fresh mount reads it back as a symlink
  auto e = fs_->Lookup(kRootInode, "ln");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attr.kind, FileKind::kSymlink);
  EXPECT_EQ(*fs_->ReadLink(e->attr.ino), "target/path");
  EXPECT_EQ(fs_->Link(e->attr.ino, kRootInode, "hard").code(), StatusCode::kPermissionDenied);

  InodeId f = WriteFile(kRootInode, "f", "x");
  EXPECT_EQ(fs_->SetXattr(f, "user.k", "v", XATTR_REPLACE).code(), StatusCode::kNotFound);
  ASSERT_TRUE(fs_->SetXattr(f, "user.k", "v", XATTR_CREATE).ok());
  EXPECT_EQ(fs_->SetXattr(f, "user.k", "w", XATTR_CREATE).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(**fs_->GetXattr(f, "user.k"), "v");
  EXPECT_FALSE(fs_->GetXattr(f, "user.none")->has_value());
  EXPECT_EQ(DecodeXattrs(mem_.Head("f")->metadata.at("xattr")).at("user.k"), "v");
  EXPECT_EQ(*blobstore::GetString(mem_, "f"), "x");  // the data survived the metadata copy
  EXPECT_TRUE(*fs_->RemoveXattr(f, "user.k"));
  EXPECT_FALSE(*fs_->RemoveXattr(f, "user.k"));
  EXPECT_TRUE(fs_->ListXattr(f)->empty());
}

TEST_F(FileSystemTest, ChmodChownUtimesAndTruncate) {
  InodeId f = WriteFile(kRootInode, "f", "hello world");
  SetAttrRequest r;
  r.mode = 0600;
  r.uid = 7;
  r.mtime = base::FromUnixSeconds(1'234'567'890);
  auto a = fs_->SetAttr(f, r, std::nullopt, caller_);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->mode, S_IFREG | 0600u);
  auto head = mem_.Head("f");
  EXPECT_EQ(head->metadata.at("mode"), std::to_string(S_IFREG | 0600));
  EXPECT_EQ(head->metadata.at("uid"), "7");
  EXPECT_EQ(head->metadata.at("mtime"), "1234567890");
  SetAttrRequest t;
  t.size = 5;
  ASSERT_TRUE(fs_->SetAttr(f, t, std::nullopt, caller_).ok());
  EXPECT_EQ(*blobstore::GetString(mem_, "f"), "hello");
  EXPECT_EQ(mem_.Head("f")->metadata.at("mode"), std::to_string(S_IFREG | 0600));
  auto d = fs_->MkDir(kRootInode, "d", 0755, caller_);
  SetAttrRequest dm;
  dm.mode = 0700;
  ASSERT_TRUE(fs_->SetAttr(d->attr.ino, dm, std::nullopt, caller_).ok());
  EXPECT_EQ(mem_.Head("d/")->metadata.at("mode"), std::to_string(S_IFDIR | 0700));
}

TEST_F(FileSystemTest, ReadOnlyMountRefusesChanges) {
  FileSystemOptions o;
  o.read_only = true;
  Mount(o);
  EXPECT_EQ(fs_->MkDir(kRootInode, "d", 0755, caller_).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(fs_->Create(kRootInode, "f", 0644, O_WRONLY | O_CREAT, caller_).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(FileSystemTest, ReadDirPlusCountsLookupsAndShowsAttributes) {
  ASSERT_TRUE(
      blobstore::PutString(mem_, "s3fs-file", "abc",
                           {.metadata = {{"mode", std::to_string(S_IFREG | 0600)}, {"uid", "55"}}})
          .ok());
  ASSERT_TRUE(blobstore::PutString(mem_, "sub/x", "1").ok());
  auto h = fs_->OpenDir(kRootInode);
  ASSERT_TRUE(h.ok());
  std::map<std::string, Entry> seen;
  ASSERT_TRUE(fs_->ReadDir(*h, 0, true,
                           [&](const DirEntry& e) {
                             if (e.entry) seen[e.name] = *e.entry;
                             return true;
                           })
                  .ok());
  ASSERT_TRUE(fs_->ReleaseDir(*h).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["s3fs-file"].attr.mode, S_IFREG | 0600u);
  EXPECT_EQ(seen["s3fs-file"].attr.uid, 55u);
  EXPECT_EQ(seen["sub"].attr.kind, FileKind::kDirectory);
  // The lookups the entries counted keep the inodes until forgotten.
  EXPECT_TRUE(fs_->GetAttr(seen["sub"].attr.ino).ok());
}

TEST_F(FileSystemTest, CreateReportsAMissingBucket) {
  faults_.FailNthCall(blobstore::BlobOp::kList, 1, base::Status::NotFound("NoSuchBucket"));
  auto fs = FileSystem::Create(
      {.primary = &faults_, .store = store_.get(), .runtime = rt_.runtime()}, {});
  ASSERT_FALSE(fs.ok());
  EXPECT_NE(fs.status().message().find("bucket does not exist"), std::string::npos);
  EXPECT_NE(fs.status().message().find("mem://"), std::string::npos);
}

TEST_F(FileSystemTest, StatFs) {
  auto s = fs_->StatFs();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name_max, 255u);
  EXPECT_GT(s->blocks_available * s->block_size, 1ull << 40);
}

}  // namespace
}  // namespace shadowfs::fs
