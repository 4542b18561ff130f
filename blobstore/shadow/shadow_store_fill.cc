// ShadowStore::Fill and the capacity accounting behind it: reservations and eviction.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cmath>

#include "blobstore/base/logging.h"
#include "blobstore/shadow/shadow_store.h"
#include "blobstore/shadow/shadow_store_impl.h"
#include "blobstore/shadow/shadow_writer.h"

namespace shadowfs::shadow {

using base::Status;
using base::WallTime;

namespace {

// Expected value of a shadow = P(reuse) x latency saved / bytes, where the latency a hit saves is
// one request's fixed cost plus its transfer time.
constexpr double kRequestSeconds = 0.05;
constexpr double kPrimaryBytesPerSecond = 100e6;
// Without a ReuseScorer: hits decay with this time constant.
constexpr double kRecencySeconds = 86400;
// How long a reservation waits for readers of evicted files to let go before giving up.
constexpr auto kReleaseWait = std::chrono::seconds(2);

// [first, last) chunks of an object of `size` wholly covered by [offset, offset + len), plus the
// last chunk if the data reaches the end of the object.
std::pair<uint32_t, uint32_t> CoveredChunks(uint64_t size, uint32_t chunk_size, uint64_t offset,
                                            uint64_t len) {
  auto first = static_cast<uint32_t>(offset / chunk_size);
  uint64_t end = offset + len;
  auto last =
      static_cast<uint32_t>(end >= size ? (size + chunk_size - 1) / chunk_size : end / chunk_size);
  return {first, std::max(first, last)};
}

}  // namespace

uint32_t ShadowStore::Impl::RangedChunkSize() const {
  const uint32_t ranged = options.ranged_chunk_size;
  return ranged == 0 || ranged > options.chunk_size ? options.chunk_size : ranged;
}

CodecOptions ShadowStore::Impl::FillCodec() {
  if (options.raw_below_fill <= 0 || options.codec.preferred == Codec::kNone) return options.codec;
  const uint64_t cap = EffectiveCapacity();
  uint64_t used;
  {
    base::MutexLock lock(&mu_);
    used = used_;
  }
  if (static_cast<double>(used) >= options.raw_below_fill * static_cast<double>(cap)) {
    return options.codec;
  }
  CodecOptions raw = options.codec;
  raw.preferred = Codec::kNone;
  return raw;
}

uint32_t ShadowStore::Impl::NewChunkSize(uint64_t size, uint64_t offset, std::string_view data,
                                         const CodecOptions& codec, CodecContext& codec_ctx) const {
  const uint32_t chunk_size = options.chunk_size;
  // A reader that seeks: which of its bytes are read is not known, and each chunk stored is
  // fetched whole.
  if (offset != 0) return RangedChunkSize();
  const uint32_t smaller = PromotedChunkSize(size, chunk_size);
  if (smaller == chunk_size) return chunk_size;
  // An incompressible blob (media, archives, encrypted or random data) is stored raw whatever
  // its chunk size, so it gets the promoted size at once: a read verifies every chunk it
  // touches whole, and smaller chunks cost a partial read less (tests/bench/README.md). Judged
  // by the first chunk, as the codec judges each chunk: by samples.
  const std::string_view first = data.substr(0, std::min<uint64_t>(size, chunk_size));
  if (first.size() < std::min<uint64_t>(size, chunk_size)) return chunk_size;
  const bool raw = codec.preferred == Codec::kNone || codec_ctx.LooksIncompressible(first, codec);
  return raw ? smaller : chunk_size;
}

double ShadowStore::Impl::EvictionValue(const std::string& key, const IndexEntry& e, WallTime now,
                                        uint64_t bytes_override) {
  if (e.info.expires_at != WallTime{} && now >= e.info.expires_at) return -1;
  double p;
  if (scorer) {
    p = std::clamp(scorer->ReuseProbability(key, now), 0.0, 1.0);
  } else {
    WallTime last = std::max(e.info.last_access, e.info.created);
    double age = std::max(0.0, std::chrono::duration<double>(now - last).count());
    double score = static_cast<double>(e.info.hits + 1) * std::exp(-age / kRecencySeconds);
    p = 1 - std::exp(-0.5 * score);
  }
  uint64_t charged = bytes_override != 0 ? bytes_override : e.handle->charged;
  return PrefetchValue(p, e.info.size, charged);
}

namespace {

// A prefetch fill's eviction bound (FillOptions::probability); none for other fills.
std::optional<double> EvictBelow(const FillOptions& options, uint64_t size, uint64_t bytes) {
  if (!options.probability) return std::nullopt;
  return ShadowStore::Impl::PrefetchValue(*options.probability, size, bytes);
}

}  // namespace

double ShadowStore::Impl::PrefetchValue(double probability, uint64_t size, uint64_t bytes) {
  // Seconds of primary time a read of the object saves, per byte held.
  double saved = kRequestSeconds + static_cast<double>(size) / kPrimaryBytesPerSecond;
  return std::clamp(probability, 0.0, 1.0) * saved /
         static_cast<double>(std::max<uint64_t>(bytes, 1));
}

std::optional<std::vector<std::string>> ShadowStore::Impl::PickVictims(
    const std::string& exclude, uint64_t need, WallTime now, std::optional<double> evict_below) {
  std::vector<std::pair<double, std::string>> candidates;
  uint64_t evictable = doomed_bytes_;
  for (const auto& [key, e] : index_) {
    if (e.info.pinned || key == exclude || busy_keys_.contains(key)) continue;
    double value = EvictionValue(key, e, now);
    if (evict_below && !(value < *evict_below)) continue;
    candidates.emplace_back(value, key);
    evictable += e.handle->charged;
  }
  if (evictable < need) return std::nullopt;
  std::sort(candidates.begin(), candidates.end());
  std::vector<std::string> victims;
  uint64_t freed = doomed_bytes_;
  for (auto& [value, key] : candidates) {
    if (freed >= need) break;
    freed += index_.find(key)->second.handle->charged;
    victims.push_back(std::move(key));
  }
  return victims;
}

uint64_t ShadowStore::Impl::EffectiveCapacity() {
  // The store shares its disk with staged writes (STORE/staging), the catalog and whatever else
  // lives there. Shadows are only a cache: they never take the last quarter of the disk (at most
  // 1 GiB of it), and when the disk fills up from elsewhere they shrink to make room.
  struct statvfs fs {};
  if (::statvfs(options.dir.c_str(), &fs) != 0) return options.capacity_bytes;
  const uint64_t disk = uint64_t{fs.f_blocks} * fs.f_frsize;
  const uint64_t avail = uint64_t{fs.f_bavail} * fs.f_frsize;
  const uint64_t headroom = std::min<uint64_t>(disk / 4, 1ull << 30);
  uint64_t used;
  {
    base::MutexLock lock(&mu_);
    used = used_;
  }
  const uint64_t disk_cap = used + avail > headroom ? used + avail - headroom : 0;
  return std::min(options.capacity_bytes, disk_cap);
}

Status ShadowStore::Impl::Reserve(const std::string& key, uint64_t bytes,
                                  std::optional<double> evict_below, base::Counter* refused) {
  const uint64_t cap = EffectiveCapacity();
  if (refused == nullptr) refused = no_space;
  if (bytes > cap) {
    refused->Increment();
    return Status::NoSpace("shadow of '" + key + "' needs " + std::to_string(bytes) +
                           " bytes, more than the store's capacity of " + std::to_string(cap));
  }
  {
    base::MutexLock lock(&mu_);
    if (used_ + bytes <= cap) {
      used_ += bytes;
      RefreshGauge();
      return Status::Ok();
    }
  }
  std::vector<std::shared_ptr<ShadowHandle>> release;  // destroyed last, without locks
  std::vector<std::string> paths;
  std::vector<std::string> victims;
  Status s;
  {
    base::MutexLock catalog_lock(&catalog_mu_);
    base::MutexLock lock(&mu_);
    WallTime now = runtime.clock->Now();
    if (used_ + bytes > cap) {
      auto picked = PickVictims(key, used_ + bytes - cap, now, evict_below);
      if (!picked) {
        refused->Increment();
        return Status::NoSpace("shadow store " + options.dir + " is full (" +
                               std::to_string(used_) + " of " + std::to_string(cap) +
                               " bytes, the rest pinned or in use): cannot store " +
                               std::to_string(bytes) + " bytes of '" + key + "'");
      }
      victims = std::move(*picked);
      DetachLocked(victims, &paths, &release);
      evictions->Increment(victims.size());
    }
  }
  if (!victims.empty()) {
    {
      base::MutexLock catalog_lock(&catalog_mu_);
      s = catalog->Delete(victims);
    }
    for (const std::string& p : paths) ::unlink(p.c_str());
    for (const std::string& k : victims) model.SetHeld(k, false);
    release.clear();
    if (!s.ok()) {
      base::LogStream(*runtime.logger, base::LogLevel::kWarning)
          << "shadow store: evicted shadows' rows stay until the next open: " << s.ToString();
    }
  }
  // Evicted files that readers still hold count until they let go; reads are short.
  base::MutexLock lock(&mu_);
  base::MonoTime deadline = std::chrono::steady_clock::now() + kReleaseWait;
  while (used_ + bytes > cap) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) {
      refused->Increment();
      return Status::NoSpace("shadow store " + options.dir + ": no room for " +
                             std::to_string(bytes) + " bytes of '" + key +
                             "' (evicted shadows still in use by readers)");
    }
    space_cv_.WaitFor(&mu_, left);
  }
  used_ += bytes;
  RefreshGauge();
  return Status::Ok();
}

void ShadowStore::Impl::Unreserve(uint64_t bytes) {
  base::MutexLock lock(&mu_);
  used_ -= bytes;
  RefreshGauge();
  space_cv_.SignalAll();
}

Status ShadowStore::Fill(std::string_view key_in, std::string_view etag, uint64_t size,
                         uint64_t offset, std::string_view data, const FillOptions& options) {
  Impl& d = *impl_;
  const std::string key(key_in);
  if (etag.empty()) return Status::InvalidArgument("Fill of '" + key + "' without an ETag");
  if (offset > size || data.size() > size - offset) {
    return Status::InvalidArgument("Fill of '" + key + "': bytes [" + std::to_string(offset) +
                                   ", +" + std::to_string(data.size()) + ") exceed the object's " +
                                   std::to_string(size) + " bytes");
  }
  Impl::KeyClaim claim(&d, key);
  const WallTime now = d.runtime.clock->Now();
  std::shared_ptr<ShadowHandle> existing;
  WallTime old_verified{};
  IndexEntry carried;  // what a new version keeps from the old one
  {
    base::MutexLock lock(&d.mu_);
    auto it = d.index_.find(key);
    if (it != d.index_.end()) {
      existing = it->second.handle;
      old_verified = it->second.info.last_verified;
      carried.info = it->second.info;
    }
  }
  CodecContext codec_ctx;
  const CodecOptions codec = d.FillCodec();

  if (existing && existing->file->etag() == etag) {
    // Extend the shadow of this version in place.
    ShadowFile& file = *existing->file;
    if (file.object_size() != size) {
      return Status::InvalidArgument("Fill of '" + key + "': version " + std::string(etag) +
                                     " has " + std::to_string(file.object_size()) + " bytes, not " +
                                     std::to_string(size));
    }
    if (offset % file.chunk_size() != 0) {
      return Status::InvalidArgument("Fill of '" + key + "' at " + std::to_string(offset) +
                                     ", not a multiple of the chunk size " +
                                     std::to_string(file.chunk_size()));
    }
    auto [first, last] = CoveredChunks(size, file.chunk_size(), offset, data.size());
    std::vector<uint32_t> missing;
    uint64_t raw = 0;
    for (uint32_t i = first; i < last; ++i) {
      if (!file.IsPresent(i)) {
        missing.push_back(i);
        raw += file.chunk_length(i) + format::MaxPadding(file.chunk_length(i));
      }
    }
    Status result;
    if (!missing.empty()) {
      // Block rounding of the old end and the new end: at most one extra block.
      uint64_t reserve = RoundUpToBlock(raw) + kBlockSize + kMetadataSlack;
      SHADOWFS_RETURN_IF_ERROR(d.Reserve(key, reserve,
                                         EvictBelow(options, size, existing->charged + reserve),
                                         options.probability ? d.prefetches_refused : nullptr));
      for (uint32_t i : missing) {
        uint64_t at = uint64_t{i} * file.chunk_size() - offset;
        Status s = file.AppendChunk(i, data.substr(at, file.chunk_length(i)), codec, codec_ctx);
        if (!s.ok() && s.code() != base::StatusCode::kAlreadyExists) {
          result = s;
          break;
        }
      }
      uint64_t charge = ChargeFor(file.path(), file.stats().file_size);
      base::MutexLock lock(&d.mu_);
      d.used_ = d.used_ - reserve - existing->charged + charge;
      if (existing->doomed) d.doomed_bytes_ = d.doomed_bytes_ - existing->charged + charge;
      existing->charged = charge;
      d.RefreshGauge();
      d.space_cv_.SignalAll();
    }
    // The bytes came from the primary under this ETag: a verification.
    d.model.Observe(key, std::chrono::duration<double>(now - old_verified).count(), false);
    {
      base::MutexLock lock(&d.mu_);
      auto it = d.index_.find(key);
      if (it != d.index_.end() && it->second.handle == existing) {
        it->second.info.last_verified = std::max(it->second.info.last_verified, now);
        if (options.pin) it->second.info.pinned = true;
        if (options.ttl) it->second.info.expires_at = now + *options.ttl;
        d.dirty_.insert(it->first);
      }
    }
    (result.ok() ? d.fills : d.fill_failures)->Increment();
    return result;
  }

  // A new shadow, possibly replacing another version.
  const uint32_t chunk_size = d.NewChunkSize(size, offset, data, codec, codec_ctx);
  if (offset % chunk_size != 0) {
    return Status::InvalidArgument("Fill of '" + key + "' at " + std::to_string(offset) +
                                   ", not a multiple of the chunk size " +
                                   std::to_string(chunk_size));
  }
  SHADOWFS_ASSIGN_OR_RETURN(uint32_t chunk_count, format::ChunkCountFor(size, chunk_size));
  const auto [first_chunk, last_chunk] = CoveredChunks(size, chunk_size, offset, data.size());
  const uint32_t first = first_chunk;
  const uint32_t last = last_chunk;
  if (first == last && size > 0) return Status::Ok();  // nothing whole to store
  uint64_t raw = 0;  // with the padding that may precede each chunk
  for (uint32_t i = first; i < last; ++i) {
    uint32_t len = format::RawChunkLength(size, chunk_size, i);
    raw += len + format::MaxPadding(len);
  }
  const uint64_t reserve = RoundUpToBlock(format::HeaderSizeFor(key.size(), etag.size()) +
                                          uint64_t{format::kEntrySize} * chunk_count + raw) +
                           kMetadataSlack;
  SHADOWFS_RETURN_IF_ERROR(d.Reserve(key, reserve, EvictBelow(options, size, reserve),
                                     options.probability ? d.prefetches_refused : nullptr));
  const std::string file_name = d.FileNameFor(key, etag);
  const std::string path = d.PathOf(file_name);
  {
    base::MutexLock lock(&d.mu_);
    d.filling_paths_.insert(path);
  }
  auto fail = [&](Status s) {
    {
      base::MutexLock lock(&d.mu_);
      d.filling_paths_.erase(path);
      d.used_ -= reserve;
      d.RefreshGauge();
      d.space_cv_.SignalAll();
    }
    d.fill_failures->Increment();
    return s;
  };
  Status s = [&]() -> Status {
    std::string dir = path.substr(0, path.rfind('/'));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return base::ErrnoStatus(errno, "cannot create " + dir);
    }
    ShadowOptions so{.chunk_size = chunk_size, .codec = codec};
    SHADOWFS_ASSIGN_OR_RETURN(auto writer,
                              ShadowWriter::Create(path, key, std::string(etag), size, so));
    for (uint32_t i = first; i < last; ++i) {
      uint64_t at = uint64_t{i} * chunk_size - offset;
      SHADOWFS_RETURN_IF_ERROR(
          writer->PutChunk(i, data.substr(at, writer->chunk_length(i)), codec_ctx));
    }
    return writer->Commit();
  }();
  if (!s.ok()) return fail(s);
  auto file = ShadowFile::Open(path, key, etag);
  if (!file.ok()) {
    ::unlink(path.c_str());
    return fail(file.status());
  }
  auto handle = std::make_shared<ShadowHandle>(&d, std::move(*file));
  IndexEntry e;
  e.info.key = key;
  e.info.etag = std::string(etag);
  e.info.version_id = options.version_id;
  e.info.size = size;
  e.info.origin = options.origin;
  e.info.created = now;
  e.info.valid_from = options.valid_from == WallTime{} ? now : options.valid_from;
  e.info.expires_at = options.ttl ? now + *options.ttl : WallTime{};
  e.info.last_verified = now;
  e.info.last_access = existing ? carried.info.last_access : WallTime{};
  e.info.hits = existing ? carried.info.hits : 0;
  e.info.pinned = options.pin || (existing && carried.info.pinned);
  e.file_name = file_name;
  e.handle = handle;
  const uint64_t charge = ChargeFor(path, handle->file->stats().file_size);

  if (existing) {
    // The primary moved on from the version we held: an observed change.
    d.model.Observe(key, std::chrono::duration<double>(now - old_verified).count(), true);
  }
  std::string old_path;
  {
    base::MutexLock catalog_lock(&d.catalog_mu_);
    // The file is durable; now the row.
    CatalogRow row;
    {
      base::MutexLock lock(&d.mu_);
      row = d.RowOf(e);
    }
    s = d.catalog->Upsert(row);
    if (!s.ok()) {
      ::unlink(path.c_str());
    } else {
      base::MutexLock lock(&d.mu_);
      d.used_ = d.used_ - reserve + charge;
      handle->charged = charge;
      auto it = d.index_.find(key);
      if (it != d.index_.end()) {
        ShadowHandle& old = *it->second.handle;
        old.doomed = true;
        d.doomed_bytes_ += old.charged;
        if (it->second.file_name != file_name) old_path = d.PathOf(it->second.file_name);
        existing = std::move(it->second.handle);  // released below, without locks
        it->second = std::move(e);
      } else {
        d.index_.emplace(key, std::move(e));
      }
      d.dirty_.erase(key);
      d.filling_paths_.erase(path);
      d.RefreshGauge();
    }
  }
  if (!s.ok()) return fail(s);  // the handle was charged nothing
  d.model.SetHeld(key, true);
  if (!old_path.empty()) ::unlink(old_path.c_str());
  d.fills->Increment();
  return Status::Ok();
}

}  // namespace shadowfs::shadow
