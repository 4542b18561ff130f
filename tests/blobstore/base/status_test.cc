#include "blobstore/base/status.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "blobstore/base/result.h"

namespace shadowfs::base {
namespace {

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  Status s = Status::NotFound("no such object 'x'");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.ToString(), "NotFound: no such object 'x'");
  EXPECT_EQ(s.WithContext("reading x").ToString(), "NotFound: reading x: no such object 'x'");
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(ErrnoStatus(ENOSPC, "write").code(), StatusCode::kNoSpace);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EACCES, "open").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EIO, "read").code(), StatusCode::kIOError);
  EXPECT_NE(ErrnoStatus(ENOSPC, "write").message().find("write: "), std::string::npos);
}

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  SHADOWFS_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(ResultTest, ValueOrStatusAndPropagation) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Quarter(8).status().ok());
}

}  // namespace
}  // namespace shadowfs::base
