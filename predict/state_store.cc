#include "predict/state_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <string_view>

namespace shadowfs::predict {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

base::Status Error(sqlite3* db, std::string_view what, const std::string& path) {
  int rc = db == nullptr ? SQLITE_CANTOPEN : sqlite3_errcode(db);
  std::string msg =
      std::string(what) + " " + path + ": " + (db == nullptr ? "cannot open" : sqlite3_errmsg(db));
  if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) return base::Status::Corruption(msg);
  return base::Status::IOError(msg);
}

base::Result<Db> Open(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return Error(db.get(), "opening prediction state", path);
  sqlite3_busy_timeout(db.get(), 5000);
  return db;
}

base::Result<Stmt> Prepare(sqlite3* db, const char* sql, const std::string& path) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    return Error(db, "reading prediction state", path);
  }
  return Stmt(s);
}

base::Status Exec(sqlite3* db, const char* sql, const std::string& path) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error(db, "writing prediction state", path);
  }
  return base::Status::Ok();
}

base::Status Insert(sqlite3* db, const char* table, std::string_view name, std::string_view blob,
                    const std::string& path) {
  std::string sql = std::string("INSERT INTO ") + table + "(name, version, blob) VALUES (?, ?, ?)";
  SHADOWFS_ASSIGN_OR_RETURN(Stmt s, Prepare(db, sql.c_str(), path));
  sqlite3_bind_text(s.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(s.get(), 2, kStateFormat);
  sqlite3_bind_blob(s.get(), 3, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error(db, "writing prediction state", path);
  return base::Status::Ok();
}

std::string Column(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

}  // namespace

base::Status SaveEngineState(const std::string& path, const EngineState& state) {
  SHADOWFS_ASSIGN_OR_RETURN(Db db, Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  sqlite3* d = db.get();
  SHADOWFS_RETURN_IF_ERROR(Exec(d,
                                "CREATE TABLE IF NOT EXISTS experts(name TEXT PRIMARY KEY, "
                                "version INTEGER NOT NULL, blob BLOB NOT NULL);"
                                "CREATE TABLE IF NOT EXISTS engine(name TEXT PRIMARY KEY, "
                                "version INTEGER NOT NULL, blob BLOB NOT NULL);",
                                path));
  SHADOWFS_RETURN_IF_ERROR(Exec(d, "BEGIN IMMEDIATE", path));
  base::Status st = [&]() -> base::Status {
    SHADOWFS_RETURN_IF_ERROR(Exec(d, "DELETE FROM experts; DELETE FROM engine;", path));
    for (const auto& [name, blob] : state.experts) {
      SHADOWFS_RETURN_IF_ERROR(Insert(d, "experts", name, blob, path));
    }
    if (!state.learner.empty()) {
      SHADOWFS_RETURN_IF_ERROR(Insert(d, "engine", "learner", state.learner, path));
    }
    if (state.threshold >= 0) {
      SHADOWFS_RETURN_IF_ERROR(
          Insert(d, "engine", "planner", "threshold " + std::to_string(state.threshold), path));
    }
    std::string pragma = "PRAGMA user_version = " + std::to_string(kStateFormat);
    return Exec(d, pragma.c_str(), path);
  }();
  if (!st.ok()) {
    (void)Exec(d, "ROLLBACK", path);
    return st;
  }
  return Exec(d, "COMMIT", path);
}

base::Result<EngineState> LoadEngineState(const std::string& path) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    return base::Status::NotFound("no prediction state at " + path);
  }
  SHADOWFS_ASSIGN_OR_RETURN(Db db, Open(path, SQLITE_OPEN_READONLY));
  sqlite3* d = db.get();
  {
    SHADOWFS_ASSIGN_OR_RETURN(Stmt s, Prepare(d, "PRAGMA user_version", path));
    if (sqlite3_step(s.get()) != SQLITE_ROW) return Error(d, "reading prediction state", path);
    int version = sqlite3_column_int(s.get(), 0);
    if (version != kStateFormat) {
      return base::Status::NotSupported("prediction state " + path + " has format " +
                                        std::to_string(version) + ", this version reads " +
                                        std::to_string(kStateFormat));
    }
  }
  EngineState state;
  for (const char* table : {"experts", "engine"}) {
    std::string sql = std::string("SELECT name, blob FROM ") + table +
                      " WHERE version = " + std::to_string(kStateFormat);
    SHADOWFS_ASSIGN_OR_RETURN(Stmt s, Prepare(d, sql.c_str(), path));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      std::string name = Column(s.get(), 0), blob = Column(s.get(), 1);
      if (std::string_view(table) == "experts") {
        state.experts.emplace_back(std::move(name), std::move(blob));
      } else if (name == "learner") {
        state.learner = std::move(blob);
      } else if (name == "planner" && blob.rfind("threshold ", 0) == 0) {
        char* end = nullptr;
        double t = std::strtod(blob.c_str() + 10, &end);
        if (end != blob.c_str() + 10 && t >= 0 && t <= 1) state.threshold = t;
      }
    }
    if (rc != SQLITE_DONE) return Error(d, "reading prediction state", path);
  }
  return state;
}

}  // namespace shadowfs::predict
