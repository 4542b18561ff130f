// Status: the outcome of an operation that can fail in an expected way, as a code plus a
// message a user can act on. Cheap to copy when OK. Immutable, so safe to share across threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shadowfs::base {

enum class StatusCode : std::uint8_t {
  kOk = 0,
  kNotFound,
  kAlreadyExists,
  kConflict,     // a precondition failed (HTTP 412): someone else changed the object
  kNotModified,  // If-None-Match matched (HTTP 304): the caller's copy is current
  kUnavailable,  // retryable: the peer is down, slow, or asked us to back off
  kCorruption,   // data failed a checksum or a peer sent something malformed
  kNoSpace,
  kPermissionDenied,
  kInvalidArgument,
  kNotSupported,
  kIOError,
  // Filesystem answers that the codes above cannot say (fs/ maps them to ENOTEMPTY, EISDIR,
  // ENOTDIR and ENAMETOOLONG at the FUSE edge).
  kNotEmpty,
  kIsDirectory,
  kNotDirectory,
  kNameTooLong,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status Conflict(std::string msg) { return {StatusCode::kConflict, std::move(msg)}; }
  static Status NotModified(std::string msg) { return {StatusCode::kNotModified, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {StatusCode::kNoSpace, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status NotSupported(std::string msg) {
    return {StatusCode::kNotSupported, std::move(msg)};
  }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status NotEmpty(std::string msg) { return {StatusCode::kNotEmpty, std::move(msg)}; }
  static Status IsDirectory(std::string msg) { return {StatusCode::kIsDirectory, std::move(msg)}; }
  static Status NotDirectory(std::string msg) {
    return {StatusCode::kNotDirectory, std::move(msg)};
  }
  static Status NameTooLong(std::string msg) { return {StatusCode::kNameTooLong, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsConflict() const { return code_ == StatusCode::kConflict; }
  bool IsNotModified() const { return code_ == StatusCode::kNotModified; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }

  // "NotFound: no such object 'a/b'", or "OK".
  std::string ToString() const;
  // The same status with "context: " in front of the message.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Maps an errno value from a failed system call to a Status, e.g. ENOSPC -> NoSpace.
Status ErrnoStatus(int err, std::string_view context);

}  // namespace shadowfs::base

#define SHADOWFS_RETURN_IF_ERROR(expr)     \
  do {                                     \
    ::shadowfs::base::Status _st = (expr); \
    if (!_st.ok()) return _st;             \
  } while (0)
