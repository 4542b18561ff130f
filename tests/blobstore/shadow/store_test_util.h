// Helpers for the ShadowStore and Materializer tests: a store on a scratch directory with a
// FakeClock, deterministic versions of objects, and a look at the files on disk.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "blobstore/base/runtime.h"
#include "blobstore/shadow/shadow_store.h"
#include "tests/blobstore/shadow/shadow_test_util.h"

namespace shadowfs::shadow::testing {

constexpr uint32_t kTestChunk = 4096;

// The bytes of version `etag` of `key`: a function of both, so a reader can check any byte it
// was served against the ETag the store said it came from.
inline std::string VersionBytes(const std::string& key, const std::string& etag, size_t size) {
  uint32_t seed = static_cast<uint32_t>(std::hash<std::string>()(key + "|" + etag));
  return RandomBytes(size, seed);
}

inline ShadowStoreOptions StoreOptions(const std::string& dir) {
  ShadowStoreOptions o;
  o.dir = dir;
  o.chunk_size = kTestChunk;
  o.capacity_bytes = 64ull << 20;
  o.raw_below_fill = 0;  // every chunk with the codec, as the tests expect (one test sets it)
  o.flush_interval = std::chrono::hours(1);  // tests flush explicitly
  return o;
}

inline std::unique_ptr<ShadowStore> OpenStore(const ShadowStoreOptions& o, base::Runtime rt) {
  auto s = ShadowStore::Open(o, rt);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// Regular files under dir/shadows, as paths.
inline std::vector<std::string> ShadowFiles(const std::string& store_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(store_dir + "/shadows", ec)) {
    if (e.is_regular_file(ec)) out.push_back(e.path().string());
  }
  return out;
}

// Bytes allocated on disk (st_blocks, what du counts) by the files under dir/shadows and dir/tmp,
// each inode once (a file being renamed can appear under both names in one scan). Exact only
// when nothing changes during the scan: see StableDiskUsage.
inline uint64_t DiskUsage(const std::string& store_dir,
                          std::map<ino_t, uint64_t>* files = nullptr) {
  uint64_t total = 0;
  std::map<ino_t, uint64_t> seen;
  for (const char* sub : {"/shadows", "/tmp"}) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(store_dir + sub, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      struct stat st;
      if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      uint64_t bytes = static_cast<uint64_t>(st.st_blocks) * 512;
      if (seen.emplace(st.st_ino, bytes).second) total += bytes;
    }
  }
  if (files) *files = std::move(seen);
  return total;
}

// A scan is not a snapshot: a file counted early may be evicted and another one written before
// the scan ends, and the sum then overstates what was ever on disk at once. Two consecutive
// scans that saw exactly the same files with the same sizes did observe one state; returns
// nullopt when they differ (the caller samples again).
inline std::optional<uint64_t> StableDiskUsage(const std::string& store_dir) {
  std::map<ino_t, uint64_t> a, b;
  uint64_t total = DiskUsage(store_dir, &a);
  DiskUsage(store_dir, &b);
  if (a != b) return std::nullopt;
  return total;
}

// Reads [offset, offset + n) of `key` through the store.
struct Served {
  ShadowRead read;
  std::string bytes;
};
inline Served ReadRange(ShadowStore& store, const std::string& key, uint64_t offset, size_t n) {
  Served s;
  std::string buf(n, '\0');
  ReadContext ctx;
  auto r = store.Read(key, offset, buf, ctx);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return s;
  s.read = *r;
  if (r->miss == Miss::kNone) s.bytes = buf.substr(0, r->bytes);
  return s;
}

}  // namespace shadowfs::shadow::testing
