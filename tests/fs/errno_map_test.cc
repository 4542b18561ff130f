// The errno a user of the mount sees for each Status code the core answers.
#include "fs/errno_map.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace shadowfs::fs {
namespace {

using base::Status;

TEST(ErrnoMapTest, EveryCodeHasTheErrnoUsersExpect) {
  EXPECT_EQ(ErrnoFromStatus(Status::Ok()), 0);
  EXPECT_EQ(ErrnoFromStatus(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ErrnoFromStatus(Status::AlreadyExists("x")), EEXIST);
  EXPECT_EQ(ErrnoFromStatus(Status::Conflict("x")), ESTALE);
  // Hard links and refusals: ln(1) prints "Operation not permitted".
  EXPECT_EQ(ErrnoFromStatus(Status::PermissionDenied("x")), EPERM);
  EXPECT_EQ(ErrnoFromStatus(Status::NoSpace("x")), ENOSPC);
  EXPECT_EQ(ErrnoFromStatus(Status::InvalidArgument("x")), EINVAL);
  EXPECT_EQ(ErrnoFromStatus(Status::NotSupported("x")), ENOTSUP);
  EXPECT_EQ(ErrnoFromStatus(Status::NotEmpty("x")), ENOTEMPTY);
  EXPECT_EQ(ErrnoFromStatus(Status::IsDirectory("x")), EISDIR);
  EXPECT_EQ(ErrnoFromStatus(Status::NotDirectory("x")), ENOTDIR);
  EXPECT_EQ(ErrnoFromStatus(Status::NameTooLong("x")), ENAMETOOLONG);
  EXPECT_EQ(ErrnoFromStatus(Status::Unavailable("x")), EIO);
  EXPECT_EQ(ErrnoFromStatus(Status::Corruption("x")), EIO);
  EXPECT_EQ(ErrnoFromStatus(Status::IOError("x")), EIO);
}

TEST(ErrnoMapTest, NoFailureMapsToSuccess) {
  for (int code = 1; code <= static_cast<int>(base::StatusCode::kNameTooLong); ++code) {
    Status s(static_cast<base::StatusCode>(code), "x");
    EXPECT_GT(ErrnoFromStatus(s), 0) << base::StatusCodeName(s.code());
  }
}

}  // namespace
}  // namespace shadowfs::fs
