#include "blobstore/shadow/catalog.h"

#include <sqlite3.h>

#include <string_view>
#include <utility>

namespace shadowfs::shadow {

using base::Result;
using base::Status;

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadows (
  key TEXT PRIMARY KEY,
  etag TEXT NOT NULL,
  version_id TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL,
  bytes_stored INTEGER NOT NULL,
  chunk_size INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  chunks_present INTEGER NOT NULL,
  chunks_none INTEGER NOT NULL,
  chunks_lz4 INTEGER NOT NULL,
  chunks_zstd INTEGER NOT NULL,
  origin TEXT NOT NULL,
  created INTEGER NOT NULL,
  valid_from INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_verified INTEGER NOT NULL,
  last_access INTEGER NOT NULL,
  hits INTEGER NOT NULL,
  pinned INTEGER NOT NULL,
  file_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS change_stats (
  scope TEXT PRIMARY KEY, changes REAL NOT NULL, exposure_seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kv (name TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS write_intents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL,
  staging_file TEXT NOT NULL,
  size INTEGER NOT NULL,
  create_only INTEGER NOT NULL,
  base_etag TEXT NOT NULL,
  metadata BLOB NOT NULL,
  content_type TEXT NOT NULL,
  created INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL);
)sql";

constexpr const char* kUpsertShadow =
    "INSERT OR REPLACE INTO shadows (key, etag, version_id, size, bytes_stored, chunk_size, "
    "chunk_count, chunks_present, chunks_none, chunks_lz4, chunks_zstd, origin, created, "
    "valid_from, expires_at, last_verified, last_access, hits, pinned, file_name) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
constexpr const char* kSelectShadows =
    "SELECT key, etag, version_id, size, bytes_stored, chunk_size, chunk_count, chunks_present, "
    "chunks_none, chunks_lz4, chunks_zstd, origin, created, valid_from, expires_at, "
    "last_verified, last_access, hits, pinned, file_name FROM shadows ORDER BY key";

bool IsCorrupt(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

std::string Text(sqlite3_stmt* s, int col) {
  const unsigned char* p = sqlite3_column_text(s, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(s, col)))
           : std::string();
}

}  // namespace

struct Catalog::Db {
  DbPtr db;
  StmtPtr upsert_shadow;
  StmtPtr delete_shadow;
  StmtPtr upsert_stat;
  StmtPtr get_kv;
  StmtPtr put_kv;
};

Catalog::Catalog(Token, std::string path, std::unique_ptr<Db> db, base::Counter* txn_counter)
    : path_(std::move(path)), txn_counter_(txn_counter), db_(std::move(db)) {}

Catalog::~Catalog() = default;

Status Catalog::Error(int rc, std::string_view what) const {
  std::string detail = db_ && db_->db ? sqlite3_errmsg(db_->db.get()) : sqlite3_errstr(rc);
  std::string msg = "catalog " + path_ + ": " + std::string(what) + ": " + detail;
  if (IsCorrupt(rc)) {
    return Status::Corruption(msg +
                              "; the catalog is damaged: stop shadowfs, move the file (and its "
                              "-wal and -shm files) aside, and restart; the store then starts "
                              "empty and unreferenced shadow files are removed");
  }
  if ((rc & 0xff) == SQLITE_FULL) return Status::NoSpace(msg);
  if ((rc & 0xff) == SQLITE_PERM || (rc & 0xff) == SQLITE_READONLY) {
    return Status::PermissionDenied(msg);
  }
  return Status::IOError(msg);
}

namespace {

// Runs SQL without results; the error names `what`.
int Exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

int Prepare(sqlite3* db, const char* sql, StmtPtr* out) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  out->reset(s);
  return rc;
}

}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path,
                                               base::MetricsRegistry* metrics) {
  auto db = std::make_unique<Db>();
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db->db.reset(raw);
  base::Counter* counter =
      metrics ? &metrics->GetCounter("shadowfs_shadow_catalog_transactions_total",
                                     "Transactions committed to the shadow catalog")
              : nullptr;
  // The object exists from here on so that Error() can format messages.
  auto catalog = std::make_unique<Catalog>(Token{}, path, std::move(db), counter);
  base::MutexLock lock(&catalog->mu_);
  sqlite3* h = catalog->db_->db.get();
  if (rc != SQLITE_OK) return catalog->Error(rc, "cannot open");
  sqlite3_busy_timeout(h, 5000);
  sqlite3_extended_result_codes(h, 1);
  // journal_mode reads the header first, so a file that is not a database fails here.
  if ((rc = Exec(h, "PRAGMA journal_mode=WAL")) != SQLITE_OK) {
    return catalog->Error(rc, "cannot enable WAL");
  }
  if ((rc = Exec(h, "PRAGMA synchronous=NORMAL")) != SQLITE_OK) {
    return catalog->Error(rc, "cannot set synchronous");
  }
  if ((rc = Exec(h, "BEGIN IMMEDIATE")) != SQLITE_OK) return catalog->Error(rc, "cannot begin");
  rc = Exec(h, kSchema);
  if (rc != SQLITE_OK) {
    Exec(h, "ROLLBACK");
    return catalog->Error(rc, "cannot create the schema");
  }
  StmtPtr version;
  if ((rc = Prepare(h, "SELECT value FROM meta WHERE name = 'schema_version'", &version)) !=
      SQLITE_OK) {
    Exec(h, "ROLLBACK");
    return catalog->Error(rc, "cannot read the schema version");
  }
  rc = sqlite3_step(version.get());
  if (rc == SQLITE_ROW) {
    int v = sqlite3_column_int(version.get(), 0);
    version.reset();
    if (v > kSchemaVersion) {
      Exec(h, "ROLLBACK");
      return Status::NotSupported("catalog " + path + " has schema version " + std::to_string(v) +
                                  ", newer than this build reads (" +
                                  std::to_string(kSchemaVersion) + "): upgrade shadowfs");
    }
    // Version 1 lacked write_intents, which kSchema has just created (CREATE TABLE IF NOT
    // EXISTS): the migration is recording the new version in the same transaction.
    if (v < kSchemaVersion) {
      std::string sql = "UPDATE meta SET value = '" + std::to_string(kSchemaVersion) +
                        "' WHERE name = 'schema_version'";
      if ((rc = Exec(h, sql.c_str())) != SQLITE_OK) {
        Exec(h, "ROLLBACK");
        return catalog->Error(
            rc, "cannot migrate the schema to version " + std::to_string(kSchemaVersion));
      }
    }
  } else if (rc == SQLITE_DONE) {
    version.reset();
    std::string sql = "INSERT INTO meta (name, value) VALUES ('schema_version', '" +
                      std::to_string(kSchemaVersion) + "')";
    if ((rc = Exec(h, sql.c_str())) != SQLITE_OK) {
      Exec(h, "ROLLBACK");
      return catalog->Error(rc, "cannot record the schema version");
    }
  } else {
    version.reset();
    Exec(h, "ROLLBACK");
    return catalog->Error(rc, "cannot read the schema version");
  }
  if ((rc = Exec(h, "COMMIT")) != SQLITE_OK) return catalog->Error(rc, "cannot commit the schema");

  Db& d = *catalog->db_;
  if ((rc = Prepare(h, kUpsertShadow, &d.upsert_shadow)) != SQLITE_OK ||
      (rc = Prepare(h, "DELETE FROM shadows WHERE key = ?1", &d.delete_shadow)) != SQLITE_OK ||
      (rc = Prepare(h,
                    "INSERT OR REPLACE INTO change_stats (scope, changes, exposure_seconds) "
                    "VALUES (?1, ?2, ?3)",
                    &d.upsert_stat)) != SQLITE_OK ||
      (rc = Prepare(h, "SELECT value FROM kv WHERE name = ?1", &d.get_kv)) != SQLITE_OK ||
      (rc = Prepare(h, "INSERT OR REPLACE INTO kv (name, value) VALUES (?1, ?2)", &d.put_kv)) !=
          SQLITE_OK) {
    return catalog->Error(rc, "cannot prepare statements");
  }
  return catalog;
}

Result<std::vector<CatalogRow>> Catalog::LoadShadows() {
  base::MutexLock lock(&mu_);
  StmtPtr s;
  int rc = Prepare(db_->db.get(), kSelectShadows, &s);
  if (rc != SQLITE_OK) return Error(rc, "cannot read shadows");
  std::vector<CatalogRow> rows;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    sqlite3_stmt* q = s.get();
    CatalogRow r;
    r.key = Text(q, 0);
    r.etag = Text(q, 1);
    r.version_id = Text(q, 2);
    r.size = static_cast<uint64_t>(sqlite3_column_int64(q, 3));
    r.bytes_stored = static_cast<uint64_t>(sqlite3_column_int64(q, 4));
    r.chunk_size = static_cast<uint32_t>(sqlite3_column_int64(q, 5));
    r.chunk_count = static_cast<uint32_t>(sqlite3_column_int64(q, 6));
    r.chunks_present = static_cast<uint32_t>(sqlite3_column_int64(q, 7));
    r.chunks_none = static_cast<uint32_t>(sqlite3_column_int64(q, 8));
    r.chunks_lz4 = static_cast<uint32_t>(sqlite3_column_int64(q, 9));
    r.chunks_zstd = static_cast<uint32_t>(sqlite3_column_int64(q, 10));
    r.origin = Text(q, 11);
    r.created_us = sqlite3_column_int64(q, 12);
    r.valid_from_us = sqlite3_column_int64(q, 13);
    r.expires_at_us = sqlite3_column_int64(q, 14);
    r.last_verified_us = sqlite3_column_int64(q, 15);
    r.last_access_us = sqlite3_column_int64(q, 16);
    r.hits = static_cast<uint64_t>(sqlite3_column_int64(q, 17));
    r.pinned = sqlite3_column_int64(q, 18) != 0;
    r.file_name = Text(q, 19);
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error(rc, "cannot read shadows");
  return rows;
}

Result<std::vector<ChangeStatRow>> Catalog::LoadChangeStats() {
  base::MutexLock lock(&mu_);
  StmtPtr s;
  int rc = Prepare(db_->db.get(), "SELECT scope, changes, exposure_seconds FROM change_stats", &s);
  if (rc != SQLITE_OK) return Error(rc, "cannot read change statistics");
  std::vector<ChangeStatRow> rows;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    rows.push_back(
        {Text(s.get(), 0), sqlite3_column_double(s.get(), 1), sqlite3_column_double(s.get(), 2)});
  }
  if (rc != SQLITE_DONE) return Error(rc, "cannot read change statistics");
  return rows;
}

Status Catalog::Begin() {
  int rc = Exec(db_->db.get(), "BEGIN IMMEDIATE");
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, "cannot begin a transaction");
}

Status Catalog::Commit() {
  int rc = Exec(db_->db.get(), "COMMIT");
  if (rc != SQLITE_OK) {
    Status s = Error(rc, "cannot commit");
    Rollback();
    return s;
  }
  ++transactions_;
  if (txn_counter_) txn_counter_->Increment();
  return Status::Ok();
}

void Catalog::Rollback() {
  if (!sqlite3_get_autocommit(db_->db.get())) Exec(db_->db.get(), "ROLLBACK");
}

Status Catalog::UpsertLocked(const CatalogRow& r) {
  sqlite3_stmt* s = db_->upsert_shadow.get();
  sqlite3_reset(s);
  sqlite3_bind_text(s, 1, r.key.data(), static_cast<int>(r.key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, r.etag.data(), static_cast<int>(r.etag.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, r.version_id.data(), static_cast<int>(r.version_id.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 4, static_cast<int64_t>(r.size));
  sqlite3_bind_int64(s, 5, static_cast<int64_t>(r.bytes_stored));
  sqlite3_bind_int64(s, 6, r.chunk_size);
  sqlite3_bind_int64(s, 7, r.chunk_count);
  sqlite3_bind_int64(s, 8, r.chunks_present);
  sqlite3_bind_int64(s, 9, r.chunks_none);
  sqlite3_bind_int64(s, 10, r.chunks_lz4);
  sqlite3_bind_int64(s, 11, r.chunks_zstd);
  sqlite3_bind_text(s, 12, r.origin.data(), static_cast<int>(r.origin.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 13, r.created_us);
  sqlite3_bind_int64(s, 14, r.valid_from_us);
  sqlite3_bind_int64(s, 15, r.expires_at_us);
  sqlite3_bind_int64(s, 16, r.last_verified_us);
  sqlite3_bind_int64(s, 17, r.last_access_us);
  sqlite3_bind_int64(s, 18, static_cast<int64_t>(r.hits));
  sqlite3_bind_int64(s, 19, r.pinned ? 1 : 0);
  sqlite3_bind_text(s, 20, r.file_name.data(), static_cast<int>(r.file_name.size()),
                    SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "cannot write the row of '" + r.key + "'");
}

Status Catalog::UpsertStatLocked(const ChangeStatRow& r) {
  sqlite3_stmt* s = db_->upsert_stat.get();
  sqlite3_reset(s);
  sqlite3_bind_text(s, 1, r.scope.data(), static_cast<int>(r.scope.size()), SQLITE_TRANSIENT);
  sqlite3_bind_double(s, 2, r.changes);
  sqlite3_bind_double(s, 3, r.exposure_seconds);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "cannot write change statistics");
}

Status Catalog::Upsert(const CatalogRow& row) { return WriteBatch({row}, {}); }

Status Catalog::Delete(const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  base::MutexLock lock(&mu_);
  SHADOWFS_RETURN_IF_ERROR(Begin());
  sqlite3_stmt* s = db_->delete_shadow.get();
  for (const std::string& key : keys) {
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      Status st = Error(rc, "cannot delete the row of '" + key + "'");
      Rollback();
      return st;
    }
  }
  return Commit();
}

Status Catalog::WriteBatch(const std::vector<CatalogRow>& rows,
                           const std::vector<ChangeStatRow>& stats) {
  if (rows.empty() && stats.empty()) return Status::Ok();
  base::MutexLock lock(&mu_);
  SHADOWFS_RETURN_IF_ERROR(Begin());
  for (const CatalogRow& r : rows) {
    Status s = UpsertLocked(r);
    if (!s.ok()) {
      Rollback();
      return s;
    }
  }
  for (const ChangeStatRow& r : stats) {
    Status s = UpsertStatLocked(r);
    if (!s.ok()) {
      Rollback();
      return s;
    }
  }
  return Commit();
}

Result<std::optional<std::string>> Catalog::GetKv(const std::string& name) {
  base::MutexLock lock(&mu_);
  sqlite3_stmt* s = db_->get_kv.get();
  sqlite3_reset(s);
  sqlite3_bind_text(s, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  std::optional<std::string> value;
  if (rc == SQLITE_ROW) {
    const void* p = sqlite3_column_blob(s, 0);
    int n = sqlite3_column_bytes(s, 0);
    value.emplace(static_cast<const char*>(p), static_cast<size_t>(p ? n : 0));
    rc = SQLITE_DONE;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return Error(rc, "cannot read '" + name + "'");
  return value;
}

Status Catalog::PutKv(const std::string& name, const std::string& value) {
  base::MutexLock lock(&mu_);
  SHADOWFS_RETURN_IF_ERROR(Begin());
  sqlite3_stmt* s = db_->put_kv.get();
  sqlite3_reset(s);
  sqlite3_bind_text(s, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(s, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    Status st = Error(rc, "cannot write '" + name + "'");
    Rollback();
    return st;
  }
  return Commit();
}

Result<int64_t> Catalog::InsertIntent(const IntentRow& r) {
  base::MutexLock lock(&mu_);
  sqlite3* h = db_->db.get();
  StmtPtr s;
  int rc = Prepare(h,
                   "INSERT INTO write_intents (key, staging_file, size, create_only, base_etag, "
                   "metadata, content_type, created, attempts, last_error) VALUES "
                   "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                   &s);
  if (rc != SQLITE_OK) return Error(rc, "cannot record a write intent");
  SHADOWFS_RETURN_IF_ERROR(Begin());
  sqlite3_stmt* q = s.get();
  sqlite3_bind_text(q, 1, r.key.data(), static_cast<int>(r.key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, r.staging_file.data(), static_cast<int>(r.staging_file.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 3, static_cast<int64_t>(r.size));
  sqlite3_bind_int64(q, 4, r.create_only ? 1 : 0);
  sqlite3_bind_text(q, 5, r.base_etag.data(), static_cast<int>(r.base_etag.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_blob(q, 6, r.metadata.data(), static_cast<int>(r.metadata.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 7, r.content_type.data(), static_cast<int>(r.content_type.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 8, r.created_us);
  sqlite3_bind_int64(q, 9, r.attempts);
  sqlite3_bind_text(q, 10, r.last_error.data(), static_cast<int>(r.last_error.size()),
                    SQLITE_TRANSIENT);
  rc = sqlite3_step(q);
  if (rc != SQLITE_DONE) {
    Status st = Error(rc, "cannot record the write intent of '" + r.key + "'");
    Rollback();
    return st;
  }
  int64_t id = sqlite3_last_insert_rowid(h);
  SHADOWFS_RETURN_IF_ERROR(Commit());
  return id;
}

Status Catalog::UpdateIntent(int64_t id, uint32_t attempts, std::string_view last_error) {
  base::MutexLock lock(&mu_);
  StmtPtr s;
  int rc = Prepare(db_->db.get(),
                   "UPDATE write_intents SET attempts = ?2, last_error = ?3 WHERE id = ?1", &s);
  if (rc != SQLITE_OK) return Error(rc, "cannot update a write intent");
  SHADOWFS_RETURN_IF_ERROR(Begin());
  sqlite3_bind_int64(s.get(), 1, id);
  sqlite3_bind_int64(s.get(), 2, attempts);
  sqlite3_bind_text(s.get(), 3, last_error.data(), static_cast<int>(last_error.size()),
                    SQLITE_TRANSIENT);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE) {
    Status st = Error(rc, "cannot update write intent " + std::to_string(id));
    Rollback();
    return st;
  }
  return Commit();
}

Status Catalog::DeleteIntent(int64_t id) {
  base::MutexLock lock(&mu_);
  StmtPtr s;
  int rc = Prepare(db_->db.get(), "DELETE FROM write_intents WHERE id = ?1", &s);
  if (rc != SQLITE_OK) return Error(rc, "cannot remove a write intent");
  SHADOWFS_RETURN_IF_ERROR(Begin());
  sqlite3_bind_int64(s.get(), 1, id);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE) {
    Status st = Error(rc, "cannot remove write intent " + std::to_string(id));
    Rollback();
    return st;
  }
  return Commit();
}

Result<std::vector<IntentRow>> Catalog::LoadIntents() {
  base::MutexLock lock(&mu_);
  StmtPtr s;
  int rc = Prepare(db_->db.get(),
                   "SELECT id, key, staging_file, size, create_only, base_etag, metadata, "
                   "content_type, created, attempts, last_error FROM write_intents ORDER BY id",
                   &s);
  if (rc != SQLITE_OK) return Error(rc, "cannot read write intents");
  std::vector<IntentRow> rows;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    sqlite3_stmt* q = s.get();
    IntentRow r;
    r.id = sqlite3_column_int64(q, 0);
    r.key = Text(q, 1);
    r.staging_file = Text(q, 2);
    r.size = static_cast<uint64_t>(sqlite3_column_int64(q, 3));
    r.create_only = sqlite3_column_int64(q, 4) != 0;
    r.base_etag = Text(q, 5);
    const void* p = sqlite3_column_blob(q, 6);
    int n = sqlite3_column_bytes(q, 6);
    if (p) r.metadata.assign(static_cast<const char*>(p), static_cast<size_t>(n));
    r.content_type = Text(q, 7);
    r.created_us = sqlite3_column_int64(q, 8);
    r.attempts = static_cast<uint32_t>(sqlite3_column_int64(q, 9));
    r.last_error = Text(q, 10);
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error(rc, "cannot read write intents");
  return rows;
}

uint64_t Catalog::transactions() const {
  base::MutexLock lock(&mu_);
  return transactions_;
}

}  // namespace shadowfs::shadow
