#include "blobstore/base/pid_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace shadowfs::base {

namespace {

// The pid the holder wrote, or empty if it has not written one yet (it writes right after it
// takes the lock) or the file holds something else.
std::string ReadHolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return "";
  return text;
}

}  // namespace

Result<std::unique_ptr<PidLock>> PidLock::Acquire(const std::string& path,
                                                  const std::string& busy_message) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return ErrnoStatus(errno, "cannot open " + path);
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno != EWOULDBLOCK) return ErrnoStatus(errno, "cannot lock " + path);
    std::string pid = ReadHolderPid(fd.get());
    return Status::AlreadyExists(busy_message + " by " +
                                 (pid.empty() ? std::string("another process") : "pid " + pid));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return ErrnoStatus(errno, "cannot write " + path);
  }
  return std::unique_ptr<PidLock>(new PidLock(path, std::move(fd)));
}

PidLock::~PidLock() {
  // Clear the pid while still holding the lock, so no reader sees it after a new holder wrote
  // its own. Closing the descriptor releases the lock.
  if (fd_ && ::ftruncate(fd_.get(), 0) != 0) {
    // Nothing to do: the lock is what counts, and a stale pid only misnames the holder.
  }
}

}  // namespace shadowfs::base
