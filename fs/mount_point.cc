#include "fs/mount_point.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace shadowfs::fs {

using base::Status;

namespace {

bool IsMountPoint(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    fields >> id >> parent >> devno >> root >> point;
    if (point == path)
      return true;  // paths with spaces are octal-escaped there; rare, and
                    // fuse_session_mount reports those itself
  }
  return false;
}

}  // namespace

Status CheckDevFuse() {
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return Status::Ok();
  }
  int err = errno;
  if (err == ENOENT || err == ENODEV || err == ENXIO) {
    return Status::NotSupported(
        "/dev/fuse not available: load the fuse module (modprobe fuse), or in a container pass "
        "--device /dev/fuse");
  }
  if (geteuid() != 0) return Status::Ok();  // fusermount3 (setuid) opens it for us
  return Status::PermissionDenied(std::string("/dev/fuse not available: ") + std::strerror(err));
}

// Sets the mount's bdi read_ahead_kb. The device number comes from /proc/self/mountinfo: a
// stat() of the mount point would ask this very filesystem, whose session loop is not running
// yet. Best effort: without the right to write sysfs the kernel default stays.
void SetReadAhead(const std::string& mountpoint, uint32_t kb, base::Logger& logger) {
  if (kb == 0) return;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  std::string device;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    if (point == mountpoint) device = dev;  // the last match is the newest mount
  }
  if (device.empty()) return;
  std::ofstream sysfs("/sys/class/bdi/" + device + "/read_ahead_kb");
  sysfs << kb << "\n";
  sysfs.flush();
  if (!sysfs) {
    logger.Log(base::LogLevel::kInfo, "kept the kernel's readahead for " + mountpoint +
                                          ": cannot write /sys/class/bdi/" + device);
  }
}

Status CheckMountpoint(const std::string& mountpoint) {
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("mountpoint " + mountpoint + " does not exist");
    if (err == ENOTCONN) {
      return Status::AlreadyExists("mountpoint busy: " + mountpoint +
                                   " is a FUSE mount whose daemon died; run `shadowfs unmount " +
                                   mountpoint + "` first");
    }
    return Status::PermissionDenied("mountpoint " + mountpoint + ": " + std::strerror(err));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::NotDirectory("mountpoint " + mountpoint + " is not a directory");
  }
  if (IsMountPoint(mountpoint)) {
    return Status::AlreadyExists("mountpoint busy: " + mountpoint + " is already a mount point");
  }
  return Status::Ok();
}

}  // namespace shadowfs::fs
