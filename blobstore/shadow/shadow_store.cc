#include "blobstore/shadow/shadow_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "blobstore/base/digest.h"
#include "blobstore/base/executor.h"
#include "blobstore/base/logging.h"
#include "blobstore/base/pid_lock.h"
#include "blobstore/shadow/shadow_store_impl.h"
#include "blobstore/shadow/shadow_writer.h"

namespace shadowfs::shadow {

using base::Result;
using base::Status;
using base::WallTime;

namespace {

int64_t ToMicros(WallTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
WallTime FromMicros(int64_t us) { return WallTime(std::chrono::microseconds(us)); }

std::optional<Origin> ParseOrigin(std::string_view s) {
  for (Origin o : {Origin::kPrefetch, Origin::kRead, Origin::kWrite, Origin::kManual}) {
    if (OriginName(o) == s) return o;
  }
  return std::nullopt;
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::Ok();
  return base::ErrnoStatus(errno, "cannot create " + path);
}

}  // namespace

std::string_view OriginName(Origin origin) {
  switch (origin) {
    case Origin::kPrefetch:
      return "prefetch";
    case Origin::kRead:
      return "read";
    case Origin::kWrite:
      return "write";
    case Origin::kManual:
      return "manual";
  }
  return "read";
}

std::string_view MissName(Miss miss) {
  switch (miss) {
    case Miss::kNone:
      return "hit";
    case Miss::kNoShadow:
      return "no_shadow";
    case Miss::kPartial:
      return "partial";
    case Miss::kNotYetValid:
      return "not_yet_valid";
    case Miss::kExpired:
      return "expired";
    case Miss::kLowConfidence:
      return "low_confidence";
    case Miss::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

ShadowHandle::~ShadowHandle() {
  // A doomed file's blocks are freed when its last descriptor closes: close, then un-count.
  file.reset();
  base::MutexLock lock(&store->mu_);
  store->used_ -= charged;
  if (doomed) store->doomed_bytes_ -= charged;
  store->RefreshGauge();
  store->space_cv_.SignalAll();
}

ShadowStore::Impl::Impl(ShadowStoreOptions options_in, base::Runtime runtime_in,
                        base::ReuseScorer* scorer_in)
    : options(std::move(options_in)),
      runtime(runtime_in),
      scorer(scorer_in),
      shadows_dir(options.dir + "/shadows"),
      tmp_dir(options.dir + "/tmp"),
      staging_dir(options.dir + "/staging"),
      model(options.prior_changes_per_day) {
  base::MetricsRegistry& m = *runtime.metrics;
  for (int i = 0; i < 7; ++i) {
    reads[i] = &m.GetCounter("shadowfs_shadow_reads_total", "Shadow store reads by outcome",
                             {{"result", std::string(MissName(static_cast<Miss>(i)))}});
  }
  bytes_served = &m.GetCounter("shadowfs_shadow_bytes_served_total", "Bytes served from shadows");
  evictions = &m.GetCounter("shadowfs_shadow_evictions_total", "Shadows evicted for space");
  expirations = &m.GetCounter("shadowfs_shadow_expirations_total", "Shadows removed at expiry");
  drops = &m.GetCounter("shadowfs_shadow_drops_total", "Shadows dropped (stale or by request)");
  corrupt_chunks =
      &m.GetCounter("shadowfs_shadow_corrupt_chunks_total", "Chunks that failed verification");
  fills = &m.GetCounter("shadowfs_shadow_fills_total", "Fill calls that stored data");
  fill_failures = &m.GetCounter("shadowfs_shadow_fill_failures_total", "Fill calls that failed");
  no_space = &m.GetCounter("shadowfs_shadow_no_space_total", "Fills refused for lack of space");
  store_bytes = &m.GetGauge("shadowfs_shadow_store_bytes", "Bytes charged against the cap");
  shadow_count = &m.GetGauge("shadowfs_shadow_store_shadows", "Shadows in the store");
  promotions = &m.GetCounter("shadowfs_shadow_promotions_total",
                             "Shadows rewritten with raw chunks because they are hot");
  promoted_bytes = &m.GetCounter("shadowfs_shadow_promoted_bytes_total",
                                 "Bytes of the raw shadow files written by promotions");
  promotions_refused = &m.GetCounter("shadowfs_shadow_promotions_refused_total",
                                     "Promotions skipped: no room without evicting hotter shadows");
  prefetches_refused =
      &m.GetCounter("shadowfs_shadow_prefetches_refused_total",
                    "Prefetch fills refused: no room without evicting shadows worth more");
}

ShadowStore::Impl::~Impl() {
  {
    base::MutexLock lock(&mu_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  promote_cv_.SignalAll();
  if (promoter.joinable()) promoter.join();
  if (flusher.joinable()) flusher.join();
  Status s = FlushNow();
  if (!s.ok()) {
    base::LogStream(*runtime.logger, base::LogLevel::kError)
        << "shadow store: final catalog flush failed: " << s.ToString();
  }
  // Index handles must die without mu_ held (their destructors take it).
  std::map<std::string, IndexEntry, std::less<>> index;
  {
    base::MutexLock lock(&mu_);
    index.swap(index_);
  }
}

ShadowStore::Impl::KeyClaim::KeyClaim(Impl* impl, std::string_view key) : impl_(impl), key_(key) {
  base::MutexLock lock(&impl_->mu_);
  while (impl_->busy_keys_.contains(key_)) impl_->busy_cv_.Wait(&impl_->mu_);
  impl_->busy_keys_.insert(key_);
}

ShadowStore::Impl::KeyClaim::~KeyClaim() {
  base::MutexLock lock(&impl_->mu_);
  impl_->busy_keys_.erase(key_);
  impl_->busy_cv_.SignalAll();
}

uint64_t ChargeFor(const std::string& path, uint64_t file_size) {
  struct stat st;
  uint64_t blocks = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
  return std::max(RoundUpToBlock(file_size), blocks);
}

std::string ShadowStore::Impl::FileNameFor(std::string_view key, std::string_view etag) {
  std::string input(key);
  input.push_back('\0');
  input.append(etag);
  std::string hex = base::Sha256Hex(input).substr(0, 40);
  uint64_t id;
  {
    base::MutexLock lock(&mu_);
    id = ++next_file_id_;
  }
  // Unique across restarts too: the time of creation and a counter.
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  char unique[40];
  std::snprintf(unique, sizeof(unique), "-%llx-%llx", static_cast<unsigned long long>(now),
                static_cast<unsigned long long>(id));
  return hex.substr(0, 2) + "/" + hex + unique + ".shadow";
}

void ShadowStore::Impl::RefreshGauge() {
  store_bytes->Set(static_cast<double>(used_));
  shadow_count->Set(static_cast<double>(index_.size()));
}

CatalogRow ShadowStore::Impl::RowOf(const IndexEntry& e) const {
  ShadowStats st = e.handle->file->stats();
  const ShadowInfo& i = e.info;
  CatalogRow r;
  r.key = i.key;
  r.etag = i.etag;
  r.version_id = i.version_id;
  r.size = i.size;
  r.bytes_stored = st.file_size;
  r.chunk_size = e.handle->file->chunk_size();
  r.chunk_count = e.handle->file->chunk_count();
  r.chunks_present = st.present_chunks;
  r.chunks_none = st.chunks_by_codec[0];
  r.chunks_lz4 = st.chunks_by_codec[1];
  r.chunks_zstd = st.chunks_by_codec[2];
  r.origin = std::string(OriginName(i.origin));
  r.created_us = ToMicros(i.created);
  r.valid_from_us = ToMicros(i.valid_from);
  r.expires_at_us = ToMicros(i.expires_at);
  r.last_verified_us = ToMicros(i.last_verified);
  r.last_access_us = ToMicros(i.last_access);
  r.hits = i.hits;
  r.pinned = i.pinned;
  r.file_name = e.file_name;
  return r;
}

ShadowInfo ShadowStore::Impl::InfoOf(const IndexEntry& e, WallTime now) const {
  ShadowInfo info = e.info;
  ShadowStats st = e.handle->file->stats();
  info.bytes_stored = st.file_size;
  info.chunk_size = e.handle->file->chunk_size();
  info.chunk_count = e.handle->file->chunk_count();
  info.chunks_present = st.present_chunks;
  for (int c = 0; c < kCodecCount; ++c) info.chunks_by_codec[c] = st.chunks_by_codec[c];
  info.confidence = model.Confidence(info.key, info.last_verified, now);
  return info;
}

void ShadowStore::Impl::DetachLocked(const std::vector<std::string>& keys,
                                     std::vector<std::string>* paths,
                                     std::vector<std::shared_ptr<ShadowHandle>>* release) {
  for (const std::string& key : keys) {
    auto it = index_.find(key);
    if (it == index_.end()) continue;
    ShadowHandle& h = *it->second.handle;
    h.doomed = true;
    doomed_bytes_ += h.charged;
    paths->push_back(PathOf(it->second.file_name));
    release->push_back(std::move(it->second.handle));
    dirty_.erase(key);
    index_.erase(it);
  }
  RefreshGauge();
}

Status ShadowStore::Impl::Remove(const std::vector<std::string>& keys, base::Counter* counter) {
  std::vector<std::shared_ptr<ShadowHandle>> release;  // destroyed last, without locks
  std::vector<std::string> paths;
  Status s;
  {
    base::MutexLock catalog_lock(&catalog_mu_);
    {
      base::MutexLock lock(&mu_);
      DetachLocked(keys, &paths, &release);
    }
    // Row first, then the file: a crash in between leaves a file without a row (an orphan).
    if (!paths.empty()) s = catalog->Delete(keys);
  }
  for (const std::string& p : paths) ::unlink(p.c_str());
  for (const std::string& k : keys) model.SetHeld(k, false);
  if (counter) counter->Increment(release.size());
  return s;
}

Result<std::unique_ptr<ShadowStore>> ShadowStore::Open(ShadowStoreOptions options,
                                                       base::Runtime runtime,
                                                       base::ReuseScorer* scorer) {
  if (options.dir.empty()) return Status::InvalidArgument("shadow store: no directory given");
  SHADOWFS_RETURN_IF_ERROR(format::ValidateChunkSize(options.chunk_size));
  if (options.promoted_chunk_size != 0) {
    SHADOWFS_RETURN_IF_ERROR(format::ValidateChunkSize(options.promoted_chunk_size));
  }
  if (!(options.raw_below_fill >= 0 && options.raw_below_fill <= 1)) {
    return Status::InvalidArgument("shadow store: raw_below_fill must be within [0, 1]");
  }
  if (options.ranged_chunk_size != 0) {
    SHADOWFS_RETURN_IF_ERROR(format::ValidateChunkSize(options.ranged_chunk_size));
  }
  auto impl = std::make_unique<Impl>(std::move(options), runtime, scorer);
  SHADOWFS_RETURN_IF_ERROR(MakeDir(impl->options.dir));
  // One process per store: each keeps its own in-memory index and Open clears tmp/, so a second
  // process would work from a stale index and delete the first one's writes in progress.
  SHADOWFS_ASSIGN_OR_RETURN(
      impl->process_lock,
      base::PidLock::Acquire(impl->options.dir + "/store.lock",
                             "shadow store " + impl->options.dir + " is in use"));
  SHADOWFS_RETURN_IF_ERROR(MakeDir(impl->shadows_dir));
  SHADOWFS_RETURN_IF_ERROR(MakeDir(impl->tmp_dir));
  SHADOWFS_ASSIGN_OR_RETURN(impl->catalog,
                            Catalog::Open(impl->options.dir + "/catalog.db", runtime.metrics));
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<CatalogRow> rows, impl->catalog->LoadShadows());
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<ChangeStatRow> stats, impl->catalog->LoadChangeStats());
  impl->model.Load(stats);
  SHADOWFS_RETURN_IF_ERROR(impl->OpenStaging());

  // What is on disk. Temp files are from writers that crashed; nothing runs yet to own them.
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(impl->tmp_dir, ec)) fs::remove_all(e.path(), ec);
  std::set<std::string> on_disk;
  for (const auto& e : fs::recursive_directory_iterator(impl->shadows_dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    std::string rel = fs::relative(e.path(), impl->shadows_dir, ec).string();
    if (rel.find(ShadowWriter::TempSuffix()) != std::string::npos) {
      fs::remove(e.path(), ec);
    } else {
      on_disk.insert(rel);
    }
  }
  if (ec) return Status::IOError("cannot list " + impl->shadows_dir + ": " + ec.message());

  // Opened eagerly: the cap needs every file's size, a damaged header or index is better found
  // now than on a read, and validating costs 32 bytes of index per chunk.
  std::vector<std::string> stale_rows;
  {
    for (CatalogRow& r : rows) {
      auto disk = on_disk.find(r.file_name);
      std::optional<Origin> origin = ParseOrigin(r.origin);
      if (disk == on_disk.end() || !origin) {
        stale_rows.push_back(r.key);
        continue;
      }
      on_disk.erase(disk);
      std::string path = impl->PathOf(r.file_name);
      auto file = ShadowFile::Open(path, r.key, r.etag);
      if (!file.ok()) {
        base::LogStream(*runtime.logger, base::LogLevel::kWarning)
            << "shadow store: discarding the shadow of '" << r.key
            << "': " << file.status().ToString();
        ::unlink(path.c_str());
        stale_rows.push_back(r.key);
        continue;
      }
      auto handle = std::make_shared<ShadowHandle>(impl.get(), std::move(*file));
      IndexEntry e;
      e.info.key = r.key;
      e.info.etag = r.etag;
      e.info.version_id = r.version_id;
      e.info.size = handle->file->object_size();
      e.info.origin = *origin;
      e.info.created = FromMicros(r.created_us);
      e.info.valid_from = FromMicros(r.valid_from_us);
      e.info.expires_at = FromMicros(r.expires_at_us);
      e.info.last_verified = FromMicros(r.last_verified_us);
      e.info.last_access = FromMicros(r.last_access_us);
      e.info.hits = r.hits;
      e.info.pinned = r.pinned;
      e.file_name = r.file_name;
      uint64_t charge = ChargeFor(path, handle->file->stats().file_size);
      e.handle = handle;
      impl->model.SetHeld(r.key, true);
      base::MutexLock lock(&impl->mu_);
      handle->charged = charge;
      impl->used_ += charge;
      impl->index_.emplace(r.key, std::move(e));
      impl->RefreshGauge();
    }
  }
  for (const std::string& orphan : on_disk) ::unlink(impl->PathOf(orphan).c_str());
  SHADOWFS_RETURN_IF_ERROR(impl->catalog->Delete(stale_rows));
  if (!on_disk.empty() || !stale_rows.empty()) {
    base::LogStream(*runtime.logger, base::LogLevel::kInfo)
        << "shadow store " << impl->options.dir << ": removed " << on_disk.size()
        << " shadow files without a row and " << stale_rows.size() << " rows without a file";
  }
  Impl* raw = impl.get();
  impl->flusher = std::thread([raw] {
    base::SetThreadName("shadow-flush");
    raw->FlushLoop();
  });
  if (impl->options.promote_after_passes > 0) {
    impl->promoter = std::thread([raw] {
      base::SetThreadName("shadow-promote");
      raw->PromoteLoop();
    });
  }
  return std::unique_ptr<ShadowStore>(new ShadowStore(std::move(impl)));
}

ShadowStore::ShadowStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShadowStore::~ShadowStore() = default;

void ShadowStore::Impl::FlushLoop() {
  for (;;) {
    {
      base::MutexLock lock(&mu_);
      if (!stopping_) stop_cv_.WaitFor(&mu_, options.flush_interval);
      if (stopping_) return;
    }
    Status s = FlushNow();
    if (!s.ok()) {
      base::LogStream(*runtime.logger, base::LogLevel::kWarning)
          << "shadow store: catalog flush failed (will retry): " << s.ToString();
    }
  }
}

Status ShadowStore::Impl::FlushNow() {
  if (!catalog) return Status::Ok();  // Open failed before the catalog opened
  base::MutexLock catalog_lock(&catalog_mu_);
  std::vector<CatalogRow> rows;
  std::vector<std::string> keys;
  {
    base::MutexLock lock(&mu_);
    for (const std::string& key : dirty_) {
      auto it = index_.find(key);
      if (it == index_.end()) continue;
      rows.push_back(RowOf(it->second));
      keys.push_back(key);
    }
    dirty_.clear();
  }
  std::vector<ChangeStatRow> stats = model.TakeDirty();
  Status s = catalog->WriteBatch(rows, stats);
  if (!s.ok()) {
    model.RestoreDirty(stats);
    base::MutexLock lock(&mu_);
    for (std::string& k : keys) dirty_.insert(std::move(k));
  }
  return s;
}

Result<ShadowRead> ShadowStore::Read(std::string_view key, uint64_t offset, std::span<char> out,
                                     ReadContext& ctx) {
  Impl& d = *impl_;
  ShadowRead r;
  std::shared_ptr<ShadowHandle> handle;
  // What the serving rule needs, not a whole ShadowInfo: this runs for every read.
  WallTime valid_from, expires_at, last_verified;
  {
    base::MutexLock lock(&d.mu_);
    auto it = d.index_.find(key);
    if (it != d.index_.end()) {
      const ShadowInfo& info = it->second.info;
      handle = it->second.handle;
      r.etag = info.etag;
      valid_from = info.valid_from;
      expires_at = info.expires_at;
      last_verified = info.last_verified;
    }
  }
  auto miss = [&](Miss m) {
    r.miss = m;
    d.reads[static_cast<int>(m)]->Increment();
    return r;
  };
  if (!handle) return miss(Miss::kNoShadow);
  WallTime now = d.runtime.clock->Now();
  if (valid_from > now) return miss(Miss::kNotYetValid);
  if (expires_at != WallTime{} && now >= expires_at) return miss(Miss::kExpired);
  const ShadowFile& file = *handle->file;
  uint64_t size = file.object_size();
  uint64_t end = offset >= size ? offset : std::min<uint64_t>(size, offset + out.size());
  if (offset < size) {
    // Presence is checked before confidence: revalidating a shadow that cannot serve is useless.
    for (uint64_t c = offset / file.chunk_size(); c * file.chunk_size() < end; ++c) {
      if (!file.IsPresent(static_cast<uint32_t>(c))) {
        r.first_missing_chunk = static_cast<uint32_t>(c);
        return miss(Miss::kPartial);
      }
    }
  }
  if (d.model.Confidence(key, last_verified, now) < d.options.min_confidence) {
    return miss(Miss::kLowConfidence);
  }
  if (offset < size) {
    SHADOWFS_ASSIGN_OR_RETURN(RangeRead rr, file.Read(offset, out, ctx));
    if (rr.stop == RangeRead::Stop::kAbsent) {
      r.first_missing_chunk = rr.chunk;
      return miss(Miss::kPartial);
    }
    if (rr.stop == RangeRead::Stop::kCorrupt) {
      d.corrupt_chunks->Increment();
      base::LogStream(*d.runtime.logger, base::LogLevel::kWarning)
          << "shadow of '" << key << "': dropping chunk " << rr.chunk << ": "
          << rr.error.ToString();
      ctx.ForgetCachedChunk();
      Status s = handle->file->DropChunk(rr.chunk);
      if (!s.ok()) return s;
      r.first_missing_chunk = rr.chunk;
      return miss(Miss::kCorrupt);
    }
    r.bytes = rr.bytes;
  }
  {
    base::MutexLock lock(&d.mu_);
    auto it = d.index_.find(key);
    if (it != d.index_.end() && it->second.handle == handle) {
      ++it->second.info.hits;
      it->second.info.last_access = now;
      d.dirty_.insert(it->first);
      d.NoteServedLocked(it->first, it->second, r.bytes);
    }
    // `handle` may be the last reference to a doomed file: release it after unlocking.
  }
  d.bytes_served->Increment(r.bytes);
  return miss(Miss::kNone);
}

void ShadowStore::Unmap(std::string_view key) {
  std::shared_ptr<ShadowHandle> handle;
  {
    base::MutexLock lock(&impl_->mu_);
    auto it = impl_->index_.find(key);
    if (it == impl_->index_.end()) return;
    handle = it->second.handle;
  }
  handle->file->Unmap();
  // `handle` may be the last reference to a doomed file: released here, unlocked.
}

std::optional<ShadowInfo> ShadowStore::Find(std::string_view key) const {
  WallTime now = impl_->runtime.clock->Now();
  base::MutexLock lock(&impl_->mu_);
  auto it = impl_->index_.find(key);
  if (it == impl_->index_.end()) return std::nullopt;
  return impl_->InfoOf(it->second, now);
}

bool ShadowStore::Holds(std::string_view key, std::string_view etag, uint64_t offset,
                        uint64_t length) const {
  std::shared_ptr<ShadowHandle> handle;
  {
    base::MutexLock lock(&impl_->mu_);
    auto it = impl_->index_.find(key);
    if (it == impl_->index_.end()) return false;
    handle = it->second.handle;
  }
  const ShadowFile& file = *handle->file;
  if (file.etag() != etag) return false;
  const uint64_t size = file.object_size();
  if (size == 0) return file.complete();
  if (offset >= size) return false;
  const uint64_t end = length == 0 ? size : std::min(size, offset + length);
  for (uint64_t i = offset / file.chunk_size(); i * file.chunk_size() < end; ++i) {
    if (!file.IsPresent(static_cast<uint32_t>(i))) return false;
  }
  return true;
}

uint32_t ShadowStore::FillChunkSize(std::string_view key, std::string_view etag,
                                    uint64_t offset) const {
  {
    base::MutexLock lock(&impl_->mu_);
    auto it = impl_->index_.find(key);
    if (it != impl_->index_.end() && it->second.handle->file->etag() == etag) {
      return it->second.handle->file->chunk_size();
    }
  }
  const uint32_t ranged = impl_->RangedChunkSize();
  return offset < ranged ? impl_->options.chunk_size : ranged;
}

std::vector<ShadowInfo> ShadowStore::List(std::string_view prefix, size_t limit) const {
  WallTime now = impl_->runtime.clock->Now();
  base::MutexLock lock(&impl_->mu_);
  std::vector<ShadowInfo> out;
  for (auto it = impl_->index_.lower_bound(prefix);
       it != impl_->index_.end() && out.size() < limit &&
       std::string_view(it->first).starts_with(prefix);
       ++it) {
    out.push_back(impl_->InfoOf(it->second, now));
  }
  return out;
}

Result<bool> ShadowStore::Verify(std::string_view key, std::string_view etag, WallTime when) {
  Impl& d = *impl_;
  Impl::KeyClaim claim(&d, key);
  bool matched = false;
  {
    base::MutexLock lock(&d.mu_);
    auto it = d.index_.find(key);
    if (it == d.index_.end()) return false;
    ShadowInfo& info = it->second.info;
    double exposure = std::chrono::duration<double>(when - info.last_verified).count();
    matched = info.etag == etag;
    d.model.Observe(key, exposure, !matched);
    if (matched) {
      info.last_verified = std::max(info.last_verified, when);
      d.dirty_.insert(it->first);
      return true;
    }
  }
  SHADOWFS_RETURN_IF_ERROR(d.Remove({std::string(key)}, d.drops));
  return false;
}

Status ShadowStore::ObserveDeleted(std::string_view key, WallTime when) {
  Impl& d = *impl_;
  Impl::KeyClaim claim(&d, key);
  {
    base::MutexLock lock(&d.mu_);
    auto it = d.index_.find(key);
    if (it == d.index_.end()) return Status::Ok();
    double exposure = std::chrono::duration<double>(when - it->second.info.last_verified).count();
    d.model.Observe(key, exposure, true);
  }
  return d.Remove({std::string(key)}, d.drops);
}

Status ShadowStore::Drop(std::string_view key) {
  Impl::KeyClaim claim(impl_.get(), key);
  return impl_->Remove({std::string(key)}, impl_->drops);
}

Status ShadowStore::SetPinned(std::string_view key, bool pinned) {
  {
    base::MutexLock lock(&impl_->mu_);
    auto it = impl_->index_.find(key);
    if (it == impl_->index_.end()) {
      return Status::NotFound("no shadow of '" + std::string(key) + "'");
    }
    it->second.info.pinned = pinned;
    impl_->dirty_.insert(it->first);
  }
  return impl_->FlushNow();  // a user's decision: durable before we answer
}

Status ShadowStore::SetExpiry(std::string_view key, std::optional<std::chrono::seconds> ttl) {
  WallTime now = impl_->runtime.clock->Now();
  {
    base::MutexLock lock(&impl_->mu_);
    auto it = impl_->index_.find(key);
    if (it == impl_->index_.end()) {
      return Status::NotFound("no shadow of '" + std::string(key) + "'");
    }
    it->second.info.expires_at = ttl ? now + *ttl : WallTime{};
    impl_->dirty_.insert(it->first);
  }
  return impl_->FlushNow();
}

double ShadowStore::Confidence(std::string_view key, WallTime last_verified) const {
  return impl_->model.Confidence(key, last_verified, impl_->runtime.clock->Now());
}

uint64_t ShadowStore::used_bytes() const {
  base::MutexLock lock(&impl_->mu_);
  return impl_->used_;
}

void ShadowStore::SetScorer(base::ReuseScorer* scorer) {
  // Eviction consults the scorer with mu_ held: once this returns, no thread is inside the old
  // one, so its owner may destroy it.
  base::MutexLock lock(&impl_->mu_);
  impl_->scorer = scorer;
}

uint64_t ShadowStore::capacity_bytes() const { return impl_->options.capacity_bytes; }
double ShadowStore::min_confidence() const { return impl_->options.min_confidence; }
uint32_t ShadowStore::chunk_size() const { return impl_->options.chunk_size; }
Status ShadowStore::Flush() { return impl_->FlushNow(); }

}  // namespace shadowfs::shadow
