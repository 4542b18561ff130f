// `shadowfs reconcile` as a user runs it: the built binary against a file:// primary and a store
// prepared by the test.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "blobstore/base/runtime.h"
#include "blobstore/local_dir_blob_store.h"
#include "blobstore/reconcile/reconciler.h"
#include "blobstore/shadow/shadow_store.h"
#include "tests/blobstore/reconcile/reconcile_test_util.h"
#include "tests/support/subprocess.h"

extern char** environ;

namespace shadowfs::reconcile::testing {
namespace {

using shadowfs::testing::CommandResult;
using shadowfs::testing::RunCommand;

class ReconcileCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(primary_dir());
    auto primary = blobstore::LocalDirBlobStore::Open(primary_dir(), runtime_.runtime().clock);
    ASSERT_TRUE(primary.ok()) << primary.status().ToString();
    primary_ = std::move(primary).value();
  }

  std::string primary_dir() const { return dir_.path() + "/primary"; }
  std::string primary_url() const { return "file://" + primary_dir(); }
  std::string store_dir() const { return dir_.path() + "/store"; }

  std::unique_ptr<shadow::ShadowStore> OpenStore() {
    shadow::ShadowStoreOptions options;
    options.dir = store_dir();
    auto store = shadow::ShadowStore::Open(options, runtime_.runtime());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  void PutWithShadow(shadow::ShadowStore& store, const std::string& key, const std::string& data) {
    auto info = blobstore::PutString(*primary_, key, data);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    ASSERT_TRUE(store.Fill(key, info->etag, data.size(), 0, data, {}).ok());
  }

  CommandResult Reconcile(std::vector<std::string> args) {
    std::vector<std::string> argv = {SHADOWFS_BINARY, "reconcile"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  static int Lines(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  TempDir dir_;
  base::OwnedRuntime runtime_{base::OwnedRuntime::Time::kSystem};
  std::unique_ptr<blobstore::BlobStore> primary_;
};

TEST_F(ReconcileCliTest, OnceReportsTheCycleAsJson) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    PutWithShadow(*store, "docs/same", "unchanged");
    PutWithShadow(*store, "docs/edited", "first draft");
    PutWithShadow(*store, "docs/removed", "soon gone");
  }
  ASSERT_TRUE(blobstore::PutString(*primary_, "docs/edited", "second draft, by someone else").ok());
  ASSERT_TRUE(primary_->Delete("docs/removed").ok());

  CommandResult r = Reconcile({"--once", "--store", store_dir(), primary_url(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "not one JSON object: " << r.output;
  EXPECT_EQ(j["shadows"], 3);
  EXPECT_EQ(j["matched"], 1);
  EXPECT_EQ(j["changed"], 1);
  EXPECT_EQ(j["deleted"], 1);
  EXPECT_EQ(j["list_requests"], 1);
  EXPECT_TRUE(j["error"].is_null());

  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto left = store->List("");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].key, "docs/same");
}

TEST_F(ReconcileCliTest, OncePrintsOneLineWithoutJson) {
  CommandResult r = Reconcile({"--once", "--store", store_dir(), primary_url()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Lines(r.output), 1) << r.output;
  EXPECT_NE(r.output.find("0 shadows"), std::string::npos) << r.output;
}

// This process plays a mount: it has the store open and reconciles it. A standalone reconcile
// must refuse, naming the holder, rather than work from its own stale copy of the index.
TEST_F(ReconcileCliTest, StoreHeldByAnotherProcessFailsClearly) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ReconcilerOptions options;
  options.store_dir = store_dir();
  auto holder = Reconciler::Create(primary_.get(), store.get(), nullptr, nullptr, options,
                                   runtime_.runtime());
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();

  CommandResult r = Reconcile({"--once", "--store", store_dir(), primary_url()});
  // EX_TEMPFAIL: the timer's one-shot service counts it as success (the holder reconciles).
  EXPECT_EQ(r.exit_code, 75) << r.output;
  EXPECT_EQ(r.output, "shadowfs reconcile: shadow store " + store_dir() + " is in use by pid " +
                          std::to_string(::getpid()) + "\n");
}

TEST_F(ReconcileCliTest, BadPrimaryFailsWithOneLine) {
  for (const char* url : {"ftp://example.com/x", "file://relative/dir"}) {
    CommandResult r = Reconcile({"--once", "--store", store_dir(), url});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_EQ(Lines(r.output), 1) << r.output;
    EXPECT_TRUE(r.output.starts_with("shadowfs reconcile: ")) << r.output;
    EXPECT_NE(r.output.find(url), std::string::npos) << r.output;
  }
}

TEST_F(ReconcileCliTest, UnusableStoreDirectoryFailsWithOneLine) {
  std::string file = dir_.path() + "/a-file";
  std::ofstream(file) << "not a directory";
  CommandResult r = Reconcile({"--once", "--store", file + "/store", primary_url()});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(Lines(r.output), 1) << r.output;
  EXPECT_TRUE(r.output.starts_with("shadowfs reconcile: ")) << r.output;
}

// Without --once it runs until SIGTERM, then exits 0 and lets go of the store.
TEST_F(ReconcileCliTest, ServiceStopsCleanlyOnSigterm) {
  std::vector<std::string> args = {SHADOWFS_BINARY, "reconcile",  "--store", store_dir(),
                                   primary_url(),   "--interval", "1"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  // Running once it holds the lock with its pid in it.
  std::string lock = store_dir() + "/reconcile.lock";
  bool running = PollUntil([&] {
    std::ifstream in(lock);
    std::string pid_text;
    std::getline(in, pid_text);
    return pid_text == std::to_string(pid);
  });
  int status = 0;
  if (!running) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "the service never took the store lock";
  }
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  bool exited = PollUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "the service did not stop on SIGTERM";
  }
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);

  // The lock is free again.
  CommandResult r = Reconcile({"--once", "--store", store_dir(), primary_url()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace shadowfs::reconcile::testing
