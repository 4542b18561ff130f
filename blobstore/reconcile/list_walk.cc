#include "blobstore/reconcile/list_walk.h"

#include <algorithm>

namespace shadowfs::reconcile {

using base::Status;

namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// U+10FFFF, the greatest code point: its encoding is the greatest valid UTF-8 sequence.
constexpr std::string_view kMaxCodePoint = "\xF4\x8F\xBF\xBF";

}  // namespace

std::string CommonPrefix(const std::vector<std::string>& keys) {
  if (keys.empty()) return "";
  std::string_view prefix = keys.front();
  for (const auto& key : keys) {
    size_t n = 0;
    size_t limit = std::min(prefix.size(), key.size());
    while (n < limit && prefix[n] == key[n]) ++n;
    prefix = prefix.substr(0, n);
    if (prefix.empty()) return "";
  }
  // Never split a multi-byte character: the prefix goes into a request as UTF-8.
  size_t end = prefix.size();
  if (end < keys.front().size()) {
    while (end > 0 && IsContinuationByte(keys.front()[end])) --end;
  }
  return std::string(prefix.substr(0, end));
}

std::string SeekPointBefore(std::string_view key) {
  if (key.empty()) return "";
  unsigned char last = static_cast<unsigned char>(key.back());
  if (last >= 0x21 && last <= 0x7F) {
    // key = "dir/file7" -> "dir/file6" + U+10FFFF: every valid key that sorts between the two
    // would have to start with that string, which holds a noncharacter.
    std::string seek(key.substr(0, key.size() - 1));
    seek.push_back(static_cast<char>(last - 1));
    seek.append(kMaxCodePoint);
    return seek;
  }
  // Drop the last character: the seek then re-lists only keys that extend the shorter string
  // and sort before `key`.
  size_t end = key.size() - 1;
  while (end > 0 && IsContinuationByte(key[end])) --end;
  return std::string(key.substr(0, end));
}

Status WalkListing(blobstore::BlobStore& primary, const std::vector<std::string>& keys,
                   const ListWalkOptions& options,
                   const std::function<void(size_t, const blobstore::ObjectInfo*)>& resolve,
                   uint64_t* requests) {
  if (keys.empty()) return Status::Ok();
  const std::string prefix = CommonPrefix(keys);
  size_t next = 0;  // keys[0, next) are resolved
  // Invariant: every key <= cursor is resolved, and keys[next] > cursor.
  std::string cursor;
  bool have_cursor = false;
  std::string token;  // continues the last page, which ended at cursor
  while (next < keys.size()) {
    if (options.cancelled && options.cancelled()) {
      return Status::Unavailable("the reconcile cycle was interrupted (shutting down)");
    }
    blobstore::ListOptions list;
    list.prefix = prefix;
    list.max_keys = options.max_keys;
    std::string seek = SeekPointBefore(keys[next]);
    if (!token.empty() && have_cursor && seek <= cursor) {
      list.continuation_token = token;
    } else {
      list.start_after = seek;
      cursor = seek;
      have_cursor = true;
    }
    if (options.before_request) options.before_request();
    ++*requests;
    auto page = primary.List(list);
    if (!page.ok()) return page.status().WithContext("listing " + primary.Describe());
    const auto& objects = page->objects;
    const std::string* last = objects.empty() ? nullptr : &objects.back().key;
    // The page covers (start, last] if truncated, (start, end of prefix) otherwise.
    size_t o = 0;
    while (next < keys.size() && (!page->truncated || (last && keys[next] <= *last))) {
      while (o < objects.size() && objects[o].key < keys[next]) ++o;
      bool listed = o < objects.size() && objects[o].key == keys[next];
      resolve(next, listed ? &objects[o] : nullptr);
      ++next;
    }
    if (!page->truncated) break;
    if (page->next_continuation_token.empty()) {
      return Status::Corruption("listing " + primary.Describe() +
                                ": a truncated page came without a continuation token");
    }
    if (!last && page->next_continuation_token == list.continuation_token) {
      return Status::Corruption("listing " + primary.Describe() +
                                ": the primary repeats an empty page without progress");
    }
    if (last) cursor = *last;
    token = page->next_continuation_token;
  }
  return Status::Ok();
}

}  // namespace shadowfs::reconcile
