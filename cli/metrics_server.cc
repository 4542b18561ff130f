#include "cli/metrics_server.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "blobstore/base/executor.h"
#include "blobstore/base/logging.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

Status BadAddress(const std::string& text, const std::string& why) {
  return Status::InvalidArgument("bad --metrics-addr '" + text + "': " + why);
}

// Waits until `fd` is ready for `events`: false if the server is stopping or the deadline passed.
// Deadlines are real time (steady_clock), not the Runtime's clock: they bound what a socket
// peer may cost us, and a mount's calendar clock may run scaled (--time-scale).
bool WaitFor(int fd, short events, int wake, base::MonoTime deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{fd, events, 0}, {wake, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;
  }
}

std::string Response(const std::string& status, const std::string& content_type,
                     const std::string& body, bool head, const std::string& extra = "") {
  std::string out = "HTTP/1.1 " + status + "\r\nContent-Type: " + content_type +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra +
                    "Connection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

}  // namespace

Result<LoopbackAddress> ParseLoopbackAddress(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return BadAddress(text, "expected HOST:PORT, as in 127.0.0.1:9464");
  }
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  uint16_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size()) {
    return BadAddress(text, "the port must be a number from 0 to 65535");
  }
  if (host == "localhost") host = "127.0.0.1";
  LoopbackAddress out;
  out.text = text;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) != 1) {
      return BadAddress(text, "not an IPv6 address");
    }
    if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
      return BadAddress(text, "metrics are served on a loopback address only (127.0.0.1 or [::1])");
    }
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) {
    return BadAddress(text, "expected 127.0.0.1:PORT, [::1]:PORT or localhost:PORT");
  }
  if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127) {
    return BadAddress(text, "metrics are served on a loopback address only (127.0.0.1 or [::1])");
  }
  out.length = sizeof(sockaddr_in);
  return out;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            base::Runtime runtime,
                                                            Options options) {
  SHADOWFS_ASSIGN_OR_RETURN(LoopbackAddress a, ParseLoopbackAddress(address));
  base::UniqueFd fd(::socket(a.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return base::ErrnoStatus(errno, "metrics socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a.addr), a.length) != 0) {
    return Status::IOError("cannot serve metrics on " + address + ": " + std::strerror(errno));
  }
  if (::listen(fd.get(), 16) != 0) return base::ErrnoStatus(errno, "listen on " + address);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  uint16_t port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  base::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return base::ErrnoStatus(errno, "eventfd");
  runtime.logger->Log(base::LogLevel::kInfo,
                      "serving metrics on " + address + " (port " + std::to_string(port) + ")");
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(fd), std::move(wake), port, runtime, options));
}

MetricsServer::MetricsServer(base::UniqueFd listener, base::UniqueFd wake, uint16_t port,
                             base::Runtime runtime, Options options)
    : listener_(std::move(listener)),
      wake_(std::move(wake)),
      port_(port),
      runtime_(runtime),
      options_(options),
      thread_([this] { Run(); }) {}

MetricsServer::~MetricsServer() {
  uint64_t one = 1;
  while (::write(wake_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  thread_.join();
}

void MetricsServer::Run() {
  base::SetThreadName("metrics-http");
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents != 0) return;
    base::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (conn.valid()) Serve(conn.get());
  }
}

std::string MetricsServer::ReadRequest(int fd, bool* too_large) {
  base::MonoTime deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() > options_.max_request_bytes) {
      *too_large = true;
      return "";
    }
    if (!WaitFor(fd, POLLIN, wake_.get(), deadline)) return "";
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return "";
    request.append(buf, static_cast<size_t>(n));
  }
  return request;
}

void MetricsServer::Serve(int fd) {
  bool too_large = false;
  std::string request = ReadRequest(fd, &too_large);
  std::string response;
  if (too_large) {
    response = Response("431 Request Header Fields Too Large", "text/plain", "too large\n", false);
  } else if (request.empty()) {
    return;  // stalled or gone: nobody to answer
  } else {
    // "GET /metrics HTTP/1.1": the method, the target and the version, separated by spaces.
    std::string line = request.substr(0, request.find("\r\n"));
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
      response = Response("400 Bad Request", "text/plain", "bad request\n", false);
    } else {
      std::string method = line.substr(0, sp1);
      std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string path = target.substr(0, target.find('?'));
      bool head = method == "HEAD";
      if (method != "GET" && !head) {
        response = Response("405 Method Not Allowed", "text/plain", "use GET\n", false,
                            "Allow: GET, HEAD\r\n");
      } else if (path != "/metrics") {
        response = Response("404 Not Found", "text/plain", "not found: try /metrics\n", head);
      } else {
        response = Response("200 OK", "text/plain; version=0.0.4; charset=utf-8",
                            runtime_.metrics->ExportPrometheus(), head);
      }
    }
  }
  base::MonoTime deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  size_t done = 0;
  while (done < response.size()) {
    ssize_t n = ::send(fd, response.data() + done, response.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!WaitFor(fd, POLLOUT, wake_.get(), deadline)) return;
      continue;
    }
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace shadowfs::cli
