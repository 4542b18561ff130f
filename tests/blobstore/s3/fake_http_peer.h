// FakeHttpPeer: a small in-process HTTP/1.1 server on 127.0.0.1:<ephemeral> whose answers are
// scripted per request, to drive the S3 client through faults a real server rarely shows: error
// statuses, bodies cut short, malformed XML, connection resets, stalls. Each connection is served
// by its own thread (at most kMaxConnections at once); the destructor stops accepting, unblocks
// and joins every thread. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "blobstore/base/mutex.h"

namespace shadowfs::s3::testing {

struct PeerRequest {
  std::string method;
  std::string target;                                        // path and query as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  const std::string* Header(std::string_view name) const;
  std::string path() const { return target.substr(0, target.find('?')); }
};

struct PeerResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Faults:
  std::optional<size_t> content_length;   // announce this instead of body.size()
  std::optional<size_t> send_body_bytes;  // send only this much of the body, then close
  bool reset = false;                     // read the request, then close with a TCP RST
  std::chrono::milliseconds delay{0};     // wait before answering

  static PeerResponse Status(int status, std::string body = "");
  // An S3 <Error> document with this code.
  static PeerResponse Error(int status, std::string_view code, std::string_view message = "");
  PeerResponse& With(std::string name, std::string value);
};

class FakeHttpPeer {
 public:
  using Handler = std::function<PeerResponse(const PeerRequest&)>;
  static constexpr int kMaxConnections = 64;

  FakeHttpPeer();
  ~FakeHttpPeer();
  FakeHttpPeer(const FakeHttpPeer&) = delete;
  FakeHttpPeer& operator=(const FakeHttpPeer&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Scripted answers, used in order; when they run out the handler answers (default: 500).
  void Enqueue(PeerResponse response) EXCLUDES(mu_);
  void SetHandler(Handler handler) EXCLUDES(mu_);

  std::vector<PeerRequest> requests() const EXCLUDES(mu_);
  size_t request_count() const EXCLUDES(mu_);

 private:
  void AcceptLoop();
  void Serve(int fd);
  PeerResponse Next(const PeerRequest& request) EXCLUDES(mu_);
  // Sleeps up to `d`, returning early (false) when the peer is stopping.
  bool Wait(std::chrono::milliseconds d) EXCLUDES(mu_);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable base::Mutex mu_;  // never held during socket I/O
  base::CondVar stop_cv_;
  std::vector<PeerResponse> script_ GUARDED_BY(mu_);
  size_t script_pos_ GUARDED_BY(mu_) = 0;
  Handler handler_ GUARDED_BY(mu_);
  std::vector<PeerRequest> requests_ GUARDED_BY(mu_);
  std::vector<int> open_fds_ GUARDED_BY(mu_);
  std::vector<std::thread> connection_threads_ GUARDED_BY(mu_);
  std::thread accept_thread_;
};

}  // namespace shadowfs::s3::testing
