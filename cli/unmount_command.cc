#include "cli/unmount_command.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/mount_command.h"

namespace shadowfs::cli {

namespace {

int Fail(const std::string& message) {
  std::cerr << "shadowfs unmount: " << message << "\n";
  return 1;
}

// The filesystem type of the mount at `path` in /proc/self/mountinfo ("" if none). Its mount
// point field is octal-escaped (\040 for a space).
std::string MountType(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, type;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point, field;
    fields >> id >> parent >> devno >> root >> point;
    std::string unescaped;
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        unescaped += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        unescaped += point[i];
      }
    }
    if (unescaped != path) continue;
    while (fields >> field && field != "-") {
    }
    fields >> type;  // the last mount at a path is the visible one
  }
  return type;
}

bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  // A zombie (our own child in tests) has exited too.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = content.rfind(')');
  return paren != std::string::npos && paren + 2 < content.size() && content[paren + 2] == 'Z';
}

pid_t ReadPid(const std::string& pid_file) {
  std::ifstream in(pid_file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

}  // namespace

CLI::App* AddUnmountCommand(CLI::App& app, UnmountCommandOptions* o) {
  auto* cmd = app.add_subcommand(
      "unmount", "Unmount a shadowfs mount and wait until its pending uploads are done");
  cmd->add_option("mountpoint", o->mountpoint, "Where it is mounted")->required();
  cmd->add_flag("-l,--lazy", o->lazy,
                "Detach now even if files are open; the daemon exits "
                "once they are closed");
  cmd->add_option("--timeout", o->timeout_seconds,
                  "Seconds to wait for the daemon to exit (0: as long as it takes)")
      ->capture_default_str();
  return cmd;
}

int RunUnmountCommand(const UnmountCommandOptions& o) {
  std::string path = std::filesystem::absolute(o.mountpoint).lexically_normal().string();
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  std::string type = MountType(path);
  if (type.empty()) return Fail(path + " is not mounted");
  if (type != "fuse.shadowfs") return Fail(path + " is not a shadowfs mount (it is " + type + ")");

  std::string pid_file = PidFilePath(path);
  pid_t pid = ReadPid(pid_file);
  if (::geteuid() == 0) {
    if (::umount2(path.c_str(), o.lazy ? MNT_DETACH : 0) != 0) {
      int err = errno;
      if (err == EBUSY) {
        return Fail(path +
                    " is busy: files are open or a process has its working directory "
                    "there (see `fuser -vm " +
                    path + "`), or use --lazy");
      }
      return Fail("cannot unmount " + path + ": " + std::strerror(err));
    }
  } else {
    std::string cmd = std::string("fusermount3 -u ") + (o.lazy ? "-z " : "") + "-- '" + path + "'";
    int rc = std::system(cmd.c_str());
    if (rc != 0) return Fail("fusermount3 could not unmount " + path + " (see its message above)");
  }
  if (pid == 0) return 0;  // no daemon we know of (mounted by another user, or it died)

  auto start = std::chrono::steady_clock::now();
  bool told = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_seconds);
  auto delay = std::chrono::milliseconds(10);
  while (!ProcessGone(pid) && std::filesystem::exists(pid_file)) {
    if (o.timeout_seconds > 0 && std::chrono::steady_clock::now() > deadline) {
      return Fail("unmounted, but the daemon (pid " + std::to_string(pid) +
                  ") is still uploading after " + std::to_string(o.timeout_seconds) +
                  " s; its writes stay queued in the store if it is stopped");
    }
    if (!told && std::chrono::steady_clock::now() - start > std::chrono::seconds(1)) {
      std::cerr << "shadowfs unmount: waiting for the daemon (pid " << pid
                << ") to finish its pending uploads\n";
      told = true;
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(200));
  }
  return 0;
}

}  // namespace shadowfs::cli
