#include "tests/fs/mount_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/subprocess.h"

extern char** environ;

namespace shadowfs::testing {

namespace {

using Clock = std::chrono::steady_clock;

// Polls `done` until it holds or the deadline passes, backing off from 5 ms to 100 ms.
template <typename F>
bool PollUntil(Clock::time_point deadline, F done) {
  auto delay = std::chrono::milliseconds(5);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(100));
  }
  return true;
}

}  // namespace

std::string ShadowfsBinary() { return SHADOWFS_BINARY; }

std::string MountHelperBinary() {
  std::string binary = SHADOWFS_BINARY;
  return binary.substr(0, binary.rfind('/')) + "/mount.shadowfs";
}

bool IsMountedAs(const std::string& path, const std::string& type) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point, field, fstype;
    fields >> id >> parent >> devno >> root >> point;
    if (point != path) continue;
    while (fields >> field && field != "-") {
    }
    fields >> fstype;
    found = fstype == type;  // the last mount on a path is the visible one
  }
  return found;
}

MountDirs::MountDirs()
    : primary(root.File("primary")),
      store(root.File("store")),
      mnt(root.File("mnt")),
      log(root.File("mount.log")) {
  for (const std::string& dir : {primary, store, mnt}) ::mkdir(dir.c_str(), 0755);
}

std::vector<std::string> MountDirs::MountArgs(const std::vector<std::string>& extra) const {
  std::vector<std::string> args = {"mount",        "file://" + primary, mnt,
                                   "--foreground", "--store",           store};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

ShadowfsMount::ShadowfsMount(std::string mountpoint, std::vector<std::string> argv,
                             std::string log_path, std::map<std::string, std::string> env,
                             std::string binary)
    : mountpoint_(std::move(mountpoint)),
      argv_(std::move(argv)),
      log_path_(std::move(log_path)),
      env_(std::move(env)),
      binary_(binary.empty() ? ShadowfsBinary() : std::move(binary)) {}

ShadowfsMount::~ShadowfsMount() { Stop(); }

std::string ShadowfsMount::Log() const {
  std::ifstream in(log_path_);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool ShadowfsMount::Reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    exit_status_ = status;
    pid_ = -1;
    return true;
  }
  return r < 0;  // not our child any more
}

::testing::AssertionResult ShadowfsMount::Start(std::chrono::seconds deadline) {
  // Everything the child needs is built before fork.
  std::vector<std::string> args = {binary_};
  args.insert(args.end(), argv_.begin(), argv_.end());
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  std::vector<std::string> env_strings = MergedEnvironment(env_);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return ::testing::AssertionFailure() << "cannot open " << log_path_;

  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(argp[0], argp.data(), envp.data());
    _exit(127);
  }
  ::close(log);
  if (pid_ < 0) return ::testing::AssertionFailure() << "fork failed";
  bool exited = false;
  bool mounted = PollUntil(Clock::now() + deadline, [&] {
    if (IsMountedAs(mountpoint_, fstype_)) return true;
    exited = Reap(false);
    return exited;
  });
  if (mounted && !exited) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << (exited ? "shadowfs exited before mounting" : "not mounted before the deadline")
         << "; log:\n"
         << Log();
}

::testing::AssertionResult ShadowfsMount::Unmount(std::chrono::seconds deadline) {
  CommandResult r = RunCommand({ShadowfsBinary(), "unmount", mountpoint_}, {}, deadline);
  if (r.exit_code != 0) {
    return ::testing::AssertionFailure()
           << "shadowfs unmount failed (" << r.exit_code << "): " << r.output << "\ndaemon log:\n"
           << Log();
  }
  if (!PollUntil(Clock::now() + deadline, [&] { return Reap(false); })) {
    return ::testing::AssertionFailure() << "the daemon did not exit after unmount; log:\n"
                                         << Log();
  }
  if (IsMountedAs(mountpoint_)) return ::testing::AssertionFailure() << "still mounted";
  if (!WIFEXITED(exit_status_) || WEXITSTATUS(exit_status_) != 0) {
    return ::testing::AssertionFailure()
           << "the daemon exited with status " << exit_status_ << "; log:\n"
           << Log();
  }
  return ::testing::AssertionSuccess();
}

void ShadowfsMount::Crash() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    Reap(true);
  }
  if (IsMountedAs(mountpoint_, fstype_)) ::umount2(mountpoint_.c_str(), MNT_DETACH);
}

void ShadowfsMount::Stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!PollUntil(Clock::now() + std::chrono::seconds(60), [&] { return Reap(false); })) {
      ::kill(pid_, SIGKILL);
      Reap(true);
    }
  }
  // A daemon that died (or was killed) leaves a dead mount behind: detach it.
  for (int i = 0; i < 4 && IsMountedAs(mountpoint_, fstype_); ++i) {
    ::umount2(mountpoint_.c_str(), MNT_DETACH);
  }
}

}  // namespace shadowfs::testing
