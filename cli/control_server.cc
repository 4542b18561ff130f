#include "cli/control_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cli/control_client.h"
#include "cli/ops_format.h"

namespace shadowfs::cli {

using base::Result;

Result<std::unique_ptr<ControlServer>> ControlServer::Start(std::string path, OpsService* service,
                                                            base::Logger* logger,
                                                            ControlServerOptions options) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  // The store holds everyone's cached file contents: owner only, like the socket in it.
  if (::chmod(dir.c_str(), 0700) != 0) return base::ErrnoStatus(errno, "chmod " + dir);
  SHADOWFS_ASSIGN_OR_RETURN(ControlAddress address, MakeControlAddress(path));
  base::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener.valid()) return base::ErrnoStatus(errno, "socket");
  // A socket left by a mount that crashed: the store lock says nobody else serves this store.
  ::unlink(path.c_str());
  // bind creates the socket file with the process umask: make it 0600 from the start, so there
  // is no moment in which another user could connect; the chmod makes sure whatever the umask.
  mode_t old_umask = ::umask(0177);
  int bound =
      ::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address.addr), address.length);
  int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) return base::ErrnoStatus(bind_errno, "bind " + path);
  if (::chmod(path.c_str(), 0600) != 0) return base::ErrnoStatus(errno, "chmod " + path);
  if (::listen(listener.get(), 16) != 0) return base::ErrnoStatus(errno, "listen " + path);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return base::ErrnoStatus(errno, "pipe");
  return std::unique_ptr<ControlServer>(
      new ControlServer(std::move(path), service, logger, options, std::move(listener),
                        base::UniqueFd(pipe_fds[0]), base::UniqueFd(pipe_fds[1])));
}

ControlServer::ControlServer(std::string path, OpsService* service, base::Logger* logger,
                             ControlServerOptions options, base::UniqueFd listener,
                             base::UniqueFd wake_read, base::UniqueFd wake_write)
    : path_(std::move(path)),
      service_(service),
      logger_(logger),
      options_(options),
      listener_(std::move(listener)),
      wake_read_(std::move(wake_read)),
      wake_write_(std::move(wake_write)),
      pool_(std::make_unique<base::ThreadPool>("control", options.connection_threads,
                                               static_cast<size_t>(options.connection_threads))),
      accept_thread_([this] { AcceptLoop(); }) {}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() {
  if (stopping_.exchange(true)) return;
  char byte = 1;
  (void)!::write(wake_write_.get(), &byte, 1);
  accept_thread_.join();
  pool_.reset();  // finishes (promptly: stopping_) the connections it has, joins its threads
  ::unlink(path_.c_str());
}

void ControlServer::AcceptLoop() {
  base::SetThreadName("control-accept");
  while (!stopping_.load()) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (fds[1].revents & POLLIN)) break;
    base::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;  // EAGAIN (the peer gave up), or out of descriptors for now
    ucred peer{};
    socklen_t len = sizeof(peer);
    if (::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 ||
        (peer.uid != ::geteuid() && peer.uid != 0)) {
      std::string message = "permission denied: this mount belongs to uid " +
                            std::to_string(::geteuid()) + "; uid " + std::to_string(peer.uid) +
                            " may not control it";
      base::LogStream(*logger_, base::LogLevel::kInfo)
          << "control socket: refused pid " << peer.pid << " (uid " << peer.uid << ")";
      WriteLine(conn.get(), DumpJson(Json{{"ok", false}, {"error", message}}));
      continue;
    }
    // Submit blocks while every connection thread is busy and the queue is full: backpressure.
    pool_->Submit([this, fd = std::make_shared<base::UniqueFd>(std::move(conn))]() mutable {
      Serve(std::move(*fd));
    });
  }
}

bool ControlServer::WriteLine(int fd, const std::string& text) {
  std::string line = text + "\n";
  size_t done = 0;
  auto deadline = std::chrono::steady_clock::now() + options_.write_timeout;
  while (done < line.size()) {
    ssize_t n = ::send(fd, line.data() + done, line.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stopping_.load()) return false;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
  }
  return true;
}

void ControlServer::Serve(base::UniqueFd conn) {
  std::string request;
  auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  auto fail = [&](const std::string& message) {
    WriteLine(conn.get(), DumpJson(Json{{"ok", false}, {"error", message}}));
  };
  size_t newline = std::string::npos;
  while ((newline = request.find('\n')) == std::string::npos) {
    if (request.size() > options_.max_request_bytes) {
      return fail("request too large (over " + std::to_string(options_.max_request_bytes) +
                  " bytes)");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stopping_.load()) return fail("no complete request in time");
    pollfd p{conn.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(conn.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return;
    if (n == 0) break;  // EOF ends the request too
    request.append(buf, static_cast<size_t>(n));
  }
  if (newline != std::string::npos) request.resize(newline);
  Json parsed = Json::parse(request, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return fail("malformed request: not JSON");
  bool connected = true;
  auto progress = [&](const Json& p) {
    if (connected && !stopping_.load())
      connected = WriteLine(conn.get(), DumpJson(Json{{"progress", p}}));
    return connected && !stopping_.load();
  };
  Json reply = service_->Handle(parsed, progress);
  if (connected) WriteLine(conn.get(), DumpJson(reply));
}

}  // namespace shadowfs::cli
