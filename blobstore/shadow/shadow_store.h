// ShadowStore: the local store of shadows under one directory: shadow files (format.h), an SQLite
// catalog (WAL) mirrored by an in-memory index for the hot path, the confidence model, a hard
// byte cap with eviction by expected value, pins and TTLs. DESIGN.md section 3.
//
// Layout of the store directory:
//   catalog.db           the catalog (SQLite, WAL mode)
//   shadows/XX/<name>    one file per shadow version; <name> derives from the key and ETag, so a
//                        new version never overwrites the file an old reader still has open
//   tmp/                 files being written
//   store.lock           held (flock) by the one process that has the store open
//   reconcile.lock       held (flock) by the one active reconciler of this store
//
// Serving rule, in one function (Read): bytes are served from a shadow iff valid_from <= now,
// it has not expired, every chunk of the range is present and verifies, and its confidence is
// at least min_confidence. Otherwise Read says why not, so the caller can revalidate (a
// low-confidence shadow whose ETag still matches is served after a 304) instead of refetching.
//
// Durability: a shadow file is complete and durable (temp, fsync, rename) before its catalog row
// commits; Open removes files without rows and rows without files. Hot-path bookkeeping (hits,
// last access) is batched and written off the read path.
//
// Capacity: bytes on disk never exceed capacity_bytes. Space is reserved before a chunk is
// written; if it cannot be found by evicting unpinned shadows of lower expected value, the write
// is refused with NoSpace (the caller serves from the primary without caching). The store shares
// its disk with staged writes: the cap in force is lowered so that shadows leave a quarter of the
// disk (at most 1 GiB) free, and shadows are evicted when the disk fills from elsewhere. A shadow
// evicted while a reader has its file open still counts against the cap until that reader lets go.
//
// Heat: chunks are compressed by default (capacity), but decompression makes a cached read cost
// 4-8x a plain page-cache read (tests/bench/README.md). A shadow that has served
// promote_after_passes times its own bytes is promoted: rewritten in the background with every
// chunk raw (a new file, swapped in like a same-version replacement; readers of the old file keep
// it until they let go). The extra bytes are reserved like a fill's, but promotion only evicts
// shadows of lower expected value than the promoted one has at its raw size; otherwise it is
// skipped and retried after another promote_after_passes of reads. Chunks that fail verification
// during the rewrite are dropped, never copied. There is no demotion: eviction handles cooling.
//
// Thread-safe. Lock order: the store's index mutex, then a shadow's file lock; neither is held
// across a read of shadow data, an fsync, or a catalog transaction.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/prefetch.h"
#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/shadow/codec.h"
#include "blobstore/shadow/shadow_file.h"

namespace shadowfs::shadow {

enum class Origin { kPrefetch, kRead, kWrite, kManual };
std::string_view OriginName(Origin origin);  // "prefetch", "read", "write", "manual"

// A snapshot of one shadow's metadata.
struct ShadowInfo {
  std::string key;
  std::string etag;
  std::string version_id;
  uint64_t size = 0;          // of the object
  uint64_t bytes_stored = 0;  // on disk
  uint32_t chunk_size = 0;
  uint32_t chunk_count = 0;
  uint32_t chunks_present = 0;
  std::array<uint32_t, 3> chunks_by_codec{};  // indexed by Codec
  Origin origin = Origin::kRead;
  base::WallTime created{};
  base::WallTime valid_from{};
  base::WallTime expires_at{};  // epoch (zero) = never
  base::WallTime last_verified{};
  base::WallTime last_access{};
  uint64_t hits = 0;
  bool pinned = false;
  double confidence = 0;  // at the time of the snapshot
  bool complete() const { return chunks_present == chunk_count; }
};

// Why a read was not served from a shadow.
enum class Miss {
  kNone,           // served
  kNoShadow,       // no shadow of this key
  kPartial,        // a chunk of the range is absent (first_missing_chunk)
  kNotYetValid,    // valid_from is in the future
  kExpired,        // past expires_at
  kLowConfidence,  // below min_confidence: revalidate with If-None-Match
  kCorrupt,        // a chunk failed its checksum; it was dropped and must be refetched
};
std::string_view MissName(Miss miss);

struct ShadowRead {
  Miss miss = Miss::kNone;
  uint64_t bytes = 0;  // served into out[0, bytes) when miss == kNone
  std::string etag;    // of the shadow consulted, if any (for If-None-Match)
  uint32_t first_missing_chunk = 0;
};

struct ShadowStoreOptions {
  std::string dir;
  uint64_t capacity_bytes = 10ull << 30;
  double min_confidence = 0.9;
  uint32_t chunk_size = 1u << 20;
  // lz4 by default: it decodes at ~2 GB/s a core, zstd at ~1.2 (tests/bench/README.md), and a
  // shadow is read far more often than written.
  CodecOptions codec = {.preferred = Codec::kLz4};
  // Change-rate prior for keys and prefixes never observed: expected version changes per day.
  double prior_changes_per_day = 0.1;
  std::chrono::milliseconds flush_interval{2000};  // batched catalog writes
  // Promote a shadow to raw chunks once reads have served this many times the bytes it holds
  // (counted in memory since it was filled, promoted or the store opened); 0 = never. Measured
  // in bytes rather than reads so that one pass over a file counts once whatever the read size:
  // 2 leaves a file read once (a scan, a copy) compressed, and promotes what is read again.
  uint32_t promote_after_passes = 2;
  // Promotion also splits chunks larger than this (a power of two; 0: keeps the shadow's size).
  // A read of part of a chunk must verify all of it: with 1 MiB chunks a 128 KiB read costs
  // 1.5x a plain file's, and the kernel's 1 MiB requests through FUSE, which end a quarter into
  // a chunk, 1.35x; with 256 KiB chunks both about 1.1x (tests/bench/README.md). Cold shadows
  // keep `chunk_size`, which compresses better and keeps the chunk index small. A blob whose
  // first chunk is incompressible (stored raw whatever the chunk size) gets this size when its
  // shadow is created, from offset 0, and is never rewritten.
  uint32_t promoted_chunk_size = 256u << 10;
  // A shadow created by a fill that starts past offset 0 has chunks of this size (a power of
  // two; 0 or more than chunk_size: chunk_size). Such a file is read where its reader seeks (a
  // Parquet footer, a column chunk, an index page), and every chunk is fetched whole from the
  // primary: in 64 KiB chunks a 64 KiB footer costs 64 KiB, not the 1 MiB around it.
  uint32_t ranged_chunk_size = 64u << 10;
  // Chunks are stored raw while the store holds less than this share of its capacity, and with
  // `codec` above it (0: always with `codec`). A raw chunk serves at the cost of a plain file
  // read; a compressed one costs a decode on every read that the page cache does not spare (lz4
  // decodes at ~3 GB/s against the page cache's ~30 GB/s copy: tests/bench/README.md), so space
  // is traded for CPU only once space is short. Shadows stored raw stay so until evicted.
  double raw_below_fill = 0.5;
};

// A write intent (DESIGN.md section 5): an upload the filesystem owes the primary. Recorded in
// the catalog before the upload starts and removed after the primary acknowledged it, so intents
// found at Open are uploads a crash interrupted. The staging file lives in staging_dir().
struct WriteIntent {
  int64_t id = 0;  // assigned by RecordWriteIntent, increasing in recording order
  std::string key;
  std::string staging_file;  // file name inside staging_dir()
  uint64_t size = 0;
  bool create_only = false;                     // If-None-Match: *
  std::string base_etag;                        // If-Match, unless create_only
  std::map<std::string, std::string> metadata;  // user metadata to upload with
  std::string content_type;
  base::WallTime created{};
  uint32_t attempts = 0;
  std::string last_error;
};

struct FillOptions {
  Origin origin = Origin::kRead;
  std::string version_id;
  // When the shadow may start serving; epoch (zero) = now. A future time schedules the shadow.
  base::WallTime valid_from{};
  std::optional<std::chrono::seconds> ttl;  // from now; nullopt = no expiry
  bool pin = false;
  // A prefetch's probability of being read within the horizon. With it the fill may only evict
  // shadows of lower expected value per byte than its own (the eviction rule's value, with this
  // probability); otherwise it is refused with NoSpace, as a fill that does not fit is. Without
  // it (reads, writes) the fill evicts whatever has the lowest value.
  std::optional<double> probability;
};

class ShadowStore {
 public:
  // Opens (creating if needed) the store in options.dir: loads the catalog into memory and
  // cleans up after a crash. One process at a time: AlreadyExists naming the holder's pid if
  // another has it open (a running mount is reached through its control socket instead). `scorer`
  // (may be null: recency/frequency is used) ranks eviction.
  static base::Result<std::unique_ptr<ShadowStore>> Open(ShadowStoreOptions options,
                                                         base::Runtime runtime,
                                                         base::ReuseScorer* scorer = nullptr);
  ~ShadowStore();  // flushes batched catalog updates
  ShadowStore(const ShadowStore&) = delete;
  ShadowStore& operator=(const ShadowStore&) = delete;

  // The serving rule. Reads [offset, offset + out.size()) of `key`, clipped at the object's end.
  // An I/O error is a failed Result; every "not from the shadow" answer is a ShadowRead.
  base::Result<ShadowRead> Read(std::string_view key, uint64_t offset, std::span<char> out,
                                ReadContext& ctx);
  // The last reader of `key` is done for now (its file was closed): the shadow gives up the
  // memory mapping its serving reads used (ShadowFile::Unmap), so that its pages are the page
  // cache's to keep or drop like any file's.
  void Unmap(std::string_view key);

  std::optional<ShadowInfo> Find(std::string_view key) const;
  // Whether the shadow of version `etag` of `key` holds every chunk of [offset, offset + length)
  // (length 0: to the object's end), so that fetching the range again would store nothing.
  bool Holds(std::string_view key, std::string_view etag, uint64_t offset, uint64_t length) const;
  // The chunk size that a Fill of version `etag` of `key` at `offset` (rounded down to it) must
  // start on: the shadow's if one of that version exists; else chunk_size() below
  // ranged_chunk_size (the fill starts the shadow at 0) and ranged_chunk_size from there.
  uint32_t FillChunkSize(std::string_view key, std::string_view etag, uint64_t offset) const;
  // The shadows whose keys start with `prefix`, in key order, at most `limit`.
  std::vector<ShadowInfo> List(std::string_view prefix, size_t limit = SIZE_MAX) const;

  // Stores `data`, the bytes of version `etag` of `key` (an object of `size` bytes) starting at
  // `offset`, a multiple of FillChunkSize(key, etag, offset). Chunks wholly covered (and the
  // object's last chunk if `data` reaches the end) are stored; a shadow of another ETag is
  // replaced. A new version starts with last_verified = now (it was just fetched or written with a
  // known ETag).
  base::Status Fill(std::string_view key, std::string_view etag, uint64_t size, uint64_t offset,
                    std::string_view data, const FillOptions& options);

  // The reconciler or a revalidation saw version `etag` of `key` on the primary at `when`: a
  // match refreshes last_verified (confidence back to 1), a mismatch drops the shadow. Both are
  // observations for the change-rate model. Returns whether the shadow matched.
  base::Result<bool> Verify(std::string_view key, std::string_view etag, base::WallTime when);
  // The object no longer exists on the primary.
  base::Status ObserveDeleted(std::string_view key, base::WallTime when);

  // Rewrites the shadow of `key` with every chunk stored raw, now, on the calling thread (the
  // store does this on its "shadow-promote" thread for hot shadows). OK if there is nothing to
  // do (every chunk is raw already); NotFound if there is no shadow; NoSpace if the raw form does
  // not fit without evicting a shadow of higher value; I/O errors. Waits for a Fill, Drop or
  // Verify of `key` in progress, and they for it.
  base::Status Promote(std::string_view key);

  base::Status Drop(std::string_view key);
  base::Status SetPinned(std::string_view key, bool pinned);
  base::Status SetExpiry(std::string_view key, std::optional<std::chrono::seconds> ttl);

  // Maintenance, run by the reconciler.
  struct MaintenanceReport {
    uint64_t expired = 0;
    uint64_t evicted = 0;
    uint64_t orphans_removed = 0;
    uint64_t chunks_scrubbed = 0;
    uint64_t corrupt_chunks = 0;
  };
  base::Result<MaintenanceReport> ExpireAndEvict();
  base::Result<MaintenanceReport> RemoveOrphans();
  // Re-verifies up to `max_bytes` of stored chunks, resuming where the last call stopped;
  // corrupt chunks are dropped.
  base::Result<MaintenanceReport> Scrub(uint64_t max_bytes);

  // Write intents. The staging directory (STORE/staging) is created by Open; at Open, staging
  // files that no intent names are removed (they held writes that were never committed).
  const std::string& staging_dir() const;
  // Durable (a committed catalog transaction) when it returns.
  base::Result<int64_t> RecordWriteIntent(const WriteIntent& intent);
  base::Status UpdateWriteIntent(int64_t id, uint32_t attempts, std::string_view last_error);
  base::Status CompleteWriteIntent(int64_t id);  // removes the row (not the staging file)
  base::Result<std::vector<WriteIntent>> PendingWriteIntents() const;  // in id order

  // The confidence of a shadow verified at `last_verified`, now. Exposed for the CLI.
  double Confidence(std::string_view key, base::WallTime last_verified) const;

  // Replaces the eviction scorer given to Open (null: recency/frequency). For a scorer that can
  // only be built once the store is open (the prediction engine loads its state from the store's
  // directory, which only the store's owner may touch). Once it returns the old scorer is no
  // longer in use; a scorer must be replaced (or reset to null) before it is destroyed.
  void SetScorer(base::ReuseScorer* scorer);

  uint64_t used_bytes() const;
  uint64_t capacity_bytes() const;
  // The serving rule's threshold: a shadow below it is revalidated before it serves.
  double min_confidence() const;
  uint32_t chunk_size() const;  // of new shadows (existing ones keep theirs: see Find)
  base::Status Flush();         // writes batched catalog updates now

  struct Impl;

 private:
  explicit ShadowStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowfs::shadow
