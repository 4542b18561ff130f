#include "blobstore/base/digest.h"

#include <gtest/gtest.h>

#include <vector>

namespace shadowfs::base {
namespace {

TEST(DigestTest, KnownVectors) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("hello"), "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
}

}  // namespace
}  // namespace shadowfs::base

namespace shadowfs::base {
namespace {

TEST(DigestTest, Base64DecodeReversesEncodeAndRejectsGarbage) {
  for (const std::string& s :
       std::vector<std::string>{"", "h", "he", "hel", "hello", std::string("\0\xff\x80", 3)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Decode("aGVs\nbG8"), "hello");          // whitespace and missing padding
  EXPECT_EQ(Base64Decode("-_-_"), Base64Decode("+/+/"));  // URL-safe alphabet
  EXPECT_EQ(Base64Decode("aGV*bG8="), std::nullopt);
}

}  // namespace
}  // namespace shadowfs::base
