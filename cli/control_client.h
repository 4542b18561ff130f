// The client side of a mount's control socket (protocol: cli/README.md): one request line out,
// progress lines and one reply line back. Also the socket address shared with the server, which
// reaches paths longer than sun_path through /proc/self/fd. Thread-compatible free functions.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"

namespace shadowfs::cli {

struct ControlAddress {
  sockaddr_un addr{};
  socklen_t length = 0;
  base::UniqueFd dir;  // keeps the /proc/self/fd/N directory alive for long paths
};
base::Result<ControlAddress> MakeControlAddress(const std::string& path);

// Sends `request` to the socket at `path` and returns the reply object ({"ok": ...}). Each
// {"progress": ...} line before it goes to `on_progress` (may be empty). `idle_timeout` bounds
// the wait for each line (zero: no bound, for long warmups that report progress anyway).
// Unavailable if nothing listens there; PermissionDenied if the socket refuses us.
base::Result<nlohmann::json> CallControlSocket(
    const std::string& path, const nlohmann::json& request,
    const std::function<void(const nlohmann::json&)>& on_progress,
    std::chrono::milliseconds idle_timeout);

}  // namespace shadowfs::cli
