// The adapter's libfuse API version (fs/fuse_adapter.cc).
#define FUSE_USE_VERSION 314
#include "fs/fuse_init.h"

#include <fuse_lowlevel.h>

#include <fcntl.h>
#include <linux/fuse.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "blobstore/base/unique_fd.h"

namespace shadowfs::fs {

using base::Status;

namespace {

// Reads the INIT request into `buf` (libfuse allocates buf->mem; the caller frees it).
Status ReceiveInit(fuse_session* session, fuse_buf* buf) {
  for (;;) {
    int n = fuse_session_receive_buf(session, buf);
    if (n > 0) return Status::Ok();
    if (n == -EINTR || n == -EAGAIN) continue;
    return Status::IOError(n == 0 ? "the kernel closed the FUSE device before INIT"
                                  : std::string("reading FUSE INIT: ") + std::strerror(-n));
  }
}

}  // namespace

Status ProcessInit(fuse_session* session, const bool* parallel_dirops, bool* added) {
  *added = false;
  fuse_buf buf{};
  Status s = ReceiveInit(session, &buf);
  if (!s.ok()) {
    std::free(buf.mem);
    return s;
  }
  const int dev = fuse_session_fd(session);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::free(buf.mem);
    return base::ErrnoStatus(errno, "pipe for FUSE INIT");
  }
  base::UniqueFd pipe_read(pipe_fds[0]);
  base::UniqueFd pipe_write(pipe_fds[1]);
  base::UniqueFd saved_dev(::fcntl(dev, F_DUPFD_CLOEXEC, 0));
  if (!saved_dev) {
    std::free(buf.mem);
    return base::ErrnoStatus(errno, "dup of the FUSE device");
  }
  // libfuse writes its reply to the session's descriptor: for this one request, the pipe.
  if (::dup3(pipe_write.get(), dev, O_CLOEXEC) < 0) {
    std::free(buf.mem);
    return base::ErrnoStatus(errno, "dup3 for FUSE INIT");
  }
  fuse_session_process_buf(session, &buf);
  std::free(buf.mem);
  if (::dup3(saved_dev.get(), dev, O_CLOEXEC) < 0) {
    return base::ErrnoStatus(errno, "restoring the FUSE device after INIT");
  }
  pipe_write.Reset();
  char reply[4096];
  ssize_t len = ::read(pipe_read.get(), reply, sizeof(reply));
  if (len <= 0) return Status::IOError("libfuse wrote no INIT reply");
  fuse_out_header header;
  std::memcpy(&header, reply, std::min(sizeof(header), static_cast<size_t>(len)));
  constexpr size_t kFlagsAt = sizeof(fuse_out_header) + offsetof(fuse_init_out, flags);
  if (*parallel_dirops && header.error == 0 && static_cast<size_t>(len) >= kFlagsAt + 4) {
    uint32_t flags;
    std::memcpy(&flags, reply + kFlagsAt, sizeof(flags));
    if ((flags & FUSE_PARALLEL_DIROPS) == 0) {
      flags |= FUSE_PARALLEL_DIROPS;
      std::memcpy(reply + kFlagsAt, &flags, sizeof(flags));
      *added = true;
    }
  }
  if (::write(dev, reply, static_cast<size_t>(len)) != len) {
    return base::ErrnoStatus(errno, "writing the FUSE INIT reply");
  }
  // A reply with an error (an unsupported protocol) has told the kernel; the loop then ends.
  return Status::Ok();
}

}  // namespace shadowfs::fs
