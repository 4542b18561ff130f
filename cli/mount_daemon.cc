#include "cli/mount_daemon.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "blobstore/base/clock.h"
#include "blobstore/base/executor.h"
#include "blobstore/base/metrics.h"
#include "blobstore/base/mutex.h"
#include "blobstore/reconcile/reconciler.h"
#include "blobstore/shadow/materializer.h"
#include "blobstore/shadow/shadow_store.h"
#include "cli/parse_size.h"
#include "predict/event_ring.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

// Until the prediction engine consumes them, access events are drained into a counter, so the
// ring never fills and the metric shows the read path reports.
class AccessDrain {
 public:
  AccessDrain(predict::EventRing* ring, base::MetricsRegistry* metrics)
      : ring_(ring),
        events_(metrics->GetCounter("shadowfs_access_events_total",
                                    "Reads the filesystem reported to the prediction engine")),
        thread_([this] { Run(); }) {}
  ~AccessDrain() {
    {
      base::MutexLock lock(&mu_);
      stop_ = true;
    }
    cv_.Signal();
    thread_.join();
  }

 private:
  void Run() {
    base::SetThreadName("access-drain");
    for (;;) {
      bool stop;
      {
        base::MutexLock lock(&mu_);
        if (!stop_) cv_.WaitFor(&mu_, std::chrono::milliseconds(200));
        stop = stop_;
      }
      events_.Increment(ring_->Drain([](predict::AccessEvent&&) {}));
      if (stop) return;
    }
  }

  predict::EventRing* ring_;
  base::Counter& events_;
  base::Mutex mu_;
  base::CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

// The daemon's pid file, removed when the mount is over.
class PidFile {
 public:
  explicit PidFile(std::string path) : path_(std::move(path)) {}
  ~PidFile() {
    if (written_) ::unlink(path_.c_str());
  }
  Status Write() {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    std::ofstream out(path_, std::ios::trunc);
    out << ::getpid() << "\n";
    out.close();
    if (!out) return Status::IOError("cannot write the pid file " + path_);
    written_ = true;
    return Status::Ok();
  }

 private:
  std::string path_;
  bool written_ = false;
};

// Reports to the waiting parent (or stderr in the foreground) exactly once.
class ReadyChannel {
 public:
  explicit ReadyChannel(base::UniqueFd fd) : fd_(std::move(fd)) {}
  void Send(const std::string& message) {
    if (!fd_.valid()) {
      if (message != "ready") std::cerr << "shadowfs mount: " << message << "\n";
      return;
    }
    size_t done = 0;
    while (done < message.size()) {
      ssize_t n = ::write(fd_.get(), message.data() + done, message.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    fd_.Reset();
  }
  bool daemon() const { return fd_.valid(); }

 private:
  base::UniqueFd fd_;
};

Result<fs::ConflictPolicy> ParseConflict(const std::string& text) {
  if (text == "lww") return fs::ConflictPolicy::kLastWriterWins;
  if (text == "copy") return fs::ConflictPolicy::kCopy;
  if (text == "fail") return fs::ConflictPolicy::kFail;
  return Status::InvalidArgument("bad --conflict '" + text + "': use lww, copy or fail");
}

Result<std::string> CanonicalMountpoint(const std::string& path) {
  std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
  if (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  char resolved[PATH_MAX];
  if (::realpath(absolute.c_str(), resolved) != nullptr) return std::string(resolved);
  // Missing, or a dead FUSE mount: CheckMountpoint says which, in the user's terms.
  SHADOWFS_RETURN_IF_ERROR(fs::CheckMountpoint(absolute));
  return absolute;
}

}  // namespace

Result<DaemonConfig> MakeDaemonConfig(const MountCommandOptions& o,
                                      const MountOptionEffects& effects, base::LogLevel level) {
  DaemonConfig c;
  c.primary = o.primary;
  if (!o.primary.url.starts_with("file://") && !o.primary.url.starts_with("s3://") &&
      o.primary.url != "mem://") {
    return Status::InvalidArgument("unknown primary '" + o.primary.url +
                                   "': use file:///absolute/dir or s3://bucket[/prefix]");
  }
  SHADOWFS_ASSIGN_OR_RETURN(c.mountpoint, CanonicalMountpoint(o.mountpoint));
  SHADOWFS_ASSIGN_OR_RETURN(c.cache_bytes, ParseSize(o.cache_size));
  if (!(o.min_confidence >= 0.0 && o.min_confidence <= 1.0)) {
    return Status::InvalidArgument("bad --min-confidence " + std::to_string(o.min_confidence) +
                                   ": use a probability from 0 to 1");
  }
  c.min_confidence = o.min_confidence;
  // The daemon runs in /, so files named relative to where the command ran are resolved now.
  for (std::string* path : {&c.primary.credentials_file, &c.primary.ca_bundle}) {
    if (!path->empty()) *path = std::filesystem::absolute(*path).string();
  }
  c.log_level = level;
  c.store_dir = o.store_dir.empty() ? DefaultStoreDir(o.primary.url, c.mountpoint)
                                    : std::filesystem::absolute(o.store_dir).string();

  SHADOWFS_ASSIGN_OR_RETURN(c.fs.conflict, ParseConflict(o.conflict));
  c.fs.read_only = effects.read_only;
  c.fs.writeback = o.writeback;
  c.fs.default_uid = effects.uid.value_or(::getuid());
  c.fs.default_gid = effects.gid.value_or(::getgid());
  if (effects.umask) {
    c.fs.default_file_mode = 0666 & ~*effects.umask;
    c.fs.default_dir_mode = 0777 & ~*effects.umask;
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  c.fs.hostname = host;

  c.fuse.mountpoint = c.mountpoint;
  c.fuse.fsname = o.primary.url;
  c.fuse.fuse_options = effects.fuse_options;
  c.fuse.debug = o.debug;
  c.fuse.attr_timeout = c.fs.attr_timeout;
  c.fuse.negative_timeout = c.fs.negative_timeout;
  c.pid_file = PidFilePath(c.mountpoint);
  return c;
}

int RunMountDaemon(const DaemonConfig& config, base::UniqueFd ready_fd) {
  base::SystemClock clock;
  base::StderrLogger logger(config.log_level);
  base::MetricsRegistry metrics;
  base::Runtime runtime{&clock, &logger, &metrics};
  ReadyChannel ready(std::move(ready_fd));
  auto fail = [&](const Status& status) {
    // A daemon's log keeps the reason too; in the foreground stderr is the log.
    if (ready.daemon()) logger.Log(base::LogLevel::kError, status.message());
    ready.Send(status.message());
    return 1;
  };

  PidFile pid_file(config.pid_file);
  if (Status s = pid_file.Write(); !s.ok()) return fail(s);

  auto primary = OpenPrimary(config.primary, runtime);
  if (!primary.ok()) return fail(primary.status());
  shadow::ShadowStoreOptions store_options;
  store_options.dir = config.store_dir;
  store_options.capacity_bytes = config.cache_bytes;
  store_options.min_confidence = config.min_confidence;
  auto store = shadow::ShadowStore::Open(store_options, runtime);
  if (!store.ok()) {
    std::string hint = store.status().code() == base::StatusCode::kAlreadyExists
                           ? " (each mount needs its own --store)"
                           : "";
    return fail(Status(store.status().code(), store.status().message() + hint));
  }
  shadow::Materializer materializer(primary->store.get(), store->get(), {}, runtime);
  predict::EventRing ring(1 << 16);
  AccessDrain drain(&ring, &metrics);

  fs::FileSystemOptions fs_options = config.fs;
  fs_options.prefix = primary->prefix;
  fs::FileSystemDeps deps{primary->store.get(), store->get(), &ring, runtime};
  auto filesystem = fs::FileSystem::Create(deps, fs_options);
  if (!filesystem.ok()) return fail(filesystem.status());

  reconcile::ReconcilerOptions reconcile_options;
  reconcile_options.store_dir = config.store_dir;
  auto reconciler = reconcile::Reconciler::Create(primary->store.get(), store->get(), &materializer,
                                                  nullptr, reconcile_options, runtime);
  if (reconciler.ok()) {
    (*reconciler)->Start();
  } else {
    // A `shadowfs reconcile` service already keeps this store honest; the mount still serves.
    logger.Log(base::LogLevel::kInfo,
               "running without a reconciler thread: " + reconciler.status().message());
  }

  bool mounted = false;
  Status served = fs::RunFuseMount(
      filesystem->get(), config.fuse,
      [&] {
        mounted = true;
        ready.Send("ready");
      },
      runtime);
  if (!served.ok() && !mounted) (void)fail(served);
  if (!served.ok() && mounted) logger.Log(base::LogLevel::kError, served.message());

  // Reverse order of construction; the uploads the last writes queued finish before we exit.
  if (reconciler.ok()) (*reconciler)->Stop();
  Status shutdown = (*filesystem)->Shutdown();
  if (!shutdown.ok()) {
    logger.Log(
        base::LogLevel::kError,
        "uploads still pending at exit stay queued for the next mount: " + shutdown.message());
  }
  return mounted && served.ok() ? 0 : 1;
}

}  // namespace shadowfs::cli
