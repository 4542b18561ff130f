// MetricsServer: the `--metrics-addr` endpoint. A small HTTP/1.1 server on a loopback address
// only (127.0.0.0/8 or ::1: the metrics are not for the network, and nothing here authenticates)
// that answers GET /metrics with the registry in the Prometheus text format, 404 for other
// paths and 405 for other methods. One named thread accepts and answers one connection at a
// time (a scraper asks every few seconds); a request is bounded in size (8 KiB) and time (5 s),
// so a client that stalls delays the next scrape and no more. Stops promptly: the thread polls a
// wake-up descriptor beside the sockets.
//
// Thread-safe: constructed and destroyed by one thread; serves on its own.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/base/unique_fd.h"

namespace shadowfs::cli {

struct LoopbackAddress {
  sockaddr_storage addr{};
  socklen_t length = 0;
  std::string text;  // as the user wrote it
};

// "127.0.0.1:9464", "[::1]:9464" or "localhost:9464" (127.0.0.1). Port 0 picks a free port.
// InvalidArgument for anything else, and for an address that is not loopback.
base::Result<LoopbackAddress> ParseLoopbackAddress(const std::string& text);

class MetricsServer {
 public:
  struct Options {
    std::chrono::milliseconds request_timeout{5000};
    size_t max_request_bytes = 8192;
  };

  // Binds and listens (errors name the address), then serves from a thread "metrics-http".
  static base::Result<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                            base::Runtime runtime, Options options);
  static base::Result<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                            base::Runtime runtime) {
    return Start(address, runtime, Options());
  }
  ~MetricsServer();  // stops and joins the thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }  // the bound port (useful with port 0)

 private:
  MetricsServer(base::UniqueFd listener, base::UniqueFd wake, uint16_t port, base::Runtime runtime,
                Options options);
  void Run();
  void Serve(int fd);
  // The request head (up to the blank line), or "" if the client stalled, overran or left.
  std::string ReadRequest(int fd, bool* too_large);

  const base::UniqueFd listener_;
  const base::UniqueFd wake_;  // an eventfd: readable once the server must stop
  const uint16_t port_;
  const base::Runtime runtime_;
  const Options options_;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace shadowfs::cli
