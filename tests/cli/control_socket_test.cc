// The control socket: requests and replies over a real AF_UNIX socket, owner-only permissions,
// peers of another uid refused (needs root, as CI runs it), malformed and oversized requests
// answered with an error, and a prompt Stop that removes the socket.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/control_client.h"
#include "cli/control_server.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::cli {
namespace {

using ::testing::HasSubstr;

class ControlSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shadow::ShadowStoreOptions options;
    options.dir = dir_.File("store");
    auto store = shadow::ShadowStore::Open(options, rt_.runtime());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    OpsContext c;
    c.store = store_.get();
    c.runtime = rt_.runtime();
    c.store_dir = options.dir;
    service_ = std::make_unique<OpsService>(std::move(c));
    service_->Register("slow",
                       [](const Json&, const OpsService::Progress& progress) -> base::Result<Json> {
                         // Reports until told to stop: the requester went away or the server is
                         // stopping.
                         while (progress({{"tick", 1}})) {
                         }
                         return Json("stopped");
                       });
    socket_ = options.dir + "/control.sock";
    auto server = ControlServer::Start(socket_, service_.get(), rt_.runtime().logger);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  // What a raw client gets back for `bytes`.
  std::string RawExchange(const std::string& bytes) {
    auto address = MakeControlAddress(socket_);
    EXPECT_TRUE(address.ok());
    base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(
        ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address->addr), address->length), 0);
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server gave up on an oversized request
      done += static_cast<size_t>(n);
    }
    ::shutdown(fd.get(), SHUT_WR);
    std::string reply;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd.get(), buf, sizeof(buf), 0)) > 0) reply.append(buf, n);
    return reply;
  }

  // Runs `body` in a child as uid/gid 65534 (nobody); its exit code.
  int AsNobody(const std::function<int()>& body) {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(99);
      _exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
  }

  testing::TempDir dir_{"control"};
  base::OwnedRuntime rt_;
  std::unique_ptr<shadow::ShadowStore> store_;
  std::unique_ptr<OpsService> service_;
  std::string socket_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlSocketTest, AnswersRequestsAndIsOwnerOnly) {
  auto reply = CallControlSocket(socket_, {{"op", "shadow.ls"}, {"args", {{"key", ""}}}}, {},
                                 std::chrono::seconds(10));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->at("ok"), true);
  EXPECT_TRUE(reply->at("result").is_array());
  struct stat st;
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.File("store").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ControlSocketTest, MalformedAndOversizedRequestsGetErrors) {
  EXPECT_THAT(RawExchange("this is not json\n"), HasSubstr("malformed request"));
  EXPECT_THAT(RawExchange("{\"op\": \"nope\"}\n"), HasSubstr("unknown op 'nope'"));
  EXPECT_THAT(RawExchange(std::string(3 << 20, 'x')), HasSubstr("request too large"));
}

TEST_F(ControlSocketTest, RefusesOtherUsers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  // mkdtemp made the scratch directory 0700: open it, so that only the store's and the socket's
  // own permissions stand in the way.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  // The socket's permissions keep another user out...
  int code = AsNobody([&] {
    auto r = CallControlSocket(socket_, {{"op", "stats"}}, {}, std::chrono::seconds(10));
    return !r.ok() && r.status().code() == base::StatusCode::kPermissionDenied ? 0 : 1;
  });
  EXPECT_EQ(code, 0);
  // ... and so does the peer check, should the permissions be loosened.
  ASSERT_EQ(::chmod(dir_.File("store").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
  code = AsNobody([&] {
    auto r = CallControlSocket(socket_, {{"op", "stats"}}, {}, std::chrono::seconds(10));
    if (!r.ok()) {
      std::cerr << "as nobody: " << r.status().ToString() << "\n";
      return 2;
    }
    if (r->value("ok", true)) return 3;
    return r->value("error", "").find("may not control it") != std::string::npos ? 0 : 4;
  });
  EXPECT_EQ(code, 0);
  // The owner still gets in.
  auto mine = CallControlSocket(socket_, {{"op", "stats"}}, {}, std::chrono::seconds(10));
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->at("ok"), true);
}

TEST_F(ControlSocketTest, StopEndsRunningRequestsAndRemovesTheSocket) {
  std::atomic<int> ticks{0};
  std::thread client([&] {
    auto r = CallControlSocket(
        socket_, {{"op", "slow"}}, [&](const Json&) { ++ticks; }, std::chrono::seconds(30));
    // Either the reply made it out before the connection closed, or the connection closed.
    if (r.ok()) {
      EXPECT_EQ(r->at("result"), "stopped");
    }
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (::access(socket_.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (ticks > 0) break;
  }
  server_->Stop();
  client.join();
  EXPECT_GT(ticks, 0);
  EXPECT_NE(::access(socket_.c_str(), F_OK), 0);
  auto after = CallControlSocket(socket_, {{"op", "stats"}}, {}, std::chrono::seconds(1));
  EXPECT_FALSE(after.ok());
}

}  // namespace
}  // namespace shadowfs::cli
