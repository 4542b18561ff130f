// ShadowStore maintenance run by the reconciler: expiry and eviction, orphan removal, scrubbing.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "blobstore/base/logging.h"
#include "blobstore/shadow/shadow_store.h"
#include "blobstore/shadow/shadow_store_impl.h"
#include "blobstore/shadow/shadow_writer.h"

namespace shadowfs::shadow {

using base::Result;
using base::Status;
using base::WallTime;

Result<ShadowStore::MaintenanceReport> ShadowStore::ExpireAndEvict() {
  Impl& d = *impl_;
  MaintenanceReport report;
  WallTime now = d.runtime.clock->Now();
  std::vector<std::string> expired;
  std::vector<std::string> victims;
  {
    base::MutexLock lock(&d.mu_);
    for (const auto& [key, e] : d.index_) {
      // Pinned shadows stay (they are not served once expired); claimed ones are being filled.
      if (e.info.pinned || d.busy_keys_.contains(key)) continue;
      if (e.info.expires_at != WallTime{} && now >= e.info.expires_at) expired.push_back(key);
    }
  }
  SHADOWFS_RETURN_IF_ERROR(d.Remove(expired, d.expirations));
  report.expired = expired.size();
  {
    // Over the cap only if the capacity shrank or pins grew; evict down to it.
    base::MutexLock lock(&d.mu_);
    if (d.used_ > d.options.capacity_bytes) {
      victims = d.PickVictims("", d.used_ - d.options.capacity_bytes, now)
                    .value_or(std::vector<std::string>{});
    }
  }
  SHADOWFS_RETURN_IF_ERROR(d.Remove(victims, d.evictions));
  report.evicted = victims.size();
  return report;
}

Result<ShadowStore::MaintenanceReport> ShadowStore::RemoveOrphans() {
  Impl& d = *impl_;
  namespace fs = std::filesystem;
  MaintenanceReport report;
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(d.shadows_dir, ec)) {
    if (e.is_regular_file(ec)) files.push_back(e.path().string());
  }
  if (ec) return Status::IOError("cannot list " + d.shadows_dir + ": " + ec.message());
  std::vector<std::string> orphans;
  std::vector<std::pair<std::string, std::string>> indexed;  // key, path
  {
    base::MutexLock lock(&d.mu_);
    std::set<std::string> known;
    for (const auto& [key, e] : d.index_) {
      known.insert(d.PathOf(e.file_name));
      if (!d.busy_keys_.contains(key)) indexed.emplace_back(key, d.PathOf(e.file_name));
    }
    for (const std::string& f : files) {
      if (known.contains(f)) continue;
      // A fill in progress owns its final path and its temp files (final path + suffix).
      std::string owner = f.substr(0, f.find(ShadowWriter::TempSuffix()));
      if (d.filling_paths_.contains(owner)) continue;
      orphans.push_back(f);
    }
  }
  for (const std::string& f : orphans) {
    if (::unlink(f.c_str()) == 0) ++report.orphans_removed;
  }
  for (const auto& e : fs::directory_iterator(d.tmp_dir, ec)) {
    if (fs::remove_all(e.path(), ec) > 0) ++report.orphans_removed;
  }
  // Rows whose file vanished (removed by hand): drop them.
  std::vector<std::string> missing;
  for (const auto& [key, path] : indexed) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) missing.push_back(key);
  }
  for (const std::string& key : missing) {
    Impl::KeyClaim claim(&d, key);
    SHADOWFS_RETURN_IF_ERROR(d.Remove({key}, d.drops));
    ++report.orphans_removed;
  }
  return report;
}

Result<ShadowStore::MaintenanceReport> ShadowStore::Scrub(uint64_t max_bytes) {
  Impl& d = *impl_;
  MaintenanceReport report;
  uint64_t bytes = 0;
  ReadContext ctx;
  std::vector<char> buffer;
  while (bytes < max_bytes) {
    std::shared_ptr<ShadowHandle> handle;
    std::string key;
    uint32_t start = 0;
    {
      base::MutexLock lock(&d.mu_);
      auto it = d.index_.lower_bound(d.scrub_key_);
      if (it != d.index_.end() && it->first == d.scrub_key_) {
        start = d.scrub_chunk_;
      }
      if (it == d.index_.end()) {  // a pass is complete: the next call starts over
        d.scrub_key_.clear();
        d.scrub_chunk_ = 0;
        break;
      }
      key = it->first;
      handle = it->second.handle;
    }
    const ShadowFile& file = *handle->file;
    uint32_t i = start;
    for (; i < file.chunk_count() && bytes < max_bytes; ++i) {
      if (!file.IsPresent(i)) continue;
      uint32_t len = file.chunk_length(i);
      if (buffer.size() < len) buffer.resize(len);
      ctx.ForgetCachedChunk();
      Status s = file.ReadChunk(i, std::span<char>(buffer.data(), len), ctx);
      ++report.chunks_scrubbed;
      bytes += len;
      if (s.code() == base::StatusCode::kCorruption) {
        ++report.corrupt_chunks;
        d.corrupt_chunks->Increment();
        base::LogStream(*d.runtime.logger, base::LogLevel::kWarning)
            << "scrub: shadow of '" << key << "' chunk " << i << ": " << s.ToString();
        SHADOWFS_RETURN_IF_ERROR(handle->file->DropChunk(i));
      } else if (!s.ok() && !s.IsNotFound()) {
        return s;
      }
    }
    base::MutexLock lock(&d.mu_);
    if (i >= file.chunk_count()) {
      d.scrub_key_ = key + '\0';  // the next key after this one
      d.scrub_chunk_ = 0;
    } else {
      d.scrub_key_ = key;
      d.scrub_chunk_ = i;
    }
  }
  return report;
}

}  // namespace shadowfs::shadow
