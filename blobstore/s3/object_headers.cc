#include "blobstore/s3/object_headers.h"

#include <time.h>

#include <cctype>
#include <cstring>

namespace shadowfs::s3 {

using base::Status;

std::string UnquoteEtag(std::string_view etag) {
  if (etag.rfind("W/", 0) == 0) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::string QuoteEtag(std::string_view etag) {
  if (etag == "*" || (etag.size() >= 2 && etag.front() == '"')) return std::string(etag);
  return "\"" + std::string(etag) + "\"";
}

std::optional<uint64_t> ParseUint64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = value * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != value) return std::nullopt;  // overflow
    value = next;
  }
  return value;
}

namespace {

std::optional<base::WallTime> FromTm(struct tm* tm, int64_t millis) {
  time_t secs = timegm(tm);
  if (secs == static_cast<time_t>(-1)) return std::nullopt;
  return base::WallTime(std::chrono::seconds(secs) + std::chrono::milliseconds(millis));
}

}  // namespace

std::optional<base::WallTime> ParseHttpDate(std::string_view text) {
  std::string s(text);
  struct tm tm {};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return FromTm(&tm, 0);
}

std::optional<base::WallTime> ParseIso8601(std::string_view text) {
  std::string s(text);
  struct tm tm {};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  int64_t millis = 0;
  if (*end == '.') {
    ++end;
    int digits = 0;
    while (std::isdigit(static_cast<unsigned char>(*end))) {
      if (digits < 3) millis = millis * 10 + (*end - '0');
      ++digits;
      ++end;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }
  if (std::strcmp(end, "Z") != 0 && std::strcmp(end, "+00:00") != 0) return std::nullopt;
  return FromTm(&tm, millis);
}

Status ValidateMetadata(const blobstore::UserMetadata& metadata) {
  for (const auto& [name, value] : metadata) {
    if (name.empty()) return Status::InvalidArgument("empty user metadata name");
    for (char c : name) {
      bool token = std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c);
      if (!token || c == '\0') {
        return Status::InvalidArgument("user metadata name '" + name +
                                       "' may only contain letters, digits and -_.");
      }
    }
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) {
        return Status::InvalidArgument("user metadata value for '" + name +
                                       "' must be printable ASCII");
      }
    }
  }
  return Status::Ok();
}

void AddMetadataHeaders(const blobstore::UserMetadata& metadata, Headers* headers) {
  for (const auto& [name, value] : metadata) {
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers->emplace_back(std::string(kMetaPrefix) + lower, value);
  }
}

blobstore::ObjectInfo InfoFromHeaders(std::string_view key, const HttpResponse& response) {
  blobstore::ObjectInfo info;
  info.key = std::string(key);
  for (const auto& [name, value] : response.headers) {
    if (name == "etag") {
      info.etag = UnquoteEtag(value);
    } else if (name == "content-length") {
      info.size = ParseUint64(value).value_or(0);
    } else if (name == "last-modified") {
      if (auto t = ParseHttpDate(value)) info.last_modified = *t;
    } else if (name == "content-type") {
      info.content_type = value;
    } else if (name == "x-amz-version-id") {
      // Unversioned buckets answer "null" on some servers; that is not a version to ask for.
      if (value != "null") info.version_id = value;
    } else if (name.size() > kMetaPrefix.size() && name.rfind(kMetaPrefix, 0) == 0) {
      info.metadata[name.substr(kMetaPrefix.size())] = value;
    }
  }
  return info;
}

std::optional<ContentRange> ParseContentRange(std::string_view text) {
  if (text.rfind("bytes ", 0) != 0) return std::nullopt;
  text.remove_prefix(6);
  size_t dash = text.find('-');
  size_t slash = text.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  auto first = ParseUint64(text.substr(0, dash));
  auto last = ParseUint64(text.substr(dash + 1, slash - dash - 1));
  auto total = ParseUint64(text.substr(slash + 1));
  if (!first || !last || !total || *first > *last || *last >= *total) return std::nullopt;
  return ContentRange{*first, *last, *total};
}

}  // namespace shadowfs::s3
