// Result<T>: either a value or a non-OK Status. Like absl::StatusOr. Not thread-safe to mutate.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "blobstore/base/status.h"

namespace shadowfs::base {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit on purpose, so that functions can `return value;` or `return status;`.
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}        // NOLINT
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT
    assert(!std::get<0>(v_).ok() && "Result constructed from an OK status without a value");
    if (std::get<0>(v_).ok()) v_ = Status(StatusCode::kIOError, "OK status without a value");
  }

  bool ok() const { return v_.index() == 1; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<0>(v_);
  }

  T& value() & {
    assert(ok());
    return std::get<1>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<1>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<1>(std::move(v_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace shadowfs::base

#define SHADOWFS_CONCAT_INNER(a, b) a##b
#define SHADOWFS_CONCAT(a, b) SHADOWFS_CONCAT_INNER(a, b)
#define SHADOWFS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
// SHADOWFS_ASSIGN_OR_RETURN(auto info, store.Head(key));
#define SHADOWFS_ASSIGN_OR_RETURN(lhs, expr) \
  SHADOWFS_ASSIGN_OR_RETURN_IMPL(SHADOWFS_CONCAT(_result_, __LINE__), lhs, expr)
