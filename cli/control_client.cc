#include "cli/control_client.h"
#include "cli/ops_format.h"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

namespace shadowfs::cli {

using base::Result;
using base::Status;
using Json = nlohmann::json;

Result<ControlAddress> MakeControlAddress(const std::string& path) {
  ControlAddress a;
  a.addr.sun_family = AF_UNIX;
  std::string target = path;
  if (target.size() >= sizeof(a.addr.sun_path)) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return Status::InvalidArgument("socket path too long: " + path);
    std::string dir = slash == 0 ? "/" : path.substr(0, slash);
    a.dir.Reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!a.dir.valid()) return base::ErrnoStatus(errno, "open " + dir);
    target = "/proc/self/fd/" + std::to_string(a.dir.get()) + path.substr(slash);
    if (target.size() >= sizeof(a.addr.sun_path)) {
      return Status::InvalidArgument("socket name too long: " + path);
    }
  }
  std::memcpy(a.addr.sun_path, target.c_str(), target.size() + 1);
  a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + target.size() + 1);
  return a;
}

Result<Json> CallControlSocket(const std::string& path, const Json& request,
                               const std::function<void(const Json&)>& on_progress,
                               std::chrono::milliseconds idle_timeout) {
  SHADOWFS_ASSIGN_OR_RETURN(ControlAddress address, MakeControlAddress(path));
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::ErrnoStatus(errno, "socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.addr), address.length) != 0) {
    int e = errno;
    if (e == EACCES || e == EPERM) {
      return Status::PermissionDenied("permission denied on the control socket " + path +
                                      ": only the user who mounted may use it");
    }
    return Status::Unavailable("cannot reach the mount's control socket " + path + ": " +
                               std::strerror(e) + " (is the mount still running?)");
  }
  std::string out = DumpJson(request) + "\n";
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::send(fd.get(), out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    // The server may have answered and closed before reading (a refused peer): read its reply.
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
    if (n <= 0) return base::ErrnoStatus(errno, "writing to the control socket " + path);
    done += static_cast<size_t>(n);
  }
  std::string buffer;
  char chunk[4096];
  for (;;) {
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      Json line = Json::parse(buffer.substr(0, nl), nullptr, /*allow_exceptions=*/false);
      buffer.erase(0, nl + 1);
      if (!line.is_object()) {
        return Status::Corruption("malformed reply from the control socket " + path);
      }
      if (line.contains("progress")) {
        if (on_progress) on_progress(line["progress"]);
        continue;
      }
      return line;
    }
    if (idle_timeout.count() > 0) {
      pollfd p{fd.get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(idle_timeout.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        return Status::Unavailable("the mount did not answer within " +
                                   std::to_string(idle_timeout.count() / 1000) + " s");
      }
    }
    ssize_t n = ::recv(fd.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, "reading from the control socket " + path);
    if (n == 0) {
      return Status::Unavailable("the mount closed the control connection without answering");
    }
    buffer.append(chunk, static_cast<size_t>(n));
    if (buffer.size() > (64u << 20)) {
      return Status::Corruption("oversized reply from the control socket " + path);
    }
  }
}

}  // namespace shadowfs::cli
