// The private state of ShadowStore, shared by shadow_store*.cc. Not part of the public API.
//
// Locks, in the order they may be taken:
//   catalog_mu_   serializes catalog writes with the index changes they mirror, so that a batched
//                 flush can never write back a row that a concurrent drop or replacement has just
//                 changed. Held across SQLite transactions, never on the read path.
//   mu_           the index, the byte accounting, the busy keys. Never held across file I/O,
//                 fsync or SQLite. Under it: a ShadowFile's own lock (stats), the
//                 ConfidenceModel's lock and the ReuseScorer (which must not call the store).
#pragma once

#include <atomic>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "blobstore/base/mutex.h"
#include "blobstore/base/pid_lock.h"
#include "blobstore/base/runtime.h"
#include "blobstore/shadow/catalog.h"
#include "blobstore/shadow/confidence.h"
#include "blobstore/shadow/shadow_store.h"
#include "blobstore/shadow/shadow_writer.h"

namespace shadowfs::shadow {

// Space is accounted in filesystem blocks: what `du` sees for files written sequentially.
inline constexpr uint64_t kBlockSize = 4096;
inline uint64_t RoundUpToBlock(uint64_t n) {
  return (n + kBlockSize - 1) / kBlockSize * kBlockSize;
}
// What a file costs on disk: its size in blocks, or more if the filesystem allocated more (an
// extent-tree block for a fragmented file). Reservations add kMetadataSlack for the latter.
inline constexpr uint64_t kMetadataSlack = kBlockSize;
uint64_t ChargeFor(const std::string& path, uint64_t file_size);

// An open shadow file and the bytes it is charged against the cap. Shared by the index and by
// every reader in flight; the file was unlinked when it left the index (doomed), and its bytes
// are released when the last reference goes. Never destroyed while ShadowStore::Impl::mu_ is held.
struct ShadowHandle {
  ShadowHandle(ShadowStore::Impl* store, std::unique_ptr<ShadowFile> file)
      : store(store), file(std::move(file)) {}
  ~ShadowHandle();
  ShadowHandle(const ShadowHandle&) = delete;
  ShadowHandle& operator=(const ShadowHandle&) = delete;

  ShadowStore::Impl* const store;
  std::unique_ptr<ShadowFile> file;  // closed before the bytes are released
  // Both guarded by store->mu_ (not annotated: the analysis cannot name another object's lock).
  uint64_t charged = 0;
  bool doomed = false;
};

struct IndexEntry {
  ShadowInfo info;  // counts and confidence are refreshed from the file and model on the way out
  std::string file_name;
  std::shared_ptr<ShadowHandle> handle;
  uint64_t served = 0;          // bytes read from this file since the last promotion attempt
  bool promote_queued = false;  // in promote_queue_ or being promoted
};

struct ShadowStore::Impl {
  Impl(ShadowStoreOptions options, base::Runtime runtime, base::ReuseScorer* scorer);
  ~Impl();

  // Claims `key` for a Fill, Drop or Verify: waits while another thread holds it. Eviction skips
  // claimed keys, so a shadow being filled is never evicted under its filler.
  class KeyClaim {
   public:
    KeyClaim(Impl* impl, std::string_view key);
    ~KeyClaim();
    KeyClaim(const KeyClaim&) = delete;
    KeyClaim& operator=(const KeyClaim&) = delete;

   private:
    Impl* const impl_;
    const std::string key_;
  };

  std::string PathOf(const std::string& file_name) const { return shadows_dir + "/" + file_name; }
  // "<2 hex>/<hash of key and ETag>-<unique>.shadow": the unique part means that no file name is
  // ever reused, so unlinking a doomed file can never hit a newer file of the same version.
  std::string FileNameFor(std::string_view key, std::string_view etag) EXCLUDES(mu_);
  CatalogRow RowOf(const IndexEntry& e) const REQUIRES(mu_);
  ShadowInfo InfoOf(const IndexEntry& e, base::WallTime now) const REQUIRES(mu_);
  void RefreshGauge() REQUIRES(mu_);

  // Removes `keys` from the index and the catalog and unlinks their files. Requires the keys'
  // claims unless they are evicted (eviction skips claimed keys).
  base::Status Remove(const std::vector<std::string>& keys, base::Counter* counter)
      EXCLUDES(mu_, catalog_mu_);
  // Takes the entries out of the index (their handles go to *release, destroy after unlocking).
  void DetachLocked(const std::vector<std::string>& keys, std::vector<std::string>* paths,
                    std::vector<std::shared_ptr<ShadowHandle>>* release) REQUIRES(mu_);

  // Reserves `bytes` against the cap for `key`'s fill, evicting shadows of lower value (never
  // pinned or claimed ones, never `key`) and waiting briefly for readers of evicted files to let
  // go. NoSpace, with nothing evicted, if even that cannot make room.
  // With `evict_below`, only shadows whose value is below it may be evicted (a promotion, a
  // prefetch). A refusal is counted in `refused` (null: no_space).
  base::Status Reserve(const std::string& key, uint64_t bytes,
                       std::optional<double> evict_below = std::nullopt,
                       base::Counter* refused = nullptr) EXCLUDES(mu_, catalog_mu_);
  // The cap in force now: capacity_bytes, lowered when the store's disk runs short of space.
  uint64_t EffectiveCapacity() EXCLUDES(mu_);
  // What a prefetch fill of `bytes` more (for an object of `size`, read with `probability`)
  // may evict: shadows worth less per byte than it (FillOptions::probability).
  static double PrefetchValue(double probability, uint64_t size, uint64_t bytes);
  void Unreserve(uint64_t bytes) EXCLUDES(mu_);
  // Expected value per byte; `bytes` (if not 0) stands for the shadow's current charge.
  double EvictionValue(const std::string& key, const IndexEntry& e, base::WallTime now,
                       uint64_t bytes = 0) REQUIRES(mu_);
  // Picks victims (lowest value first, none of value >= evict_below) until `need` bytes are freed
  // or pending release (possibly none); nullopt if even evicting everything evictable cannot
  // reach `need`.
  std::optional<std::vector<std::string>> PickVictims(
      const std::string& exclude, uint64_t need, base::WallTime now,
      std::optional<double> evict_below = std::nullopt) REQUIRES(mu_);

  // Promotion (shadow_store_promote.cc). NoteServedLocked runs on the read path: it counts
  // `bytes` served from `e` and queues the key once the shadow is hot and has compressed chunks.
  void NoteServedLocked(const std::string& key, IndexEntry& e, uint64_t bytes) REQUIRES(mu_);
  // The chunk size that a blob of `object_size` in chunks of `chunk_size` gets when promoted
  // (chunk_size itself when it would not be split).
  uint32_t PromotedChunkSize(uint64_t object_size, uint32_t chunk_size) const;
  // The chunk size a complete shadow in chunks smaller than options.promoted_chunk_size and
  // options.chunk_size (one first filled past offset 0) is merged into when promoted, the
  // smaller of the two; 0 when it is not merged.
  uint32_t MergedChunkSize(const ShadowFile& f) const;
  // Reads chunk `index` of `old` for its promotion into `raw`: NotFound when the chunk is absent,
  // was dropped meanwhile, or is corrupt (then dropped from `old` and counted); Unavailable when
  // the store is closing.
  base::Status ReadChunkToPromote(const std::string& key, ShadowHandle& old, uint32_t index,
                                  std::span<char> raw, ReadContext& read_ctx) EXCLUDES(mu_);
  // Promotion's copy of `old` into `writer` (in MergedChunkSize chunks), committed.
  base::Status MergeChunks(const std::string& key, ShadowHandle& old, ReadContext& read_ctx,
                           CodecContext& codec_ctx, ShadowWriter& writer) EXCLUDES(mu_);
  // The chunk size of a new shadow of a blob of `size` whose first fill starts at `offset` with
  // `data`, stored with `codec`.
  uint32_t NewChunkSize(uint64_t size, uint64_t offset, std::string_view data,
                        const CodecOptions& codec, CodecContext& codec_ctx) const;
  // The codec a fill stores its chunks with now: none while the store is below
  // options.raw_below_fill of its capacity, options.codec above.
  CodecOptions FillCodec() EXCLUDES(mu_);
  // That of a new shadow started by a fill past offset 0 (options.ranged_chunk_size, resolved).
  uint32_t RangedChunkSize() const;
  base::Status PromoteNow(const std::string& key) EXCLUDES(mu_, catalog_mu_);
  void PromoteLoop();

  // Write intents (shadow_store_intents.cc): creates staging_dir and removes the staging files
  // that no intent names. Called by Open once the catalog is loaded.
  base::Status OpenStaging();

  base::Status FlushNow() EXCLUDES(mu_, catalog_mu_);
  void FlushLoop();

  const ShadowStoreOptions options;
  const base::Runtime runtime;
  base::ReuseScorer* scorer GUARDED_BY(mu_);  // SetScorer may replace it
  const std::string shadows_dir;
  const std::string tmp_dir;
  const std::string staging_dir;                // STORE/staging: the filesystem's staged writes
  std::unique_ptr<base::PidLock> process_lock;  // held for the store's lifetime
  std::unique_ptr<Catalog> catalog;
  ConfidenceModel model;

  base::Counter* reads[7] = {};  // by Miss
  base::Counter* bytes_served = nullptr;
  base::Counter* evictions = nullptr;
  base::Counter* expirations = nullptr;
  base::Counter* drops = nullptr;
  base::Counter* corrupt_chunks = nullptr;
  base::Counter* fills = nullptr;
  base::Counter* fill_failures = nullptr;
  base::Counter* no_space = nullptr;
  base::Gauge* store_bytes = nullptr;
  base::Gauge* shadow_count = nullptr;
  base::Counter* promotions = nullptr;
  base::Counter* promoted_bytes = nullptr;
  base::Counter* promotions_refused = nullptr;
  base::Counter* prefetches_refused = nullptr;

  base::Mutex catalog_mu_;
  mutable base::Mutex mu_ ACQUIRED_AFTER(catalog_mu_);
  base::CondVar busy_cv_;     // a claim was released
  base::CondVar space_cv_;    // a doomed handle released its bytes
  base::CondVar stop_cv_;     // stopping
  base::CondVar promote_cv_;  // a key was queued for promotion, or stopping
  std::map<std::string, IndexEntry, std::less<>> index_ GUARDED_BY(mu_);
  std::set<std::string, std::less<>> busy_keys_ GUARDED_BY(mu_);
  // Final paths of fills in progress; their temp files and fresh files are not orphans.
  std::set<std::string> filling_paths_ GUARDED_BY(mu_);
  std::set<std::string, std::less<>> dirty_ GUARDED_BY(mu_);
  uint64_t used_ GUARDED_BY(mu_) = 0;          // charged files + reservations
  uint64_t doomed_bytes_ GUARDED_BY(mu_) = 0;  // charged to files that left the index
  std::string scrub_key_ GUARDED_BY(mu_);      // resume point of Scrub
  uint32_t scrub_chunk_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  uint64_t next_file_id_ GUARDED_BY(mu_) = 0;
  // Keys waiting for the promoter; bounded (a key that finds it full is queued on a later read).
  std::deque<std::string> promote_queue_ GUARDED_BY(mu_);

  std::thread flusher;   // "shadow-flush", joined by ~Impl
  std::thread promoter;  // "shadow-promote" (if promote_after_passes > 0), joined before flusher
};

}  // namespace shadowfs::shadow
