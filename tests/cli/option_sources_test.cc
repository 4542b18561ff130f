// Where an option's value comes from: a flag, then -o, then the configuration file's command
// table, then its top level, then the default; and the errors a user gets for a bad file.
#include "cli/option_sources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli/mount_command.h"
#include "cli/reconcile_command.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The real commands' options, parsed and resolved as main() does.
class OptionSourcesTest : public ::testing::Test {
 protected:
  OptionSourcesTest() {
    app_.add_option("--log-level", log_level_);
    config_ = app_.add_option("--config", config_path_);
    app_.fallthrough();
    mount_ = AddMountCommand(app_, &mount_options_);
    reconcile_ = AddReconcileCommand(app_, &reconcile_options_);
  }

  std::string WriteConfig(const std::string& text) {
    std::string path = dir_.File("shadowfs.toml");
    std::ofstream(path) << text;
    return path;
  }

  // Parses `args` (after the program name) and applies -o and the file; the first error.
  base::Status Run(std::vector<std::string> args) {
    args.insert(args.begin(), "shadowfs");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    try {
      app_.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      return base::Status::InvalidArgument(std::string("parse: ") + e.what());
    }
    if (*mount_) SHADOWFS_RETURN_IF_ERROR(ApplyOptionEntries(mount_, &mount_options_.o));
    return ApplyConfigFile(&app_, config_path_, config_->count() > 0);
  }

  std::vector<std::string> Mount(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"mount", "mem://", "/mnt/x"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  testing::TempDir dir_{"config"};
  CLI::App app_;
  std::string log_level_ = "warning";
  std::string config_path_ = dir_.File("absent.toml");
  CLI::Option* config_ = nullptr;
  MountCommandOptions mount_options_;
  ReconcileCommandOptions reconcile_options_;
  CLI::App* mount_ = nullptr;
  CLI::App* reconcile_ = nullptr;
};

TEST_F(OptionSourcesTest, AnAbsentDefaultFileLeavesTheDefaults) {
  ASSERT_TRUE(Run(Mount()).ok());
  EXPECT_EQ(mount_options_.cache_size, "10G");
  EXPECT_EQ(mount_options_.min_confidence, 0.9);
  EXPECT_FALSE(mount_options_.writeback);
}

TEST_F(OptionSourcesTest, TopLevelKeysApplyToEveryCommandThatHasTheOption) {
  std::string path = WriteConfig(
      "cache-size = \"2G\"\nmin-confidence = 0.5\nwriteback = true\nlog-level = \"info\"\n"
      "region = \"eu-west-1\"\ninterval = 30\n");
  ASSERT_TRUE(Run(Mount({"--config", path})).ok());
  EXPECT_EQ(mount_options_.cache_size, "2G");
  EXPECT_EQ(mount_options_.min_confidence, 0.5);
  EXPECT_TRUE(mount_options_.writeback);
  EXPECT_EQ(mount_options_.log_level, "info");
  EXPECT_EQ(log_level_, "info");
  EXPECT_EQ(mount_options_.primary.region, "eu-west-1");
}

TEST_F(OptionSourcesTest, TopLevelKeysReachReconcileToo) {
  std::string path = WriteConfig("cache-size = \"2G\"\ninterval = 30\nmin-confidence = 0.5\n");
  ASSERT_TRUE(Run({"--config", path, "reconcile", "--store", "/s", "mem://"}).ok());
  EXPECT_EQ(reconcile_options_.cache_size, "2G");
  EXPECT_EQ(reconcile_options_.interval_seconds, 30);
}

TEST_F(OptionSourcesTest, ACommandTableOverridesTheTopLevelForThatCommandOnly) {
  std::string path =
      WriteConfig("cache-size = \"2G\"\n[mount]\ncache-size = \"3G\"\n[reconcile]\nonce = 1\n");
  // [reconcile] once = 1: refused even though the command run is mount (typos never hide).
  EXPECT_THAT(Run(Mount({"--config", path})).message(), HasSubstr("'once'"));

  path = WriteConfig("cache-size = \"2G\"\n[mount]\ncache-size = \"3G\"\n");
  ASSERT_TRUE(Run(Mount({"--config", path})).ok());
  EXPECT_EQ(mount_options_.cache_size, "3G");
}

TEST_F(OptionSourcesTest, TheTableDoesNotLeakIntoOtherCommands) {
  std::string path = WriteConfig("cache-size = \"2G\"\n[mount]\ncache-size = \"3G\"\n");
  ASSERT_TRUE(Run({"reconcile", "--config", path, "--store", "/s", "mem://"}).ok());
  EXPECT_EQ(reconcile_options_.cache_size, "2G");
}

TEST_F(OptionSourcesTest, PrecedenceIsFlagThenDashOThenFileThenDefault) {
  std::string path = WriteConfig(
      "[mount]\ncache-size = \"3G\"\nmin-confidence = 0.3\nconflict = \"fail\"\n"
      "store = \"/file-store\"\n");
  ASSERT_TRUE(Run(Mount({"--config", path, "--cache-size", "1G", "-o",
                         "cache-size=2G,min_confidence=0.7,allow_other,uid=7"}))
                  .ok());
  EXPECT_EQ(mount_options_.cache_size, "1G");     // the flag beats -o and the file
  EXPECT_EQ(mount_options_.min_confidence, 0.7);  // -o beats the file
  EXPECT_EQ(mount_options_.conflict, "fail");     // the file beats the default
  EXPECT_EQ(mount_options_.store_dir, "/file-store");
  EXPECT_EQ(mount_options_.debug, false);  // the default
  // What is not a shadowfs option stays for ApplyMountOptions and FUSE.
  EXPECT_EQ(mount_options_.o, std::vector<std::string>{"allow_other,uid=7"});
}

TEST_F(OptionSourcesTest, DashOFlagsAndTheirErrors) {
  ASSERT_TRUE(Run(Mount({"-o", "writeback,foreground=false,debug=yes"})).ok());
  EXPECT_TRUE(mount_options_.writeback);
  EXPECT_FALSE(mount_options_.foreground);
  EXPECT_TRUE(mount_options_.debug);
  EXPECT_TRUE(mount_options_.o.empty());
}

TEST_F(OptionSourcesTest, DashOWithoutAValueOrWithABadOneNamesTheEntry) {
  EXPECT_THAT(Run(Mount({"-o", "cache-size"})).message(), HasSubstr("cache-size needs a value"));
}

TEST_F(OptionSourcesTest, DashOBadNumberNamesTheEntry) {
  EXPECT_THAT(Run(Mount({"-o", "min-confidence=high"})).message(),
              HasSubstr("bad -o min-confidence=high"));
}

TEST_F(OptionSourcesTest, DashOBadFlagValueNamesTheEntry) {
  EXPECT_THAT(Run(Mount({"-o", "writeback=maybe"})).message(), HasSubstr("writeback=maybe"));
}

TEST_F(OptionSourcesTest, DashOCanNameTheConfigFile) {
  std::string path = WriteConfig("cache-size = \"4G\"\n");
  ASSERT_TRUE(Run(Mount({"-o", "config=" + path})).ok());
  EXPECT_EQ(mount_options_.cache_size, "4G");
}

TEST_F(OptionSourcesTest, UnknownKeyNamesTheFileLineAndKey) {
  std::string path = WriteConfig("cache-size = \"2G\"\ncache-sise = \"3G\"\n");
  base::Status s = Run(Mount({"--config", path}));
  EXPECT_EQ(s.code(), base::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith(path + ":2:1: "));
  EXPECT_THAT(s.message(), HasSubstr("unknown option 'cache-sise'"));
}

TEST_F(OptionSourcesTest, KeysOfATableMustBeOptionsOfThatCommand) {
  // interval is reconcile's, not mount's.
  std::string path = WriteConfig("[mount]\ninterval = 5\n");
  EXPECT_THAT(Run(Mount({"--config", path})).message(),
              HasSubstr("unknown option 'interval' in [mount]"));
  path = WriteConfig("[mounts]\ncache-size = \"1G\"\n");
  EXPECT_THAT(Run(Mount({"--config", path})).message(), HasSubstr("unknown table [mounts]"));
}

TEST_F(OptionSourcesTest, WrongTypeNamesTheKeyAndTheTypeExpected) {
  std::string path = WriteConfig("[mount]\nmin-confidence = \"high\"\n");
  base::Status s = Run(Mount({"--config", path}));
  EXPECT_THAT(s.message(), StartsWith(path + ":2:1: "));
  EXPECT_THAT(s.message(), HasSubstr("'min-confidence' must be a number"));

  path = WriteConfig("writeback = \"yes\"\n");
  EXPECT_THAT(Run(Mount({"--config", path})).message(),
              HasSubstr("'writeback' must be true or false"));
}

TEST_F(OptionSourcesTest, CacheSizeAsABareNumberIsAWrongType) {
  std::string path = WriteConfig("cache-size = 10\n");
  EXPECT_THAT(Run(Mount({"--config", path})).message(), HasSubstr("'cache-size' must be a string"));
}

TEST_F(OptionSourcesTest, AValueCLI11RefusesNamesTheKey) {
  std::string path = WriteConfig("interval = 0\n");  // --interval is checked: 1 s to 7 days
  base::Status s = Run({"--config", path, "reconcile", "--store", "/s", "mem://"});
  EXPECT_THAT(s.message(), StartsWith(path + ":1:"));
  EXPECT_THAT(s.message(), HasSubstr("'interval'"));
}

TEST_F(OptionSourcesTest, MalformedTomlNamesTheFileLineAndColumn) {
  std::string path = WriteConfig("cache-size = \"2G\"\n[mount\nwriteback = true\n");
  base::Status s = Run(Mount({"--config", path}));
  EXPECT_EQ(s.code(), base::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith(path + ":2:"));
  EXPECT_THAT(s.message(), HasSubstr("malformed TOML"));
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
}

TEST_F(OptionSourcesTest, CommandLineOnlyOptionsAreRefusedInTheFile) {
  std::string path = WriteConfig("config = \"/etc/other.toml\"\n");
  EXPECT_THAT(Run(Mount({"--config", path})).message(),
              HasSubstr("'config' can only be given on the command line"));
}

TEST_F(OptionSourcesTest, TheShippedExampleIsValid) {
  std::string example = std::string(SHADOWFS_SOURCE_DIR) + "/packaging/shadowfs.toml.example";
  ASSERT_TRUE(Run(Mount({"--config", example})).ok());
  EXPECT_EQ(mount_options_.conflict, "copy");
  EXPECT_EQ(mount_options_.primary.region, "us-east-1");
}

TEST_F(OptionSourcesTest, AnExplicitFileMustExist) {
  EXPECT_THAT(Run(Mount({"--config", dir_.File("nope.toml")})).message(),
              HasSubstr("no such configuration file"));
}

}  // namespace
}  // namespace shadowfs::cli
