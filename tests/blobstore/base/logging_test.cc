#include "blobstore/base/logging.h"

#include <gtest/gtest.h>

namespace shadowfs::base {
namespace {

TEST(LoggingTest, RedactsCredentials) {
  std::string text =
      "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3, "
      "Signature=abcdef\nX-Amz-Security-Token: tok123\nurl?X-Amz-Signature=deadbeef&x=1 "
      "aws_secret_access_key = wJalrXUtnFEMI";
  std::string out = RedactSecrets(text);
  EXPECT_EQ(out.find("AKIDEXAMPLE"), std::string::npos) << out;
  EXPECT_EQ(out.find("abcdef"), std::string::npos) << out;
  EXPECT_EQ(out.find("tok123"), std::string::npos) << out;
  EXPECT_EQ(out.find("deadbeef"), std::string::npos) << out;
  EXPECT_EQ(out.find("wJalrXUtnFEMI"), std::string::npos) << out;
  EXPECT_NE(out.find("x=1"), std::string::npos) << out;
}

TEST(LoggingTest, LevelsFilter) {
  CapturingLogger log;
  LogStream(log, LogLevel::kInfo) << "hello " << 42;
  EXPECT_TRUE(log.Contains("info hello 42"));
  LogLevel level;
  EXPECT_TRUE(ParseLogLevel("warn", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud", &level));
}

}  // namespace
}  // namespace shadowfs::base
