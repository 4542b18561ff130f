// Object metadata <-> POSIX attributes, the way s3fs stores them, so that a bucket written by
// s3fs reads correctly through shadowfs and the other way round (DESIGN.md section 2).
//
// User metadata names (x-amz-meta-*, lower-case, without the prefix):
//   mode   decimal st_mode including the S_IFMT type bits
//   uid    decimal (s3fs parses it with base 0: "0x1f" and "017" are accepted on read)
//   gid    as uid
//   mtime  decimal seconds, optionally ".nnnnnnnnn" nanoseconds (s3fs >= 1.89 writes that form)
//   atime, ctime  as mtime
//   xattr  percent-encoded JSON object {"name":"base64(value)", ...}
// A symlink is an object whose body is the target and whose mode has S_IFLNK. A directory marker
// is an empty `dir/` object with content type application/x-directory.
//
// Objects written by other tools carry none of these: they get the mount's defaults and
// mtime = last_modified. Garbage values fall back to the defaults; decoding never fails.
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "blobstore/base/clock.h"
#include "blobstore/blob_store.h"
#include "fs/types.h"

namespace shadowfs::fs {

inline constexpr std::string_view kDirContentType = "application/x-directory";
inline constexpr std::string_view kMetaMode = "mode";
inline constexpr std::string_view kMetaUid = "uid";
inline constexpr std::string_view kMetaGid = "gid";
inline constexpr std::string_view kMetaMtime = "mtime";
inline constexpr std::string_view kMetaAtime = "atime";
inline constexpr std::string_view kMetaCtime = "ctime";
inline constexpr std::string_view kMetaXattr = "xattr";

// Extended attributes: name -> raw value bytes.
using Xattrs = std::map<std::string, std::string, std::less<>>;

struct MetaDefaults {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t file_mode = 0644;
  uint32_t dir_mode = 0755;
};

// What an object is, from its key's shape: a `dir/` marker or a plain key.
enum class ObjectShape : uint8_t { kFile, kDirMarker };

// The attributes of an object from its metadata. `last_modified` stands in for missing times.
// For kFile the kind is kSymlink when the mode says S_IFLNK, else kRegular (a stray S_IFDIR on a
// plain key is ignored: the key's shape decides). ino, nlink and size are left for the caller.
Attributes DecodeAttributes(const blobstore::UserMetadata& metadata, ObjectShape shape,
                            base::WallTime last_modified, const MetaDefaults& defaults);

// `base` with the POSIX entries replaced by `attr`'s (mode, uid, gid, mtime, atime, ctime); other
// entries (xattrs, foreign keys) are kept.
blobstore::UserMetadata EncodeAttributes(const Attributes& attr,
                                         const blobstore::UserMetadata& base = {});

// "1700000000" or "1700000000.000000123": s3fs's form.
std::string FormatTime(base::WallTime t);
// Accepts s3fs's and rclone's forms ("sec", "sec.frac"); nullopt for garbage or <= 0.
std::optional<base::WallTime> ParseTime(std::string_view text);

// The xattr header value, s3fs's encoding. Decoding garbage gives an empty map.
Xattrs DecodeXattrs(std::string_view header);
std::string EncodeXattrs(const Xattrs& xattrs);
// Reads / replaces the xattr entry of `metadata` (an empty map removes it).
Xattrs GetXattrs(const blobstore::UserMetadata& metadata);
void PutXattrs(const Xattrs& xattrs, blobstore::UserMetadata* metadata);

// Helpers exposed for tests.
std::string PercentEncode(std::string_view text);
std::string PercentDecode(std::string_view text);

}  // namespace shadowfs::fs
