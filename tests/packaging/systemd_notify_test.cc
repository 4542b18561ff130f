// `shadowfs reconcile` as systemd runs it in shadowfs-reconcile@.service (Type=notify,
// WatchdogSec=): the test plays the service manager, listening on NOTIFY_SOCKET, and checks what
// the reconciler tells it: READY=1 once the store is open, the last cycle's summary as STATUS=,
// WATCHDOG=1 keep-alives while it waits between cycles, STOPPING=1 on SIGTERM. Also the exit
// status 75 that shadowfs-reconcile-once@.service counts as success when the store is busy.
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// The service manager's end of NOTIFY_SOCKET: a datagram socket, one message per datagram.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{0, 100 * 1000};  // receive polls, so a deadline bounds every wait
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // Receives until a message containing `want` arrives (true) or the deadline passes. Every
  // message received is kept in messages().
  bool WaitFor(const std::string& want, std::chrono::seconds deadline = std::chrono::seconds(60)) {
    auto end = Clock::now() + deadline;
    while (Clock::now() < end) {
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      messages_.emplace_back(buf, static_cast<size_t>(n));
      if (messages_.back().find(want) != std::string::npos) return true;
    }
    return false;
  }
  int Count(const std::string& want) const {
    int count = 0;
    for (const auto& m : messages_) count += m.find(want) != std::string::npos;
    return count;
  }
  std::string All() const { return ::testing::PrintToString(messages_); }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<std::string> messages_;
};

// A `shadowfs reconcile` child, killed by PID at the end whatever happened.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    std::vector<std::string> envs = MergedEnvironment(env);
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    if (::posix_spawn(&pid_, cargv[0], nullptr, nullptr, cargv.data(), cenv.data()) != 0) {
      pid_ = -1;
    }
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // The exit code once it exits within the deadline, -1 otherwise.
  int Wait(std::chrono::seconds deadline = std::chrono::seconds(60)) {
    auto end = Clock::now() + deadline;
    while (Clock::now() < end) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(20 * 1000);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

TEST(SystemdNotifyTest, ReconcileTalksToTheServiceManager) {
  TempDir dir("notify");
  ASSERT_EQ(::mkdir(dir.File("primary").c_str(), 0700), 0);
  NotifySocket manager(dir.File("notify.sock"));
  ASSERT_TRUE(manager.bound()) << manager.path();

  const std::vector<std::string> argv = {SHADOWFS_BINARY,
                                         "reconcile",
                                         "--store",
                                         dir.File("store"),
                                         "--interval",
                                         "1",
                                         "file://" + dir.File("primary")};
  // WatchdogSec=1s: keep-alives every half second, well inside the 1 s interval's wait.
  Child reconcile(argv, {{"NOTIFY_SOCKET", manager.path()}, {"WATCHDOG_USEC", "1000000"}});
  ASSERT_GT(reconcile.pid(), 0);

  ASSERT_TRUE(manager.WaitFor("READY=1")) << manager.All();
  EXPECT_TRUE(manager.WaitFor("STATUS=last cycle: 0 shadows")) << manager.All();
  ASSERT_TRUE(manager.WaitFor("WATCHDOG=1")) << manager.All();
  ASSERT_TRUE(manager.WaitFor("WATCHDOG=1")) << manager.All();

  // A second reconciler of the same store is refused with 75, as the timer's unit expects.
  CommandResult second = RunCommand({SHADOWFS_BINARY, "reconcile", "--once", "--store",
                                     dir.File("store"), "file://" + dir.File("primary")});
  EXPECT_EQ(second.exit_code, 75) << second.output;

  ASSERT_EQ(::kill(reconcile.pid(), SIGTERM), 0);
  EXPECT_TRUE(manager.WaitFor("STOPPING=1")) << manager.All();
  EXPECT_EQ(reconcile.Wait(), 0);
  EXPECT_EQ(manager.Count("READY=1"), 1) << manager.All();
}

TEST(SystemdNotifyTest, WithoutServiceManagerOnceRunsAsBefore) {
  TempDir dir("notify");
  ASSERT_EQ(::mkdir(dir.File("primary").c_str(), 0700), 0);
  // Not started by systemd: no NOTIFY_SOCKET; a --once run works and exits 0 as before.
  CommandResult once = RunCommand({SHADOWFS_BINARY, "reconcile", "--once", "--store",
                                   dir.File("store"), "file://" + dir.File("primary")},
                                  {{"NOTIFY_SOCKET", ""}});
  EXPECT_EQ(once.exit_code, 0) << once.output;
  EXPECT_THAT(once.output, HasSubstr("0 shadows"));
}

}  // namespace
}  // namespace shadowfs::testing
