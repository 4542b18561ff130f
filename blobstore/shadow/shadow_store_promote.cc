// Promotion of hot shadows to raw chunks: noticed on the read path, done on the "shadow-promote"
// thread (or by ShadowStore::Promote). Decompression is slower than the kernel's copy out of the
// page cache, so a shadow that is read again and again is worth its raw size. Its chunks are
// split to promoted_chunk_size on the way: a read verifies whole chunks, so smaller ones cost
// less for reads smaller than a chunk or not aligned to one. A shadow stored raw already is left
// as it is: rewriting it whole for that gain alone (about 15% of the CPU of such reads, none when
// the disk is the limit) costs more I/O than it saves.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "blobstore/base/logging.h"
#include "blobstore/shadow/shadow_store.h"
#include "blobstore/shadow/shadow_store_impl.h"
#include "blobstore/shadow/shadow_writer.h"

namespace shadowfs::shadow {

using base::Status;
using base::WallTime;

namespace {

// Keys waiting for the promoter. A rewrite takes about a second per 100 MiB, so a longer queue
// would only hold keys that are no longer hot by the time their turn comes.
constexpr size_t kPromoteQueueMax = 64;

}  // namespace

uint32_t ShadowStore::Impl::MergedChunkSize(const ShadowFile& f) const {
  // Never past the size new shadows get: a store configured with small chunks keeps them.
  const uint32_t size = std::min(options.promoted_chunk_size, options.chunk_size);
  if (size == 0 || f.chunk_size() >= size || f.object_size() <= f.chunk_size() || !f.complete()) {
    return 0;
  }
  return size;
}

uint32_t ShadowStore::Impl::PromotedChunkSize(uint64_t object_size, uint32_t chunk_size) const {
  uint32_t size = options.promoted_chunk_size;
  // A blob that fits one chunk of the smaller size is one chunk either way.
  if (size == 0 || size >= chunk_size || object_size <= size) return chunk_size;
  // No smaller than the format's chunk count allows (objects of terabytes).
  while (size < chunk_size && !format::ChunkCountFor(object_size, size).ok()) size *= 2;
  return size;
}

void ShadowStore::Impl::NoteServedLocked(const std::string& key, IndexEntry& e, uint64_t bytes) {
  const uint64_t passes = options.promote_after_passes;
  if (passes == 0 || e.promote_queued) return;
  e.served += bytes;
  // A leaf lock and a copy of a few counters: cheap next to the read that got us here.
  ShadowStats st = e.handle->file->stats();
  if (e.served < passes * std::max<uint64_t>(st.present_raw_bytes, 1)) return;
  if (st.chunks_by_codec[static_cast<int>(Codec::kNone)] == st.present_chunks &&
      MergedChunkSize(*e.handle->file) == 0) {
    return;
  }
  if (promote_queue_.size() >= kPromoteQueueMax) return;  // noticed again on a later read
  e.promote_queued = true;
  promote_queue_.push_back(key);
  promote_cv_.Signal();
}

void ShadowStore::Impl::PromoteLoop() {
  for (;;) {
    std::string key;
    {
      base::MutexLock lock(&mu_);
      while (!stopping_ && promote_queue_.empty()) promote_cv_.Wait(&mu_);
      if (stopping_) return;
      key = std::move(promote_queue_.front());
      promote_queue_.pop_front();
    }
    Status s = PromoteNow(key);
    if (!s.ok() && s.code() != base::StatusCode::kNoSpace && !s.IsNotFound()) {
      base::LogStream(*runtime.logger, base::LogLevel::kWarning)
          << "shadow store: promotion of '" << key << "' failed: " << s.ToString();
    }
    base::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second.promote_queued = false;
      // A refused promotion is retried only after the shadow has proved hot all over again, by
      // which time colder shadows may have left room.
      if (!s.ok()) it->second.served = 0;
    }
  }
}

Status ShadowStore::Promote(std::string_view key) { return impl_->PromoteNow(std::string(key)); }

Status ShadowStore::Impl::ReadChunkToPromote(const std::string& key, ShadowHandle& old,
                                             uint32_t index, std::span<char> raw,
                                             ReadContext& read_ctx) {
  {
    base::MutexLock lock(&mu_);
    if (stopping_) return Status::Unavailable("shadow store is closing");
  }
  if (!old.file->IsPresent(index)) return Status::NotFound("chunk absent");
  Status rs = old.file->ReadChunk(index, raw, read_ctx);  // NotFound: a reader dropped it
  if (rs.code() != base::StatusCode::kCorruption) return rs;
  corrupt_chunks->Increment();
  base::LogStream(*runtime.logger, base::LogLevel::kWarning)
      << "shadow of '" << key << "': dropping chunk " << index
      << " (found while promoting): " << rs.ToString();
  SHADOWFS_RETURN_IF_ERROR(old.file->DropChunk(index));
  return Status::NotFound("chunk dropped as corrupt");
}

Status ShadowStore::Impl::MergeChunks(const std::string& key, ShadowHandle& old,
                                      ReadContext& read_ctx, CodecContext& codec_ctx,
                                      ShadowWriter& writer) {
  const ShadowFile& file = *old.file;
  const uint32_t per = writer.chunk_size() / file.chunk_size();  // old chunks per new one
  std::vector<char> buffer(writer.chunk_size());
  for (uint32_t j = 0; uint64_t{j} * per < file.chunk_count(); ++j) {
    // A new chunk is stored only whole: an old one dropped meanwhile (a reader found it corrupt)
    // leaves the new one absent, to be fetched again like any missing chunk.
    uint64_t at = 0;
    bool whole = true;
    for (uint32_t i = j * per;
         whole && i < std::min<uint64_t>(file.chunk_count(), uint64_t{j + 1} * per); ++i) {
      std::span<char> raw(buffer.data() + at, file.chunk_length(i));
      Status rs = ReadChunkToPromote(key, old, i, raw, read_ctx);
      whole = !rs.IsNotFound();
      if (whole) SHADOWFS_RETURN_IF_ERROR(rs);
      at += raw.size();
    }
    if (!whole) continue;
    SHADOWFS_RETURN_IF_ERROR(writer.PutChunk(
        j, std::span<const char>(buffer.data(), writer.chunk_length(j)), codec_ctx));
  }
  return writer.Commit();
}

Status ShadowStore::Impl::PromoteNow(const std::string& key) {
  // The claim keeps Fill, Drop, Verify and eviction away from this key until the swap is done,
  // so the file being copied is the one in the index throughout.
  KeyClaim claim(this, key);
  std::shared_ptr<ShadowHandle> old;  // released last, without locks
  std::string etag;
  uint64_t reserve = 0;
  double value_raw = 0;
  uint32_t chunk_size = 0;
  uint32_t split = 1;     // new chunks per old one
  uint32_t merge_to = 0;  // a complete shadow in small chunks: merged into chunks of this size
  {
    base::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return Status::NotFound("no shadow of '" + key + "'");
    old = it->second.handle;
    etag = it->second.info.etag;
    const ShadowFile& f = *old->file;
    ShadowStats st = f.stats();
    merge_to = MergedChunkSize(f);
    if (st.chunks_by_codec[static_cast<int>(Codec::kNone)] == st.present_chunks && merge_to == 0) {
      return Status::Ok();
    }
    chunk_size = merge_to != 0 ? merge_to : PromotedChunkSize(f.object_size(), f.chunk_size());
    split = merge_to != 0 ? 1 : f.chunk_size() / chunk_size;
    const uint64_t new_chunks = merge_to != 0 ? (f.object_size() + merge_to - 1) / merge_to
                                              : uint64_t{f.chunk_count()} * split;
    const uint64_t new_present = merge_to != 0 ? new_chunks : uint64_t{st.present_chunks} * split;
    // Every chunk raw, each perhaps after padding to a page boundary.
    reserve = RoundUpToBlock(format::HeaderSizeFor(key.size(), etag.size()) +
                             uint64_t{format::kEntrySize} * new_chunks + st.present_raw_bytes +
                             new_present * format::MaxPadding(chunk_size)) +
              kMetadataSlack;
    // What the shadow will be worth per byte once raw: the extra bytes save CPU, not a fetch,
    // so only shadows worth less than that may make room for them.
    value_raw = EvictionValue(key, it->second, runtime.clock->Now(), reserve);
  }
  Status s = Reserve(key, reserve, value_raw, promotions_refused);
  if (!s.ok()) {
    return Status(s.code(), "promotion of '" + key + "' to raw chunks skipped: " + s.message());
  }
  const ShadowFile& file = *old->file;
  const std::string file_name = FileNameFor(key, etag);
  const std::string path = PathOf(file_name);
  {
    base::MutexLock lock(&mu_);
    filling_paths_.insert(path);
  }
  auto fail = [&](Status status) {
    base::MutexLock lock(&mu_);
    filling_paths_.erase(path);
    used_ -= reserve;
    RefreshGauge();
    space_cv_.SignalAll();
    return status;
  };
  s = [&]() -> Status {
    std::string dir = path.substr(0, path.rfind('/'));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return base::ErrnoStatus(errno, "cannot create " + dir);
    }
    ShadowOptions so{.chunk_size = chunk_size, .codec = {.preferred = Codec::kNone}};
    SHADOWFS_ASSIGN_OR_RETURN(auto writer,
                              ShadowWriter::Create(path, key, etag, file.object_size(), so));
    ReadContext read_ctx;
    CodecContext codec_ctx;
    if (merge_to != 0) return MergeChunks(key, *old, read_ctx, codec_ctx, *writer);
    std::vector<char> buffer(file.chunk_size());
    for (uint32_t i = 0; i < file.chunk_count(); ++i) {
      std::span<char> raw(buffer.data(), file.chunk_length(i));
      Status rs = ReadChunkToPromote(key, *old, i, raw, read_ctx);
      if (rs.IsNotFound()) continue;
      SHADOWFS_RETURN_IF_ERROR(rs);
      for (uint32_t part = 0; uint64_t{part} * chunk_size < raw.size(); ++part) {
        const uint32_t index = i * split + part;
        SHADOWFS_RETURN_IF_ERROR(writer->PutChunk(
            index, raw.subspan(size_t{part} * chunk_size, writer->chunk_length(index)), codec_ctx));
      }
    }
    return writer->Commit();
  }();
  if (!s.ok()) return fail(s);
  auto opened = ShadowFile::Open(path, key, etag);
  if (!opened.ok()) {
    ::unlink(path.c_str());
    return fail(opened.status());
  }
  auto handle = std::make_shared<ShadowHandle>(this, std::move(*opened));
  const uint64_t file_size = handle->file->stats().file_size;
  const uint64_t charge = ChargeFor(path, file_size);
  std::shared_ptr<ShadowHandle> replaced;  // released last, without locks
  std::string old_path;
  {
    base::MutexLock catalog_lock(&catalog_mu_);
    // The new file is durable; now the row. A crash before the row commits leaves the new file
    // without a row (removed at Open) and the old one still serving; after it, the reverse.
    CatalogRow row;
    {
      base::MutexLock lock(&mu_);
      auto it = index_.find(key);
      if (it == index_.end() || it->second.handle != old) {
        s = Status::Conflict("the shadow of '" + key + "' changed during its promotion");
      } else {
        IndexEntry e;
        e.info = it->second.info;
        e.file_name = file_name;
        e.handle = handle;
        row = RowOf(e);
      }
    }
    if (s.ok()) s = catalog->Upsert(row);
    if (s.ok()) {
      base::MutexLock lock(&mu_);
      auto it = index_.find(key);  // unchanged: the claim and catalog_mu_ are held
      ShadowHandle& o = *it->second.handle;
      o.doomed = true;
      doomed_bytes_ += o.charged;
      old_path = PathOf(it->second.file_name);
      replaced = std::move(it->second.handle);
      it->second.handle = handle;
      it->second.file_name = file_name;
      it->second.served = 0;
      handle->charged = charge;
      used_ = used_ - reserve + charge;
      filling_paths_.erase(path);
      // A batched row still pending is written from the new entry, so it stays dirty.
      RefreshGauge();
      space_cv_.SignalAll();
    }
  }
  if (!s.ok()) {
    handle.reset();  // charged nothing
    ::unlink(path.c_str());
    return fail(s);
  }
  ::unlink(old_path.c_str());
  promotions->Increment();
  promoted_bytes->Increment(file_size);
  return Status::Ok();
}

}  // namespace shadowfs::shadow
