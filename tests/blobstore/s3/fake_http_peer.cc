#include "tests/blobstore/s3/fake_http_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace shadowfs::s3::testing {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 412:
      return "Precondition Failed";
    case 416:
      return "Range Not Satisfiable";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Slow Down";
    default:
      return "Status";
  }
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

const std::string* PeerRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

PeerResponse PeerResponse::Status(int status, std::string body) {
  PeerResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

PeerResponse PeerResponse::Error(int status, std::string_view code, std::string_view message) {
  PeerResponse r;
  r.status = status;
  r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + std::string(code) +
           "</Code><Message>" + std::string(message) +
           "</Message><RequestId>fake-request-1</RequestId></Error>";
  r.headers.emplace_back("Content-Type", "application/xml");
  return r;
}

PeerResponse& PeerResponse::With(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

FakeHttpPeer::FakeHttpPeer() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeHttpPeer::~FakeHttpPeer() {
  stopping_ = true;
  {
    base::MutexLock lock(&mu_);
    stop_cv_.SignalAll();
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    base::MutexLock lock(&mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(connection_threads_);
  }
  for (auto& t : threads) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void FakeHttpPeer::Enqueue(PeerResponse response) {
  base::MutexLock lock(&mu_);
  script_.push_back(std::move(response));
}

void FakeHttpPeer::SetHandler(Handler handler) {
  base::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

std::vector<PeerRequest> FakeHttpPeer::requests() const {
  base::MutexLock lock(&mu_);
  return requests_;
}

size_t FakeHttpPeer::request_count() const {
  base::MutexLock lock(&mu_);
  return requests_.size();
}

PeerResponse FakeHttpPeer::Next(const PeerRequest& request) {
  Handler handler;
  {
    base::MutexLock lock(&mu_);
    requests_.push_back(request);
    if (script_pos_ < script_.size()) return script_[script_pos_++];
    handler = handler_;
  }
  if (handler) return handler(request);
  return PeerResponse::Error(500, "InternalError", "the fake peer has no scripted response left");
}

bool FakeHttpPeer::Wait(std::chrono::milliseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  base::MutexLock lock(&mu_);
  while (!stopping_) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) return true;
    stop_cv_.WaitFor(&mu_, left);
  }
  return false;
}

void FakeHttpPeer::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    base::MutexLock lock(&mu_);
    if (static_cast<int>(open_fds_.size()) >= kMaxConnections) {
      ::close(fd);
      continue;
    }
    open_fds_.push_back(fd);
    connection_threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeHttpPeer::Serve(int fd) {
  auto close_fd = [&](bool reset) {
    {
      base::MutexLock lock(&mu_);
      open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    }
    if (reset) {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
  };
  std::string buffer;
  // Reads until `buffer` holds at least `want` bytes; false on EOF, error or shutdown.
  auto fill = [&](size_t want) {
    char chunk[64 << 10];
    while (buffer.size() < want) {
      if (stopping_) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    return true;
  };
  for (;;) {
    size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(buffer.size() + 1)) return close_fd(false);
    }
    PeerRequest request;
    std::string_view head(buffer.data(), header_end);
    size_t line_end = head.find("\r\n");
    std::string_view request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.rfind(' ');
    request.method = std::string(request_line.substr(0, sp1));
    request.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
    size_t content_length = 0;
    while (line_end != std::string_view::npos && line_end < head.size()) {
      size_t next = head.find("\r\n", line_end + 2);
      std::string_view line =
          head.substr(line_end + 2, next == std::string_view::npos ? std::string_view::npos
                                                                   : next - line_end - 2);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        request.headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                     std::string(Trim(line.substr(colon + 1))));
        if (request.headers.back().first == "content-length") {
          content_length = std::strtoull(request.headers.back().second.c_str(), nullptr, 10);
        }
      }
      line_end = next;
    }
    const size_t body_start = header_end + 4;
    if (!fill(body_start + content_length)) return close_fd(false);
    request.body = buffer.substr(body_start, content_length);
    buffer.erase(0, body_start + content_length);

    PeerResponse response = Next(request);
    if (response.reset) return close_fd(true);
    if (response.delay.count() > 0 && !Wait(response.delay)) return close_fd(false);

    std::string out =
        "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n";
    bool has_length = false;
    for (const auto& [name, value] : response.headers) {
      if (Lower(name) == "content-length") has_length = true;
      out += name + ": " + value + "\r\n";
    }
    const bool no_body = response.status == 204 || response.status == 304;
    if (!has_length && !no_body) {
      out += "Content-Length: " +
             std::to_string(response.content_length.value_or(response.body.size())) + "\r\n";
    }
    out += "\r\n";
    const bool head_only = request.method == "HEAD" || no_body;
    std::string_view body = head_only ? std::string_view() : std::string_view(response.body);
    if (response.send_body_bytes) body = body.substr(0, *response.send_body_bytes);
    bool sent = SendAll(fd, out) && SendAll(fd, body);
    if (!sent || response.send_body_bytes) return close_fd(false);
  }
}

}  // namespace shadowfs::s3::testing
