// Helpers for the experts' tests: a KeyTable-backed builder of Accesses with explicit times, and
// an in-memory NamespaceView that counts its calls.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/clock.h"
#include "predict/expert.h"
#include "predict/key_table.h"
#include "predict/namespace_view.h"

namespace shadowfs::predict::testing {

inline base::WallTime At(int64_t unix_seconds) { return base::FromUnixSeconds(unix_seconds); }

class AccessMaker {
 public:
  explicit AccessMaker(KeyTable* keys) : keys_(keys) {}
  // An open and its first read of `length` bytes at `offset`.
  Access Open(std::string_view key, std::string_view process, int64_t t, uint64_t size = 4096,
              uint64_t offset = 0, uint64_t length = 4096, std::string_view etag = "") {
    Access a;
    a.key = keys_->Intern(key);
    a.process = keys_->Intern(process);
    a.key_name = keys_->Name(a.key);
    a.process_name = keys_->Name(a.process);
    etag_ = std::string(etag);
    a.etag = etag_;
    a.object_size = size;
    a.offset = offset;
    a.length = length;
    a.time = At(t);
    a.first_read = true;
    keys_->Touch(a.key, a.time);
    return a;
  }
  Access Read(std::string_view key, std::string_view process, int64_t t, uint64_t size,
              uint64_t offset, uint64_t length) {
    Access a = Open(key, process, t, size, offset, length);
    a.first_read = false;
    return a;
  }

 private:
  KeyTable* keys_;
  std::string etag_;
};

class FakeNames final : public NamespaceView {
 public:
  void Add(std::string key, uint64_t size = 4096, std::string etag = "\"e\"") {
    const size_t slash = key.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : key.substr(0, slash + 1);
    dirs_[dir].push_back({std::move(key), size, std::move(etag)});
  }
  base::Result<std::vector<ObjectInfo>> ListDirectory(std::string_view dir, size_t limit) override {
    if (++calls <= unavailable_calls) return base::Status::Unavailable("listing in the background");
    auto it = dirs_.find(std::string(dir));
    if (it == dirs_.end()) return std::vector<ObjectInfo>{};
    std::vector<ObjectInfo> out = it->second;
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }
  int calls = 0;
  int unavailable_calls = 0;  // the first calls answer Unavailable, as the mount's listing does

 private:
  std::map<std::string, std::vector<ObjectInfo>> dirs_;
};

inline std::vector<std::string> Names(const KeyTable& keys, const std::vector<Candidate>& c) {
  std::vector<std::string> out;
  for (const Candidate& x : c) out.emplace_back(keys.Name(x.key));
  return out;
}

// Save with names from `keys`, Load into `to` interning into `to_keys`.
inline base::Status RoundTrip(const Expert& from, const KeyTable& keys, Expert* to,
                              KeyTable* to_keys) {
  const std::string blob = from.Save([&](KeyId id) { return keys.Name(id); });
  return to->Load(blob, [&](std::string_view name) { return to_keys->Intern(name); });
}

}  // namespace shadowfs::predict::testing
