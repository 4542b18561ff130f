#include "blobstore/blob_store.h"

#include <gtest/gtest.h>

namespace shadowfs::blobstore {
namespace {

TEST(ByteRangeTest, ResolvesAgainstSize) {
  EXPECT_EQ(ByteRange::Full().Resolve(10), std::make_pair(uint64_t{0}, uint64_t{10}));
  EXPECT_EQ(ByteRange::Span(2, 3).Resolve(10), std::make_pair(uint64_t{2}, uint64_t{5}));
  EXPECT_EQ(ByteRange::Span(8, 30).Resolve(10), std::make_pair(uint64_t{8}, uint64_t{10}));
  EXPECT_EQ(ByteRange::From(12).Resolve(10), std::make_pair(uint64_t{10}, uint64_t{10}));
  EXPECT_EQ(ByteRange::Last(3).Resolve(10), std::make_pair(uint64_t{7}, uint64_t{10}));
  EXPECT_EQ(ByteRange::Last(30).Resolve(10), std::make_pair(uint64_t{0}, uint64_t{10}));
  EXPECT_EQ(ByteRange::Full().Resolve(0), std::make_pair(uint64_t{0}, uint64_t{0}));
}

TEST(ByteRangeTest, HttpHeaders) {
  EXPECT_EQ(ByteRange::Full().ToHttpRange(), "");
  EXPECT_EQ(ByteRange::Span(0, 100).ToHttpRange(), "bytes=0-99");
  EXPECT_EQ(ByteRange::From(5).ToHttpRange(), "bytes=5-");
  EXPECT_EQ(ByteRange::Last(7).ToHttpRange(), "bytes=-7");
}

TEST(ValidateKeyTest, AcceptsS3KeysAndRejectsBadOnes) {
  EXPECT_TRUE(ValidateKey("a/b c+d%e?f#g~h").ok());
  EXPECT_TRUE(ValidateKey("ファイル").ok());
  EXPECT_TRUE(ValidateKey(std::string(1024, 'x')).ok());
  EXPECT_FALSE(ValidateKey("").ok());
  EXPECT_FALSE(ValidateKey(std::string(1025, 'x')).ok());
  EXPECT_FALSE(ValidateKey(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateKey("\xc3").ok());
  EXPECT_FALSE(ValidateKey("\xc3\x28").ok());
}

TEST(PreconditionsTest, ReadAndWriteAnswers) {
  ObjectInfo cur;
  cur.etag = "e1";
  Preconditions im{"e1", ""}, im_wrong{"e0", ""}, inm{"", "e1"}, star{"", "*"};
  EXPECT_TRUE(EvaluatePreconditions(im, &cur, false, "k").ok());
  EXPECT_TRUE(EvaluatePreconditions(im_wrong, &cur, false, "k").IsConflict());
  EXPECT_TRUE(EvaluatePreconditions(im_wrong, nullptr, false, "k").IsNotFound());
  EXPECT_TRUE(EvaluatePreconditions(im_wrong, nullptr, true, "k").IsConflict());
  EXPECT_TRUE(EvaluatePreconditions(inm, &cur, false, "k").IsNotModified());
  EXPECT_TRUE(EvaluatePreconditions(inm, &cur, true, "k").IsConflict());
  EXPECT_TRUE(EvaluatePreconditions(star, &cur, true, "k").IsConflict());
  EXPECT_TRUE(EvaluatePreconditions(star, nullptr, true, "k").ok());
}

}  // namespace
}  // namespace shadowfs::blobstore
