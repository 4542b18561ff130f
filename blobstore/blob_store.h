// BlobStore: the narrow interface to a primary object store (S3, a local directory, memory).
// Keys are bucket-relative UTF-8 strings of 1..1024 bytes, as in S3. Every implementation is
// thread-safe: any method may be called from several threads at once. Expected failures come back
// as a Status: NotFound (no such object), Conflict (If-Match / If-None-Match:* failed, HTTP 412),
// NotModified (If-None-Match matched, HTTP 304), Unavailable (retryable: the implementation has
// already retried as far as its policy allows), InvalidArgument (a key or range it cannot take).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/result.h"
#include "blobstore/byte_io.h"

namespace shadowfs::blobstore {

using base::Result;
using base::Status;

// User metadata, the x-amz-meta-* headers: names lower-case and without the prefix.
using UserMetadata = std::map<std::string, std::string>;

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;        // without quotes
  std::string version_id;  // empty unless the bucket is versioned
  base::WallTime last_modified{};
  std::string content_type;
  UserMetadata metadata;  // filled by Head, Get, Put and Copy; List leaves it empty
};

// A byte range of an object: the whole object, from an offset to the end, a span, or the last n
// bytes. A range that starts at or past the end of the object reads zero bytes (not an error).
class ByteRange {
 public:
  static ByteRange Full() { return ByteRange(0, std::nullopt, false); }
  static ByteRange From(uint64_t offset) { return ByteRange(offset, std::nullopt, false); }
  static ByteRange Span(uint64_t offset, uint64_t length) {
    return ByteRange(offset, length, false);
  }
  static ByteRange Last(uint64_t n) { return ByteRange(0, n, true); }

  bool is_full() const { return !suffix_ && offset_ == 0 && !length_; }
  bool is_suffix() const { return suffix_; }
  uint64_t offset() const { return offset_; }
  std::optional<uint64_t> length() const { return length_; }

  // The [begin, end) this range selects from an object of `size` bytes.
  std::pair<uint64_t, uint64_t> Resolve(uint64_t size) const;
  // The HTTP Range header value ("bytes=0-99", "bytes=100-", "bytes=-5"), empty for Full().
  std::string ToHttpRange() const;

 private:
  ByteRange(uint64_t offset, std::optional<uint64_t> length, bool suffix)
      : offset_(offset), length_(length), suffix_(suffix) {}
  uint64_t offset_;
  std::optional<uint64_t> length_;
  bool suffix_;
};

// Preconditions on the object's current ETag. Empty means "no condition". if_none_match may be
// "*" (the object must not exist: a create-only write).
struct Preconditions {
  std::string if_match;
  std::string if_none_match;
  bool empty() const { return if_match.empty() && if_none_match.empty(); }
};

struct GetOptions {
  ByteRange range = ByteRange::Full();
  Preconditions conditions;
  std::string version_id;  // read this version instead of the current one
};

struct GetResult {
  ObjectInfo info;      // the version the bytes came from
  uint64_t offset = 0;  // where in the object the delivered bytes start
  uint64_t length = 0;  // how many bytes were written to the sink, at sink offsets [0, length)
};

struct PutOptions {
  UserMetadata metadata;
  std::string content_type;
  Preconditions conditions;
};

struct ListOptions {
  std::string prefix;
  std::string delimiter;           // usually "/" or empty for a flat listing
  std::string continuation_token;  // from the previous page's next_continuation_token
  std::string start_after;
  int max_keys = 1000;  // 1..1000
};

struct ListPage {
  std::vector<ObjectInfo> objects;           // in byte order of key
  std::vector<std::string> common_prefixes;  // each ends with the delimiter
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};

struct CopyOptions {
  // Replace the metadata (S3 MetadataDirective=REPLACE) instead of copying the source's.
  std::optional<UserMetadata> replace_metadata;
  std::string content_type;  // with replace_metadata
  Preconditions source_conditions;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  virtual Result<ObjectInfo> Head(std::string_view key, const Preconditions& conditions) = 0;
  Result<ObjectInfo> Head(std::string_view key) { return Head(key, Preconditions{}); }

  // Writes the selected bytes to `sink` at offsets relative to the range start. The sink may be
  // written from several threads at once (disjoint offsets), and a retried part may be
  // written again.
  virtual Result<GetResult> Get(std::string_view key, const GetOptions& options,
                                ByteSink& sink) = 0;

  // Uploads `body` (read possibly several times, from several threads, at any offsets).
  virtual Result<ObjectInfo> Put(std::string_view key, ByteSource& body,
                                 const PutOptions& options) = 0;

  // Deleting a key that does not exist succeeds, as in S3.
  virtual Status Delete(std::string_view key) = 0;

  virtual Result<ListPage> List(const ListOptions& options) = 0;

  virtual Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                                  const CopyOptions& options) = 0;

  // Whether Put honours If-Match and If-None-Match:* (returns Conflict when they fail). Probed
  // once and cached by implementations that have to ask the server.
  virtual Result<bool> SupportsConditionalWrites() = 0;

  // "s3://bucket at https://host", "file:///dir", "mem://": for messages, never with secrets.
  virtual std::string Describe() const = 0;

 protected:
  BlobStore() = default;
};

// Checks a key against the rules every store shares (1..1024 bytes, valid UTF-8, no NUL).
Status ValidateKey(std::string_view key);

// Applies `conditions` to the current version (null if the key does not exist), with S3's
// answers: for reads NotFound / Conflict / NotModified; for writes Conflict whenever a condition
// fails (including If-Match on a missing key, as S3 and RGW answer 412).
Status EvaluatePreconditions(const Preconditions& conditions, const ObjectInfo* current,
                             bool is_write, std::string_view key);

// Builds one ListObjectsV2 page from keys offered in byte order: applies prefix, start-after,
// continuation, delimiter roll-up and max_keys. The continuation token is the last key or
// common prefix returned. Offer() returns false once the page is full (stop offering).
class ListPageBuilder {
 public:
  explicit ListPageBuilder(const ListOptions& options);
  // Keys at or before this can be skipped without offering them.
  const std::string& resume_after() const { return resume_after_; }
  bool Offer(const ObjectInfo& object);
  ListPage Finish();

 private:
  const ListOptions& options_;
  const int max_keys_;
  std::string resume_after_;
  std::string last_emitted_;
  int emitted_ = 0;
  ListPage page_;
};

// Helpers for the common cases.
Result<std::string> GetString(BlobStore& store, std::string_view key,
                              const GetOptions& options = {});
Result<ObjectInfo> PutString(BlobStore& store, std::string_view key, std::string_view data,
                             const PutOptions& options = {});

}  // namespace shadowfs::blobstore
