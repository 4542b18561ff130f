#include "fs/lookup_bodies.h"

#include <algorithm>
#include <cstring>

namespace shadowfs::fs {

void LookupBodies::Put(const std::string& key, const std::string& etag, std::string data) {
  if (data.size() > max_bytes_) return;
  base::MutexLock lock(&mu_);
  if (auto it = bodies_.find(key); it != bodies_.end()) EraseLocked(it);
  while (!order_.empty() && bytes_ + data.size() > max_bytes_) {
    EraseLocked(bodies_.find(order_.front()));
  }
  bytes_ += data.size();
  order_.push_back(key);
  bodies_.emplace(key, Body{.etag = etag, .data = std::move(data), .age = std::prev(order_.end())});
}

std::optional<size_t> LookupBodies::Read(std::string_view key, std::string_view etag,
                                         uint64_t offset, std::span<char> out) {
  base::MutexLock lock(&mu_);
  auto it = bodies_.find(key);
  if (it == bodies_.end() || it->second.etag != etag) return std::nullopt;
  const std::string& data = it->second.data;
  if (offset >= data.size()) return size_t{0};
  size_t n = std::min<uint64_t>(out.size(), data.size() - offset);
  std::memcpy(out.data(), data.data() + offset, n);
  return n;
}

void LookupBodies::Erase(std::string_view key, std::string_view etag) {
  base::MutexLock lock(&mu_);
  auto it = bodies_.find(key);
  if (it != bodies_.end() && it->second.etag == etag) EraseLocked(it);
}

size_t LookupBodies::bytes() const {
  base::MutexLock lock(&mu_);
  return bytes_;
}

void LookupBodies::EraseLocked(std::map<std::string, Body, std::less<>>::iterator it) {
  bytes_ -= it->second.data.size();
  order_.erase(it->second.age);
  bodies_.erase(it);
}

}  // namespace shadowfs::fs
