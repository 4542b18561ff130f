#include "fs/object_meta.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>

namespace shadowfs::fs {
namespace {

using std::chrono::seconds;

const MetaDefaults kDefaults{.uid = 1000, .gid = 100, .file_mode = 0640, .dir_mode = 0750};
const base::WallTime kLastModified = base::FromUnixSeconds(1'600'000'000);

TEST(ObjectMetaTest, ReadsWhatS3fsWrites) {
  // Headers as s3fs 1.90 stores them for `touch f; chmod 600 f` by uid 1001.
  blobstore::UserMetadata m{{"mode", "33152"},  // S_IFREG | 0600
                            {"uid", "1001"},         {"gid", "1002"},
                            {"mtime", "1700000123"}, {"ctime", "1700000124.000000500"},
                            {"atime", "1700000125"}};
  Attributes a = DecodeAttributes(m, ObjectShape::kFile, kLastModified, kDefaults);
  EXPECT_EQ(a.kind, FileKind::kRegular);
  EXPECT_EQ(a.mode, S_IFREG | 0600u);
  EXPECT_EQ(a.uid, 1001u);
  EXPECT_EQ(a.gid, 1002u);
  EXPECT_EQ(a.mtime, base::FromUnixSeconds(1'700'000'123));
  EXPECT_EQ(a.ctime, base::FromUnixSeconds(1'700'000'124) + std::chrono::nanoseconds(500));
  EXPECT_EQ(a.atime, base::FromUnixSeconds(1'700'000'125));
}

TEST(ObjectMetaTest, SymlinkAndDirectoryModes) {
  blobstore::UserMetadata link{{"mode", std::to_string(S_IFLNK | 0777)}};
  EXPECT_EQ(DecodeAttributes(link, ObjectShape::kFile, kLastModified, kDefaults).kind,
            FileKind::kSymlink);
  blobstore::UserMetadata dir{{"mode", std::to_string(S_IFDIR | 0700)}};
  Attributes d = DecodeAttributes(dir, ObjectShape::kDirMarker, kLastModified, kDefaults);
  EXPECT_EQ(d.kind, FileKind::kDirectory);
  EXPECT_EQ(d.mode, S_IFDIR | 0700u);
  // A plain key is a file whatever its mode claims.
  Attributes f = DecodeAttributes(dir, ObjectShape::kFile, kLastModified, kDefaults);
  EXPECT_EQ(f.kind, FileKind::kRegular);
  EXPECT_EQ(f.mode, S_IFREG | 0700u);
  // s3fs writes modes without type bits for some objects: the shape supplies it.
  blobstore::UserMetadata bare{{"mode", "420"}};
  EXPECT_EQ(DecodeAttributes(bare, ObjectShape::kFile, kLastModified, kDefaults).mode,
            S_IFREG | 0644u);
}

TEST(ObjectMetaTest, ForeignObjectsGetDefaults) {
  Attributes f = DecodeAttributes({}, ObjectShape::kFile, kLastModified, kDefaults);
  EXPECT_EQ(f.mode, S_IFREG | 0640u);
  EXPECT_EQ(f.uid, 1000u);
  EXPECT_EQ(f.gid, 100u);
  EXPECT_EQ(f.mtime, kLastModified);
  Attributes d = DecodeAttributes({}, ObjectShape::kDirMarker, kLastModified, kDefaults);
  EXPECT_EQ(d.mode, S_IFDIR | 0750u);
}

TEST(ObjectMetaTest, GarbageFallsBackToDefaults) {
  blobstore::UserMetadata m{{"mode", "rw-r--r--"},  {"uid", "-5"},      {"gid", "99999999999"},
                            {"mtime", "yesterday"}, {"atime", "1.2.3"}, {"ctime", "-100"}};
  Attributes a = DecodeAttributes(m, ObjectShape::kFile, kLastModified, kDefaults);
  EXPECT_EQ(a.mode, S_IFREG | 0640u);
  EXPECT_EQ(a.uid, 1000u);
  EXPECT_EQ(a.gid, 100u);
  EXPECT_EQ(a.mtime, kLastModified);
  EXPECT_EQ(a.atime, kLastModified);
  EXPECT_EQ(a.ctime, kLastModified);
  // s3fs reads ids with base 0.
  blobstore::UserMetadata hex{{"uid", "0x10"}};
  EXPECT_EQ(DecodeAttributes(hex, ObjectShape::kFile, kLastModified, kDefaults).uid, 16u);
}

TEST(ObjectMetaTest, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 40, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    blobstore::UserMetadata m{{"mode", junk}, {"uid", junk}, {"mtime", junk}, {"xattr", junk}};
    Attributes a = DecodeAttributes(m, ObjectShape::kFile, kLastModified, kDefaults);
    EXPECT_EQ(a.mode & S_IFMT, static_cast<uint32_t>(S_IFREG));
    (void)GetXattrs(m);
  }
}

TEST(ObjectMetaTest, EncodeRoundTrips) {
  Attributes a;
  a.mode = S_IFREG | 0751;
  a.uid = 42;
  a.gid = 43;
  a.mtime = base::FromUnixSeconds(1'700'000'000) + std::chrono::nanoseconds(123);
  a.atime = base::FromUnixSeconds(1'700'000'001);
  a.ctime = base::FromUnixSeconds(1'700'000'002);
  blobstore::UserMetadata m = EncodeAttributes(a, {{"foreign", "kept"}});
  EXPECT_EQ(m.at("mode"), std::to_string(S_IFREG | 0751));
  EXPECT_EQ(m.at("mtime"), "1700000000.000000123");
  EXPECT_EQ(m.at("atime"), "1700000001");
  EXPECT_EQ(m.at("foreign"), "kept");
  Attributes b = DecodeAttributes(m, ObjectShape::kFile, kLastModified, kDefaults);
  EXPECT_EQ(b.mode, a.mode);
  EXPECT_EQ(b.uid, a.uid);
  EXPECT_EQ(b.gid, a.gid);
  EXPECT_EQ(b.mtime, a.mtime);
  EXPECT_EQ(b.atime, a.atime);
  EXPECT_EQ(b.ctime, a.ctime);
}

TEST(ObjectMetaTest, TimeForms) {
  EXPECT_EQ(ParseTime("1700000000.5"),
            base::FromUnixSeconds(1'700'000'000) + std::chrono::milliseconds(500));
  EXPECT_EQ(ParseTime("1700000000.000000001"),
            base::FromUnixSeconds(1'700'000'000) + std::chrono::nanoseconds(1));
  EXPECT_FALSE(ParseTime("0"));
  EXPECT_FALSE(ParseTime(""));
  EXPECT_FALSE(ParseTime("12a"));
  EXPECT_EQ(FormatTime(base::FromUnixSeconds(5)), "5");
}

TEST(ObjectMetaTest, XattrsInS3fsEncoding) {
  // What s3fs stores after `setfattr -n user.test -v test f`: urlencode({"user.test":"dGVzdA=="}).
  std::string s3fs_header = "%7B%22user.test%22%3A%22dGVzdA%3D%3D%22%7D";
  Xattrs x = DecodeXattrs(s3fs_header);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x.at("user.test"), "test");
  // Ours decodes back to the same map, binary values and odd names included.
  Xattrs mine{{"user.a", std::string("\0\xff\x01z", 4)}, {"user.q\"uote", ""}, {"user.b", "x"}};
  EXPECT_EQ(DecodeXattrs(EncodeXattrs(mine)), mine);
  // Only URL-safe characters go into the header.
  for (char c : EncodeXattrs(mine)) EXPECT_TRUE(isalnum(c) || strchr("%.-_~", c)) << c;
  EXPECT_TRUE(DecodeXattrs("{\"a\":").empty());
  EXPECT_TRUE(DecodeXattrs("not json").empty());
  EXPECT_TRUE(DecodeXattrs("%7B%7D").empty());
  blobstore::UserMetadata m;
  PutXattrs(mine, &m);
  EXPECT_EQ(GetXattrs(m), mine);
  PutXattrs({}, &m);
  EXPECT_EQ(m.count("xattr"), 0u);
}

}  // namespace
}  // namespace shadowfs::fs
