// Write intents in the shadow store: durable across reopen, in id order, orphan staging files
// removed at Open, and a catalog of schema version 1 migrated.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "blobstore/base/runtime.h"
#include "blobstore/shadow/shadow_store.h"
#include "tests/blobstore/shadow/store_test_util.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::shadow {
namespace {

using testing::OpenStore;
using testing::StoreOptions;

WriteIntent MakeIntent(const std::string& key, const std::string& file) {
  WriteIntent w;
  w.key = key;
  w.staging_file = file;
  w.size = 123;
  w.base_etag = "etag-" + key;
  w.metadata = {{"mode", "33188"}, {"mtime", "1700000000"}};
  w.content_type = "text/plain";
  w.created = base::WallTime(std::chrono::seconds(1'700'000'000));
  return w;
}

void Touch(const std::string& path) { std::ofstream(path) << "staged"; }

TEST(ShadowIntentsTest, IntentsSurviveReopenInOrderAndOrphansGo) {
  shadowfs::testing::TempDir dir;
  base::OwnedRuntime rt;
  ShadowStoreOptions o = StoreOptions(dir.path());
  int64_t first = 0;
  int64_t second = 0;
  {
    auto store = OpenStore(o, rt.runtime());
    ASSERT_TRUE(store);
    EXPECT_TRUE(std::filesystem::is_directory(store->staging_dir()));
    Touch(store->staging_dir() + "/stage-a");
    Touch(store->staging_dir() + "/stage-b");
    Touch(store->staging_dir() + "/stage-orphan");
    auto a = store->RecordWriteIntent(MakeIntent("dir/b", "stage-a"));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto b = store->RecordWriteIntent(MakeIntent("dir/a", "stage-b"));
    ASSERT_TRUE(b.ok());
    first = *a;
    second = *b;
    EXPECT_LT(first, second);
    ASSERT_TRUE(store->UpdateWriteIntent(second, 3, "primary down").ok());
  }
  auto store = OpenStore(o, rt.runtime());
  ASSERT_TRUE(store);
  auto pending = store->PendingWriteIntents();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, first);
  EXPECT_EQ((*pending)[0].key, "dir/b");
  EXPECT_EQ((*pending)[0].staging_file, "stage-a");
  EXPECT_EQ((*pending)[0].size, 123u);
  EXPECT_EQ((*pending)[0].base_etag, "etag-dir/b");
  EXPECT_EQ((*pending)[0].metadata, MakeIntent("x", "y").metadata);
  EXPECT_EQ((*pending)[0].content_type, "text/plain");
  EXPECT_EQ((*pending)[0].created, MakeIntent("x", "y").created);
  EXPECT_EQ((*pending)[1].id, second);
  EXPECT_EQ((*pending)[1].attempts, 3u);
  EXPECT_EQ((*pending)[1].last_error, "primary down");
  // The files intents name stay; the one nobody owes the primary is gone.
  EXPECT_TRUE(std::filesystem::exists(store->staging_dir() + "/stage-a"));
  EXPECT_TRUE(std::filesystem::exists(store->staging_dir() + "/stage-b"));
  EXPECT_FALSE(std::filesystem::exists(store->staging_dir() + "/stage-orphan"));

  ASSERT_TRUE(store->CompleteWriteIntent(first).ok());
  pending = store->PendingWriteIntents();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, second);
}

TEST(ShadowIntentsTest, SchemaVersionOneCatalogMigrates) {
  shadowfs::testing::TempDir dir;
  base::OwnedRuntime rt;
  ShadowStoreOptions o = StoreOptions(dir.path());
  {
    auto store = OpenStore(o, rt.runtime());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->Fill("k", "e1", 10, 0, "0123456789", {}).ok());
  }
  {
    // Turn the catalog into what a version-1 build wrote.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() + "/catalog.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "DROP TABLE write_intents; UPDATE meta SET value = '1' WHERE name = "
                           "'schema_version';",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = OpenStore(o, rt.runtime());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Find("k").has_value());  // shadows survive the migration
  auto id = store->RecordWriteIntent(MakeIntent("k", "stage-x"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  store.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/catalog.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = 'schema_version'", -1, &s,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), 2);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

}  // namespace
}  // namespace shadowfs::shadow
