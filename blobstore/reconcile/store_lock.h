// StoreLock: the exclusive, non-blocking flock on STORE/reconcile.lock that makes a reconciler the
// only one of its store, across processes (a mount's thread and `shadowfs reconcile`) and within
// one (flock locks belong to the open file description). The holder writes its pid into the file
// so that a refused second reconciler can say who holds the store. The kernel releases the lock
// when the holder exits, however it exits, so a crash never leaves the store locked.
//
// Not thread-safe to move; the lock itself is held until destruction.
#pragma once

#include <memory>
#include <string>

#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"

namespace shadowfs::reconcile {

class StoreLock {
 public:
  // AlreadyExists "store DIR is already being reconciled by pid N" when another holder has it.
  static base::Result<std::unique_ptr<StoreLock>> Acquire(const std::string& store_dir);
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  StoreLock(std::string path, base::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  base::UniqueFd fd_;
};

}  // namespace shadowfs::reconcile
