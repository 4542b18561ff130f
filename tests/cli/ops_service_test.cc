// OpsService over a MemBlobStore primary and a ShadowStore in a temporary directory: the JSON
// the operator commands print is what the store holds, and each op changes what a user sees.
#include "cli/ops_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "blobstore/mem_blob_store.h"
#include "cli/parse_duration.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::cli {
namespace {

using ::testing::HasSubstr;

class OpsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shadow::ShadowStoreOptions options;
    options.dir = dir_.File("store");
    options.chunk_size = 4096;
    auto store = shadow::ShadowStore::Open(options, rt_.runtime());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    materializer_ = std::make_unique<shadow::Materializer>(
        &primary_, store_.get(), shadow::MaterializerOptions{}, rt_.runtime());
    for (const auto& [key, size] : std::vector<std::pair<std::string, size_t>>{
             {"pre/a.txt", 10}, {"pre/d/one", 10000}, {"pre/d/two", 5}, {"other", 3}}) {
      ASSERT_TRUE(blobstore::PutString(primary_, key, std::string(size, 'x')).ok());
    }
    OpsContext c;
    c.store = store_.get();
    c.materializer = materializer_.get();
    c.primary = &primary_;
    c.prefix = "pre/";
    c.metrics = &rt_.metrics();
    c.store_dir = options.dir;
    c.runtime = rt_.runtime();
    service_ = std::make_unique<OpsService>(std::move(c));
  }

  Json Call(const std::string& op, Json args = Json::object()) {
    Json reply = service_->Handle({{"op", op}, {"args", std::move(args)}});
    EXPECT_TRUE(reply.value("ok", false)) << op << ": " << reply.dump();
    return reply.value("result", Json());
  }
  std::string Error(const std::string& op, Json args) {
    Json reply = service_->Handle({{"op", op}, {"args", std::move(args)}});
    EXPECT_FALSE(reply.value("ok", true)) << op << ": " << reply.dump();
    return reply.value("error", "");
  }
  std::vector<std::string> Paths(const Json& ls) {
    std::vector<std::string> out;
    for (const Json& s : ls) out.push_back(s.at("path").get<std::string>());
    return out;
  }

  testing::TempDir dir_{"ops"};
  base::OwnedRuntime rt_;
  blobstore::MemBlobStore primary_{rt_.runtime().clock};
  std::unique_ptr<shadow::ShadowStore> store_;
  std::unique_ptr<shadow::Materializer> materializer_;
  std::unique_ptr<OpsService> service_;
};

TEST_F(OpsServiceTest, CreateThenLsShowsTheShadowWithItsSettings) {
  EXPECT_TRUE(Call("shadow.ls").empty());
  Json created = Call("shadow.create", {{"path", "a.txt"}, {"ttl_seconds", 7200}, {"pin", true}});
  EXPECT_EQ(created.at("materialized"), 1);
  Json ls = Call("shadow.ls", {{"path", ""}});
  ASSERT_EQ(ls.size(), 1u);
  const Json& s = ls[0];
  EXPECT_EQ(s.at("key"), "pre/a.txt");
  EXPECT_EQ(s.at("path"), "a.txt");
  EXPECT_EQ(s.at("size"), 10);
  EXPECT_EQ(s.at("origin"), "manual");
  EXPECT_EQ(s.at("pinned"), true);
  EXPECT_GT(s.at("confidence").get<double>(), 0.99);
  EXPECT_TRUE(s.at("expires").is_string());
  auto expires = ParseTime(s.at("expires").get<std::string>(), {});
  ASSERT_TRUE(expires.ok());
  EXPECT_EQ(*expires, std::chrono::time_point_cast<std::chrono::seconds>(
                          rt_.runtime().clock->Now() + std::chrono::hours(2)));
  Json show = Call("shadow.show", {{"path", "a.txt"}});
  EXPECT_EQ(show.at("etag"), primary_.Head("pre/a.txt")->etag);
  EXPECT_EQ(show.at("complete"), true);
}

TEST_F(OpsServiceTest, CreateWithAFutureValidFromSchedulesTheShadow) {
  auto later = rt_.runtime().clock->Now() + std::chrono::hours(3);
  int64_t unix = std::chrono::duration_cast<std::chrono::seconds>(later.time_since_epoch()).count();
  Call("shadow.create", {{"path", "a.txt"}, {"valid_from_unix", unix}});
  Json show = Call("shadow.show", {{"path", "a.txt"}});
  EXPECT_EQ(show.at("valid_from"), FormatTime(base::WallTime(std::chrono::seconds(unix))));
}

TEST_F(OpsServiceTest, DirectoriesNeedRecursive) {
  EXPECT_THAT(Error("shadow.create", {{"path", "d"}}), HasSubstr("--recursive"));
  Json created = Call("shadow.create", {{"path", "d"}, {"recursive", true}});
  EXPECT_EQ(created.at("files"), 2);
  EXPECT_EQ(Paths(Call("shadow.ls", {{"path", "d"}})),
            (std::vector<std::string>{"d/one", "d/two"}));
  EXPECT_THAT(Error("shadow.drop", {{"path", "d"}}), HasSubstr("--recursive"));
  EXPECT_EQ(Call("shadow.drop", {{"path", "d"}, {"recursive", true}}).at("dropped"), 2);
  EXPECT_TRUE(Call("shadow.ls").empty());
  EXPECT_THAT(Error("shadow.create", {{"path", "missing"}}), HasSubstr("no such file"));
}

TEST_F(OpsServiceTest, PinUnpinDropChangeWhatLsShows) {
  Call("warmup", {{"paths", {"a.txt", "d"}}});
  EXPECT_EQ(Paths(Call("shadow.ls")), (std::vector<std::string>{"a.txt", "d/one", "d/two"}));
  EXPECT_EQ(Call("shadow.ls")[0].at("pinned"), false);
  Call("shadow.pin", {{"path", "a.txt"}});
  EXPECT_EQ(Call("shadow.ls", {{"path", "a.txt"}})[0].at("pinned"), true);
  Call("shadow.unpin", {{"path", "a.txt"}});
  EXPECT_EQ(Call("shadow.ls", {{"path", "a.txt"}})[0].at("pinned"), false);
  Call("shadow.drop", {{"path", "a.txt"}});
  EXPECT_EQ(Paths(Call("shadow.ls")), (std::vector<std::string>{"d/one", "d/two"}));
  EXPECT_THAT(Error("shadow.pin", {{"path", "a.txt"}}), HasSubstr("no shadow of 'a.txt'"));
  EXPECT_THAT(Error("shadow.show", {{"path", "a.txt"}}), HasSubstr("no shadow of 'a.txt'"));
}

TEST_F(OpsServiceTest, WarmupReportsProgressAndMaterializesManually) {
  std::vector<Json> reports;
  Json reply =
      service_->Handle({{"op", "warmup"}, {"args", {{"paths", {"d"}}}}}, [&](const Json& p) {
        reports.push_back(p);
        return true;
      });
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  EXPECT_EQ(reply["result"].at("bytes"), 10005);
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().at("files_done"), 2);
  EXPECT_EQ(reports.back().at("bytes_done"), 10005);
  for (const Json& s : Call("shadow.ls")) EXPECT_EQ(s.at("origin"), "manual");
  // A requester that goes away stops the work.
  Call("shadow.drop", {{"path", "d"}, {"recursive", true}});
  reply = service_->Handle({{"op", "warmup"}, {"args", {{"paths", {"d"}}}}},
                           [](const Json&) { return false; });
  EXPECT_FALSE(reply.value("ok", true));
  EXPECT_TRUE(Call("shadow.ls").empty());
}

TEST_F(OpsServiceTest, VerifyDropsShadowsOfChangedAndDeletedFiles) {
  Call("warmup", {{"paths", {""}}});
  ASSERT_EQ(Call("shadow.ls").size(), 3u);
  ASSERT_TRUE(blobstore::PutString(primary_, "pre/d/one", "changed").ok());
  ASSERT_TRUE(primary_.Delete("pre/d/two").ok());
  Json v = Call("shadow.verify");
  EXPECT_EQ(v.at("shadows"), 3);
  EXPECT_EQ(v.at("versions_checked"), true);
  EXPECT_EQ(v.at("current"), 1);
  EXPECT_EQ(v.at("stale_dropped"), 1);
  EXPECT_EQ(v.at("deleted_dropped"), 1);
  EXPECT_GT(v.at("chunks_scrubbed").get<int>(), 0);
  EXPECT_EQ(Paths(Call("shadow.ls")), (std::vector<std::string>{"a.txt"}));
  EXPECT_THAT(Error("shadow.verify", {{"path", "d/one"}}), HasSubstr("no shadow"));
}

TEST_F(OpsServiceTest, OfflineServiceRefusesToFetchButInspects) {
  Call("warmup", {{"paths", {"a.txt"}}});
  OpsContext offline;
  offline.store = store_.get();
  offline.runtime = rt_.runtime();
  OpsService service(std::move(offline));
  Json ls = service.Handle({{"op", "shadow.ls"}, {"args", {{"key", ""}}}});
  ASSERT_TRUE(ls.value("ok", false));
  EXPECT_EQ(ls["result"][0].at("key"), "pre/a.txt");
  Json create = service.Handle({{"op", "shadow.create"}, {"args", {{"key", "pre/a.txt"}}}});
  EXPECT_FALSE(create.value("ok", true));
  EXPECT_THAT(create.value("error", ""), HasSubstr("needs a running mount"));
  Json verify = service.Handle({{"op", "shadow.verify"}, {"args", {{"key", ""}}}});
  ASSERT_TRUE(verify.value("ok", false)) << verify.dump();
  EXPECT_EQ(verify["result"].at("versions_checked"), false);
  Json stats = service.Handle({{"op", "stats"}});
  ASSERT_TRUE(stats.value("ok", false));
  EXPECT_TRUE(stats["result"].at("prediction").is_null());
  EXPECT_EQ(stats["result"]["store"].at("shadows"), 1);
}

TEST_F(OpsServiceTest, StatsAndStatusAndExtensions) {
  Json stats = Call("stats");
  EXPECT_EQ(stats["store"].at("capacity_bytes"), store_->capacity_bytes());
  EXPECT_TRUE(stats.at("prediction").is_null());
  Json status = Call("status");
  EXPECT_EQ(status.at("primary_reachable"), true);
  EXPECT_EQ(status.at("pending_uploads"), 0);
  service_->Register("predict.show", [](const Json& args, const auto&) -> base::Result<Json> {
    return Json{{"echo", args}};
  });
  EXPECT_EQ(Call("predict.show", {{"x", 1}}).at("echo").at("x"), 1);
  EXPECT_THAT(Error("nope", {}), HasSubstr("unknown op 'nope'"));
  Json bad = service_->Handle(Json("not an object"));
  EXPECT_FALSE(bad.value("ok", true));
  EXPECT_THAT(Error("shadow.drop", {{"path", 42}}), HasSubstr("malformed arguments"));
}

TEST(ParseDurationTest, UnitsAndErrors) {
  EXPECT_EQ(*ParseDuration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(*ParseDuration("10m"), std::chrono::minutes(10));
  EXPECT_EQ(*ParseDuration("2h"), std::chrono::hours(2));
  EXPECT_EQ(*ParseDuration("7d"), std::chrono::hours(7 * 24));
  for (const char* bad :
       {"", "s", "10", "0s", "-5m", "5 m", "1.5h", "3w", "10mm", "99999999999d"}) {
    auto r = ParseDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_THAT(r.status().message(), HasSubstr("bad duration")) << bad;
    }
  }
}

TEST(ParseTimeTest, Rfc3339AndRelative) {
  base::WallTime now{std::chrono::seconds(1'700'000'000)};
  auto t = ParseTime("2026-11-22T02:00:00Z", now);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->time_since_epoch(), std::chrono::seconds(1795312800));
  EXPECT_EQ(FormatTime(*t), "2026-11-22T02:00:00Z");
  EXPECT_EQ(*ParseTime("2026-11-22T03:30:00.250+01:30", now), *t);
  EXPECT_EQ(*ParseTime("2024-02-29T00:00:00z", now),
            base::WallTime(std::chrono::seconds(1709164800)));
  EXPECT_EQ(*ParseTime("+2h", now), now + std::chrono::hours(2));
  for (const char* bad : {"tomorrow", "2026-11-22", "2026-11-22T02:00:00", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-11-22T24:00:00Z", "+2x", "+",
                          "2026-11-22T02:00:00Zjunk", "2026-11-22T02:00:00+1:00"}) {
    auto r = ParseTime(bad, now);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_THAT(r.status().message(), HasSubstr("bad time")) << bad;
    }
  }
}

}  // namespace
}  // namespace shadowfs::cli
