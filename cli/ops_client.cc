#include "cli/ops_client.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "cli/control_client.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

std::string MountList(const std::vector<MountRecord>& mounts) {
  std::string out;
  for (const MountRecord& m : mounts) out += (out.empty() ? "" : ", ") + m.mountpoint;
  return out;
}

}  // namespace

OpsClient::~OpsClient() = default;

std::unique_ptr<OpsClient> OpsClient::ForMount(MountRecord mount) {
  std::unique_ptr<OpsClient> c(new OpsClient);
  c->target_ = Json{{"path", ""}};
  c->where_ = mount.mountpoint;
  c->socket_ = mount.socket;
  return c;
}

Result<std::unique_ptr<OpsClient>> OpsClient::Connect(const std::string& path,
                                                      const std::string& store_dir) {
  std::unique_ptr<OpsClient> c(new OpsClient);
  if (!store_dir.empty()) {
    std::string dir = std::filesystem::absolute(store_dir).lexically_normal().string();
    struct stat st;
    if (::stat((dir + "/catalog.db").c_str(), &st) != 0) {
      return Status::NotFound("'" + store_dir + "' is not a shadowfs store (no catalog.db in it)");
    }
    std::string key = path;
    while (key.starts_with("/")) key.erase(0, 1);
    c->target_ = Json{{"key", key}};
    c->where_ = dir;
    c->logger_ = std::make_unique<base::StderrLogger>(base::LogLevel::kWarning);
    base::Runtime runtime{&c->clock_, c->logger_.get(), &c->metrics_};
    shadow::ShadowStoreOptions options;
    options.dir = dir;
    // Never evict on behalf of an inspection: the cap in force is the mount's business.
    options.capacity_bytes = UINT64_MAX / 4;
    auto store = shadow::ShadowStore::Open(options, runtime);
    if (store.ok()) {
      c->store_ = std::move(*store);
      OpsContext context;
      context.store = c->store_.get();
      context.store_dir = dir;
      context.metrics = &c->metrics_;
      context.runtime = runtime;
      c->service_ = std::make_unique<OpsService>(std::move(context));
      return c;
    }
    if (store.status().code() != base::StatusCode::kAlreadyExists) return store.status();
    std::optional<MountRecord> mount = FindMountOfStore(dir);
    if (!mount) {
      return Status::Unavailable(store.status().message() +
                                 "; it is not a mount listed in the registry, so ask again once "
                                 "that process has let go of it");
    }
    c->socket_ = mount->socket;
    return c;
  }
  std::string where = path.empty() ? "." : path;
  auto resolved = ResolveMountedPath(where);
  if (!resolved.ok() && path.empty()) {
    std::vector<MountRecord> mounts = ListMounts();
    if (mounts.size() == 1) {
      resolved = MountedPath{mounts[0], ""};
    } else if (mounts.empty()) {
      return Status::NotFound(
          "no shadowfs mount is running (name a path inside a mount, or a store with --store)");
    } else {
      return Status::InvalidArgument("several shadowfs mounts are running (" + MountList(mounts) +
                                     "): name a path inside one");
    }
  }
  if (!resolved.ok()) return resolved.status();
  c->target_ = Json{{"path", resolved->relative}};
  c->where_ = resolved->mount.mountpoint;
  c->socket_ = resolved->mount.socket;
  return c;
}

Result<Json> OpsClient::Call(const std::string& op, Json args,
                             const std::function<void(const Json&)>& progress,
                             std::chrono::milliseconds idle_timeout) {
  Json request = {{"op", op}, {"args", std::move(args)}};
  Json reply;
  if (service_) {
    reply = service_->Handle(request, [&](const Json& p) {
      if (progress) progress(p);
      return true;
    });
  } else {
    SHADOWFS_ASSIGN_OR_RETURN(reply, CallControlSocket(socket_, request, progress, idle_timeout));
  }
  if (reply.value("ok", false)) return reply.value("result", Json());
  std::string error = reply.contains("error") && reply["error"].is_string()
                          ? reply["error"].get<std::string>()
                          : "the mount gave a malformed reply";
  return Status::IOError(error);
}

}  // namespace shadowfs::cli
