#include "blobstore/s3/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace shadowfs::s3 {
namespace {

namespace fs = std::filesystem;

const char* const kVariables[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                  "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"};

// Each test starts with none of the AWS variables set and a temporary HOME-like directory; both
// are restored afterwards.
class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      const char* value = std::getenv(name);
      if (value != nullptr) saved_[name] = value;
      ::unsetenv(name);
    }
    char pattern[] = "/tmp/shadowfs-creds-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const char* name : kVariables) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Write(const std::string& relative, const std::string& text, mode_t mode) {
    fs::path path = fs::path(dir_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path.string();
  }

  CredentialOptions Options() {
    CredentialOptions o;
    o.home = dir_;
    return o;
  }

  std::string dir_;
  std::map<std::string, std::string> saved_;
};

const char kShared[] =
    "# comment\n"
    "[default]\n"
    "aws_access_key_id = AKDEFAULT\n"
    "aws_secret_access_key = default-secret\n"
    "\n"
    "; another comment\n"
    "[work]\n"
    "aws_access_key_id=AKWORK\n"
    "aws_secret_access_key=work-secret\n"
    "aws_session_token = work-token\n";

TEST_F(CredentialsTest, EnvironmentComesBeforeTheSharedFile) {
  Write(".aws/credentials", kShared, 0600);
  ::setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  ::setenv("AWS_SESSION_TOKEN", "env-token", 1);
  auto c = LoadCredentials(Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKENV");
  EXPECT_EQ(c->secret_access_key, "env-secret");
  EXPECT_EQ(c->session_token, "env-token");
  EXPECT_EQ(c->source, "environment");
}

TEST_F(CredentialsTest, HalfSetEnvironmentIsAnError) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
  auto c = LoadCredentials(Options());
  EXPECT_EQ(c.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST_F(CredentialsTest, SharedFileDefaultProfile) {
  std::string path = Write(".aws/credentials", kShared, 0644);  // the shared file may be 0644
  auto c = LoadCredentials(Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKDEFAULT");
  EXPECT_EQ(c->secret_access_key, "default-secret");
  EXPECT_TRUE(c->session_token.empty());
  EXPECT_EQ(c->source, path + " [default]");
}

TEST_F(CredentialsTest, ProfileFromOptionsAndFromAwsProfile) {
  Write(".aws/credentials", kShared, 0600);
  CredentialOptions options = Options();
  options.profile = "work";
  auto c = LoadCredentials(options);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKWORK");
  EXPECT_EQ(c->session_token, "work-token");

  ::setenv("AWS_PROFILE", "work", 1);
  c = LoadCredentials(Options());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKWORK");
}

TEST_F(CredentialsTest, SharedFileFromEnvironmentVariable) {
  std::string path = Write("elsewhere/creds", kShared, 0600);
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", path.c_str(), 1);
  auto c = LoadCredentials(Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKDEFAULT");
}

TEST_F(CredentialsTest, UserNamedFileMustNotBeReadableByOthers) {
  std::string path = Write("mine", kShared, 0644);
  CredentialOptions options = Options();
  options.credentials_file = path;
  auto c = LoadCredentials(options);
  ASSERT_EQ(c.status().code(), base::StatusCode::kPermissionDenied) << c.status().ToString();
  EXPECT_NE(c.status().message().find("0644"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("chmod 600"), std::string::npos) << c.status().message();

  ::chmod(path.c_str(), 0640);
  EXPECT_EQ(LoadCredentials(options).status().code(), base::StatusCode::kPermissionDenied);

  ::chmod(path.c_str(), 0600);
  c = LoadCredentials(options);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKDEFAULT");
  EXPECT_EQ(c->source, path + " [default]");

  ::chmod(path.c_str(), 0400);
  EXPECT_TRUE(LoadCredentials(options).ok());
}

TEST_F(CredentialsTest, UserNamedFileWinsOverTheEnvironment) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  CredentialOptions options = Options();
  options.credentials_file = Write("mine", kShared, 0600);
  options.profile = "work";
  auto c = LoadCredentials(options);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKWORK");
}

TEST_F(CredentialsTest, UserNamedFileProblemsAreReported) {
  CredentialOptions options = Options();
  options.credentials_file = dir_ + "/does-not-exist";
  EXPECT_TRUE(LoadCredentials(options).status().IsNotFound());

  options.credentials_file = Write("mine", kShared, 0600);
  options.profile = "nope";
  auto c = LoadCredentials(options);
  EXPECT_TRUE(c.status().IsNotFound());
  EXPECT_NE(c.status().message().find("[nope]"), std::string::npos);
}

TEST_F(CredentialsTest, MalformedFilesAreInvalidArgumentWithoutEchoingSecrets) {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (const Case& c : {
           Case{"[default\naws_access_key_id = A\n", ":1: section header"},
           Case{"aws_secret_access_key = top-secret-value\n", ":1: setting before"},
           Case{"[default]\naws_access_key_id = A\nthis line top-secret-value has no equals\n",
                ":3: expected"},
           Case{"[default]\naws_access_key_id = A\n", "needs both"},
           Case{"[]\n", "empty profile"},
       }) {
    CredentialOptions options = Options();
    options.credentials_file = Write("bad", c.text, 0600);
    auto r = LoadCredentials(options);
    ASSERT_EQ(r.status().code(), base::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("top-secret-value"), std::string::npos)
        << r.status().message();
  }
}

TEST_F(CredentialsTest, NothingFoundListsWhereItLooked) {
  auto c = LoadCredentials(Options());
  ASSERT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("environment"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find(dir_ + "/.aws/credentials"), std::string::npos)
      << c.status().message();

  Write(".aws/credentials", kShared, 0600);
  CredentialOptions options = Options();
  options.profile = "absent";
  c = LoadCredentials(options);
  ASSERT_TRUE(c.status().IsNotFound());
  EXPECT_NE(c.status().message().find("no profile [absent]"), std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace shadowfs::s3
