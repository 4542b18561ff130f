// ControlServer: a mount's control socket (STORE/control.sock, AF_UNIX stream, mode 0600 in a
// 0700 store directory), through which `shadowfs shadow|warmup|stats|status` reach the mount's
// OpsService. Protocol (cli/README.md): one JSON request line per connection, answered by zero or
// more {"progress": ...} lines and one {"ok": ...} reply line, then the server closes.
//
// A peer whose SO_PEERCRED uid is neither the mount's euid nor root is refused with an error
// reply. Requests are bounded in size and must arrive within request_timeout; a reader that stops
// reading is dropped after write_timeout. One named thread accepts (poll with a wake pipe, so
// Stop is prompt); a small named pool serves connections. Both are joined by Stop.
//
// Start and Stop from one thread (the mount's main thread); the server is otherwise
// self-contained.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "blobstore/base/executor.h"
#include "blobstore/base/logging.h"
#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"
#include "cli/ops_service.h"

namespace shadowfs::cli {

struct ControlServerOptions {
  size_t max_request_bytes = 1 << 20;
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds write_timeout{30000};
  int connection_threads = 4;
};

class ControlServer {
 public:
  // Binds `socket_path` (replacing a stale socket a crashed mount left), restricts it and its
  // directory to the owner, and starts serving `service` (borrowed; outlives the server).
  static base::Result<std::unique_ptr<ControlServer>> Start(std::string socket_path,
                                                            OpsService* service,
                                                            base::Logger* logger,
                                                            ControlServerOptions options = {});
  ~ControlServer();  // Stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops accepting, tells running requests to stop at their next progress report, joins every
  // thread and removes the socket. Idempotent.
  void Stop();

  const std::string& path() const { return path_; }

 private:
  ControlServer(std::string path, OpsService* service, base::Logger* logger,
                ControlServerOptions options, base::UniqueFd listener, base::UniqueFd wake_read,
                base::UniqueFd wake_write);
  void AcceptLoop();
  void Serve(base::UniqueFd conn);
  bool WriteLine(int fd, const std::string& line);

  const std::string path_;
  OpsService* const service_;
  base::Logger* const logger_;
  const ControlServerOptions options_;
  base::UniqueFd listener_;
  base::UniqueFd wake_read_, wake_write_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<base::ThreadPool> pool_;  // connection threads
  std::thread accept_thread_;               // last: starts once everything above exists
};

}  // namespace shadowfs::cli
