// PidLock: an exclusive, non-blocking flock on a file, with the holder's pid written into it so
// that a refused second holder can say who has it. Used for the store (one process per store
// directory) and for the reconciler (one reconciler per store). flock locks belong to the open
// file description, so two holders conflict within one process too. The kernel releases the
// lock when the holder exits, however it exits, so a crash never leaves anything locked.
//
// The lock is held until destruction.
#pragma once

#include <memory>
#include <string>

#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"

namespace shadowfs::base {

class PidLock {
 public:
  // AlreadyExists "<busy_message> by pid N" (or "by another process") when someone holds it.
  static Result<std::unique_ptr<PidLock>> Acquire(const std::string& path,
                                                  const std::string& busy_message);
  ~PidLock();
  PidLock(const PidLock&) = delete;
  PidLock& operator=(const PidLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  PidLock(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  UniqueFd fd_;
};

}  // namespace shadowfs::base
