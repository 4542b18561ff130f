// Catalog: the SQLite database (STORE/catalog.db) that records every shadow of a ShadowStore, the
// change-rate statistics of the confidence model, and small named values for later modules. The
// store keeps an in-memory index that mirrors the `shadows` table; this class only moves rows.
//
// The database runs in WAL mode with synchronous=NORMAL: in WAL mode NORMAL never corrupts the
// database and loses nothing on a process crash (the WAL is in the page cache); a power loss may
// roll back the last few commits. The store tolerates that: a shadow file whose row was lost is
// an orphan that Open removes, and a lost hit count or last_verified only lowers a shadow's
// value or confidence, which is the safe direction.
//
// Confidence is not stored: it is derived from last_verified and the change statistics
// (ConfidenceModel), so it can never disagree with them and needs no rewrite as time passes.
//
// Schema version 2 (table meta, key schema_version); version 1 lacked write_intents and is
// migrated at Open. A newer schema is refused with
// NotSupported; a damaged file is refused with Corruption and a message saying what to do.
//
// Thread-safe: one mutex (a leaf lock: nothing else is locked under it) serializes use of the
// connection, including across a transaction. Callers must not hold their own locks across
// calls here, as they would then wait behind SQLite I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/metrics.h"
#include "blobstore/base/mutex.h"
#include "blobstore/base/result.h"

namespace shadowfs::shadow {

// One row of `shadows`. Times are microseconds since the Unix epoch (0 = unset / never).
struct CatalogRow {
  std::string key;
  std::string etag;
  std::string version_id;
  uint64_t size = 0;
  uint64_t bytes_stored = 0;
  uint32_t chunk_size = 0;
  uint32_t chunk_count = 0;
  uint32_t chunks_present = 0;
  uint32_t chunks_none = 0;
  uint32_t chunks_lz4 = 0;
  uint32_t chunks_zstd = 0;
  std::string origin;
  int64_t created_us = 0;
  int64_t valid_from_us = 0;
  int64_t expires_at_us = 0;
  int64_t last_verified_us = 0;
  int64_t last_access_us = 0;
  uint64_t hits = 0;
  bool pinned = false;
  std::string file_name;  // relative to the store's shadows/ directory
};

// One row of `change_stats`: observed version changes over an exposure time, for one scope.
struct ChangeStatRow {
  std::string scope;
  double changes = 0;
  double exposure_seconds = 0;
};

// One row of `write_intents` (ShadowStore::WriteIntent, with the metadata encoded).
struct IntentRow {
  int64_t id = 0;
  std::string key;
  std::string staging_file;
  uint64_t size = 0;
  bool create_only = false;
  std::string base_etag;
  std::string metadata;  // "name\0value\0" pairs (header values never contain NUL)
  std::string content_type;
  int64_t created_us = 0;
  uint32_t attempts = 0;
  std::string last_error;
};

class Catalog {
 public:
  static constexpr int kSchemaVersion = 2;

  // Opens or creates the database at `path`. Corruption (with what to do) if the file is not a
  // readable SQLite database; NotSupported for a newer schema; IOError for other failures.
  // `metrics` may be null.
  static base::Result<std::unique_ptr<Catalog>> Open(const std::string& path,
                                                     base::MetricsRegistry* metrics);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  base::Result<std::vector<CatalogRow>> LoadShadows() EXCLUDES(mu_);
  base::Result<std::vector<ChangeStatRow>> LoadChangeStats() EXCLUDES(mu_);

  // Each of these is one transaction.
  base::Status Upsert(const CatalogRow& row) EXCLUDES(mu_);
  base::Status Delete(const std::vector<std::string>& keys) EXCLUDES(mu_);
  base::Status WriteBatch(const std::vector<CatalogRow>& rows,
                          const std::vector<ChangeStatRow>& stats) EXCLUDES(mu_);

  // Write intents, each call one transaction. InsertIntent returns the id.
  base::Result<int64_t> InsertIntent(const IntentRow& row) EXCLUDES(mu_);
  base::Status UpdateIntent(int64_t id, uint32_t attempts, std::string_view last_error)
      EXCLUDES(mu_);
  base::Status DeleteIntent(int64_t id) EXCLUDES(mu_);
  base::Result<std::vector<IntentRow>> LoadIntents() EXCLUDES(mu_);  // in id order

  base::Result<std::optional<std::string>> GetKv(const std::string& name) EXCLUDES(mu_);
  base::Status PutKv(const std::string& name, const std::string& value) EXCLUDES(mu_);

  // Transactions committed since Open (tests assert that reads do not write synchronously).
  uint64_t transactions() const EXCLUDES(mu_);
  const std::string& path() const { return path_; }

  struct Db;  // the connection and prepared statements (catalog.cc)

 private:
  struct Token {};

 public:
  Catalog(Token, std::string path, std::unique_ptr<Db> db, base::Counter* txn_counter);

 private:
  base::Status Error(int rc, std::string_view what) const REQUIRES(mu_);
  base::Status Begin() REQUIRES(mu_);
  base::Status Commit() REQUIRES(mu_);
  void Rollback() REQUIRES(mu_);
  base::Status UpsertLocked(const CatalogRow& row) REQUIRES(mu_);
  base::Status UpsertStatLocked(const ChangeStatRow& row) REQUIRES(mu_);

  const std::string path_;
  base::Counter* const txn_counter_;  // may be null
  mutable base::Mutex mu_;            // leaf lock
  std::unique_ptr<Db> db_ PT_GUARDED_BY(mu_);
  uint64_t transactions_ GUARDED_BY(mu_) = 0;
};

}  // namespace shadowfs::shadow
