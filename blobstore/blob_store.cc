#include "blobstore/blob_store.h"

namespace shadowfs::blobstore {

std::pair<uint64_t, uint64_t> ByteRange::Resolve(uint64_t size) const {
  if (suffix_) {
    uint64_t n = length_.value_or(0);
    return {n >= size ? 0 : size - n, size};
  }
  if (offset_ >= size) return {size, size};
  uint64_t end = size;
  if (length_ && *length_ < size - offset_) end = offset_ + *length_;
  return {offset_, end};
}

std::string ByteRange::ToHttpRange() const {
  if (is_full()) return "";
  if (suffix_) return "bytes=-" + std::to_string(length_.value_or(0));
  std::string out = "bytes=" + std::to_string(offset_) + "-";
  if (length_ && *length_ > 0) out += std::to_string(offset_ + *length_ - 1);
  return out;
}

namespace {

// Length of the UTF-8 sequence starting with `c`, or 0 if `c` cannot start one.
int Utf8SequenceLength(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return 2;
  if (c >= 0xe0 && c <= 0xef) return 3;
  if (c >= 0xf0 && c <= 0xf4) return 4;
  return 0;
}

}  // namespace

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("empty object key");
  if (key.size() > 1024) {
    return Status::InvalidArgument("object key longer than 1024 bytes: '" +
                                   std::string(key.substr(0, 64)) + "...'");
  }
  for (size_t i = 0; i < key.size();) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c == 0) return Status::InvalidArgument("object key contains a NUL byte");
    int n = Utf8SequenceLength(c);
    if (n == 0 || i + n > key.size()) {
      return Status::InvalidArgument("object key is not valid UTF-8");
    }
    for (int j = 1; j < n; ++j) {
      if ((static_cast<unsigned char>(key[i + j]) & 0xc0) != 0x80) {
        return Status::InvalidArgument("object key is not valid UTF-8");
      }
    }
    i += n;
  }
  return Status::Ok();
}

Status EvaluatePreconditions(const Preconditions& conditions, const ObjectInfo* current,
                             bool is_write, std::string_view key) {
  const std::string quoted = "'" + std::string(key) + "'";
  if (!conditions.if_match.empty()) {
    if (current == nullptr) {
      // A conditional write on a vanished object is a conflict: someone deleted our base.
      return is_write ? Status::Conflict("If-Match failed: " + quoted + " no longer exists")
                      : Status::NotFound("no such object " + quoted);
    }
    if (conditions.if_match != "*" && conditions.if_match != current->etag) {
      return Status::Conflict("If-Match failed: " + quoted + " is now at ETag " + current->etag);
    }
  }
  if (!conditions.if_none_match.empty() && current != nullptr) {
    bool matches = conditions.if_none_match == "*" || conditions.if_none_match == current->etag;
    if (matches) {
      if (is_write) return Status::Conflict("If-None-Match failed: " + quoted + " exists");
      return Status::NotModified(quoted + " is unchanged at ETag " + current->etag);
    }
  }
  return Status::Ok();
}

ListPageBuilder::ListPageBuilder(const ListOptions& options)
    : options_(options),
      max_keys_(options.max_keys < 1 || options.max_keys > 1000 ? 1000 : options.max_keys) {
  resume_after_ = options.start_after;
  if (!options.continuation_token.empty() && options.continuation_token > resume_after_) {
    resume_after_ = options.continuation_token;
  }
}

bool ListPageBuilder::Offer(const ObjectInfo& object) {
  const std::string& key = object.key;
  if (key.compare(0, options_.prefix.size(), options_.prefix) != 0) return true;
  if (!resume_after_.empty() && key <= resume_after_) return true;
  std::string common;
  if (!options_.delimiter.empty()) {
    size_t pos = key.find(options_.delimiter, options_.prefix.size());
    if (pos != std::string::npos) common = key.substr(0, pos + options_.delimiter.size());
  }
  // Keys under a common prefix already returned (on this page or a previous one) roll up into it.
  if (!common.empty() && (common == last_emitted_ || common == resume_after_)) return true;
  if (emitted_ == max_keys_) {
    page_.truncated = true;
    page_.next_continuation_token = last_emitted_;
    return false;
  }
  ++emitted_;
  if (common.empty()) {
    page_.objects.push_back(object);
    page_.objects.back().metadata.clear();
    last_emitted_ = key;
  } else {
    page_.common_prefixes.push_back(common);
    last_emitted_ = common;
  }
  return true;
}

ListPage ListPageBuilder::Finish() { return std::move(page_); }

Result<std::string> GetString(BlobStore& store, std::string_view key, const GetOptions& options) {
  StringSink sink;
  auto result = store.Get(key, options, sink);
  if (!result.ok()) return result.status();
  std::string data = sink.Take();
  data.resize(result->length);
  return data;
}

Result<ObjectInfo> PutString(BlobStore& store, std::string_view key, std::string_view data,
                             const PutOptions& options) {
  StringSource source(data);
  return store.Put(key, source, options);
}

}  // namespace shadowfs::blobstore
