// LookupBodies: whole small objects that a lookup fetched (fs/lookup_reads.h), held in memory
// while they are written to the shadow store in the background, so that the read right after the
// lookup is served without waiting for the shadow's fsyncs and without a second request. An entry
// goes once its shadow is written (Erase), or when `max_bytes` would be exceeded (oldest first).
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "blobstore/base/mutex.h"

namespace shadowfs::fs {

class LookupBodies {
 public:
  explicit LookupBodies(size_t max_bytes) : max_bytes_(max_bytes) {}
  LookupBodies(const LookupBodies&) = delete;
  LookupBodies& operator=(const LookupBodies&) = delete;

  // `data` is the whole content of version `etag` of `key`.
  void Put(const std::string& key, const std::string& etag, std::string data);
  // Copies the bytes of version `etag` of `key` from `offset` into `out` (fewer at the end);
  // nullopt when that version is not held.
  std::optional<size_t> Read(std::string_view key, std::string_view etag, uint64_t offset,
                             std::span<char> out);
  // Drops `key` if it holds version `etag`.
  void Erase(std::string_view key, std::string_view etag);

  size_t bytes() const;

 private:
  struct Body {
    std::string etag;
    std::string data;
    std::list<std::string>::iterator age;
  };
  void EraseLocked(std::map<std::string, Body, std::less<>>::iterator it) REQUIRES(mu_);

  const size_t max_bytes_;
  mutable base::Mutex mu_;
  std::map<std::string, Body, std::less<>> bodies_ GUARDED_BY(mu_);
  std::list<std::string> order_ GUARDED_BY(mu_);  // keys, oldest first
  size_t bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace shadowfs::fs
