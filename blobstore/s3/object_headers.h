// Conversions between ObjectInfo / PutOptions and S3's HTTP headers: ETags without quotes, user
// metadata as x-amz-meta-* (names lower-case, prefix stripped), Last-Modified dates, content
// ranges. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "blobstore/base/clock.h"
#include "blobstore/base/result.h"
#include "blobstore/blob_store.h"
#include "blobstore/s3/http_client.h"

namespace shadowfs::s3 {

inline constexpr std::string_view kMetaPrefix = "x-amz-meta-";

// "\"abc\"" and "W/\"abc\"" -> "abc".
std::string UnquoteEtag(std::string_view etag);
// "abc" -> "\"abc\""; "*" stays "*".
std::string QuoteEtag(std::string_view etag);

// RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::optional<base::WallTime> ParseHttpDate(std::string_view text);
// ISO 8601 as S3 writes it in XML ("2009-10-12T17:50:30.000Z").
std::optional<base::WallTime> ParseIso8601(std::string_view text);

// Metadata names must be HTTP tokens and values printable ASCII without CR/LF (S3 would mangle
// anything else); InvalidArgument otherwise.
base::Status ValidateMetadata(const blobstore::UserMetadata& metadata);
void AddMetadataHeaders(const blobstore::UserMetadata& metadata, Headers* headers);

// The object described by a HEAD/GET response's headers. `size` is taken from Content-Length
// (callers of ranged GETs override it from Content-Range).
blobstore::ObjectInfo InfoFromHeaders(std::string_view key, const HttpResponse& response);

struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  uint64_t total = 0;
};
// "bytes 0-99/1234". nullopt when absent or malformed (including "bytes */1234").
std::optional<ContentRange> ParseContentRange(std::string_view text);
std::optional<uint64_t> ParseUint64(std::string_view text);

}  // namespace shadowfs::s3
