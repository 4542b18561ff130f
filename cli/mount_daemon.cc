#include "cli/mount_daemon.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string_view>
#include <system_error>
#include <thread>

#include "blobstore/base/clock.h"
#include "blobstore/base/executor.h"
#include "blobstore/base/metrics.h"
#include "blobstore/base/mutex.h"
#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/reconcile/reconciler.h"
#include "blobstore/shadow/materializer.h"
#include "blobstore/shadow/shadow_store.h"
#include "cli/control_server.h"
#include "cli/metrics_export.h"
#include "cli/mount_registry.h"
#include "cli/ops_service.h"
#include "cli/parse_size.h"
#include "cli/prediction.h"
#include "cli/systemd_notify.h"
#include "predict/access_log.h"
#include "predict/engine.h"
#include "predict/event_ring.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

// Resets the store's eviction scorer when it goes out of scope, before the scorer is destroyed.
class ScopedScorer {
 public:
  explicit ScopedScorer(shadow::ShadowStore* store) : store_(store) {}
  ~ScopedScorer() { store_->SetScorer(nullptr); }
  ScopedScorer(const ScopedScorer&) = delete;
  ScopedScorer& operator=(const ScopedScorer&) = delete;

 private:
  shadow::ShadowStore* const store_;
};

// Prefetches run in parallel with demand reads, so more run at once than the Materializer's
// default: a small file's prefetch is a round trip, not bandwidth (a data set's first epoch is
// covered as fast as the primary answers this many at once). They have connections of their
// own: demand reads keep kDemandConnections of the primary's pool.
constexpr int kPrefetchConcurrency = 32;
constexpr int kDemandConnections = 32;

// Hands what the Materializer's GETs and the engine's listings learn of the primary to the
// filesystem while it exists: both are built before the filesystem and their threads outlive it.
// A listing also goes to the engine while it exists: an expert may be waiting for it.
class VersionRelay {
 public:
  void Attach(fs::FileSystem* fs) {
    base::MutexLock lock(&mu_);
    fs_ = fs;
  }
  void AttachEngine(predict::Engine* engine) {
    base::MutexLock lock(&mu_);
    engine_ = engine;
  }
  void Learn(const blobstore::ObjectInfo& version) {
    base::MutexLock lock(&mu_);
    if (fs_ != nullptr) fs_->LearnVersion(version);
  }
  void LearnDirectory(const std::string& dir, bool has_marker, base::MonoTime listed_at) {
    base::MutexLock lock(&mu_);
    if (fs_ != nullptr) fs_->LearnDirectory(dir, has_marker, listed_at);
    if (engine_ != nullptr) engine_->Listed(dir);
  }

 private:
  base::Mutex mu_;
  fs::FileSystem* fs_ GUARDED_BY(mu_) = nullptr;
  predict::Engine* engine_ GUARDED_BY(mu_) = nullptr;
};

// Detaches the relay from the filesystem (or the engine) when it goes out of scope, before that
// does.
class ScopedRelay {
 public:
  ScopedRelay(VersionRelay* relay, fs::FileSystem* fs)
      : detach_([relay] { relay->Attach(nullptr); }) {
    relay->Attach(fs);
  }
  ScopedRelay(VersionRelay* relay, predict::Engine* engine)
      : detach_([relay] { relay->AttachEngine(nullptr); }) {
    relay->AttachEngine(engine);
  }
  ~ScopedRelay() { detach_(); }
  ScopedRelay(const ScopedRelay&) = delete;
  ScopedRelay& operator=(const ScopedRelay&) = delete;

 private:
  const std::function<void()> detach_;
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
  if (o.compress == "always") {
    c.raw_below_fill = 0;
  } else if (o.compress == "never") {
    c.compress = false;
  } else if (o.compress != "auto") {
    return Status::InvalidArgument("bad --compress '" + o.compress +
                                   "': use auto, always or never");
  }
  if (!(o.time_scale > 0.0 && o.time_scale <= 1e7)) {
    return Status::InvalidArgument("bad --time-scale " + std::to_string(o.time_scale) +
                                   ": use a positive factor");
  }
  c.time_scale = o.time_scale;
  if (!o.time_anchor.empty()) {
    // Two Unix times, "REAL,SIM", each wholly a number.
    auto number = [](std::string_view s, double* out) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
      return ec == std::errc() && end == s.data() + s.size() && *out > 0 && *out < 1e11;
    };
    const std::string_view anchor = o.time_anchor;
    const size_t comma = anchor.find(',');
    double real = 0, sim = 0;
    if (comma == std::string_view::npos || !number(anchor.substr(0, comma), &real) ||
        !number(anchor.substr(comma + 1), &sim)) {
      return Status::InvalidArgument("bad --time-anchor '" + o.time_anchor +
                                     "': use REAL,SIM in Unix seconds");
    }
    auto at = [](double s) {
      return base::WallTime(
          std::chrono::duration_cast<base::WallTime::duration>(std::chrono::duration<double>(s)));
    };
    c.time_anchor.emplace(at(real), at(sim));
  }
  if (!(o.primary_latency_ms >= 0 && o.primary_latency_ms <= 10000)) {
    return Status::InvalidArgument("bad --primary-latency-ms: 0 to 10000");
  }
  c.primary_latency = std::chrono::microseconds(static_cast<int64_t>(o.primary_latency_ms * 1000));
  c.prediction = o.prediction != "off";
  if (!o.access_log.empty()) c.access_log = std::filesystem::absolute(o.access_log).string();
  if (!o.metrics_addr.empty()) {
    SHADOWFS_RETURN_IF_ERROR(ParseLoopbackAddress(o.metrics_addr).status());
  }
  c.metrics_addr = o.metrics_addr;
  c.metrics_textfile = o.metrics_textfile;
  // The daemon runs in /, so files named relative to where the command ran are resolved now.
  for (std::string* path :
       {&c.primary.credentials_file, &c.primary.ca_bundle, &c.metrics_textfile}) {
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
  // --time-scale: everything but the primary sees a faster calendar, so a benchmark can replay
  // nightly jobs in minutes; the primary keeps real time because requests are signed with it.
  std::optional<base::ScaledClock> scaled_clock;
  if (config.time_anchor) {
    scaled_clock.emplace(&clock, config.time_scale, config.time_anchor->first,
                         config.time_anchor->second);
  } else {
    scaled_clock.emplace(&clock, config.time_scale);
  }
  base::StderrLogger logger(config.log_level);
  base::MetricsRegistry metrics;
  base::Runtime primary_runtime{&clock, &logger, &metrics};
  base::Clock* mount_clock = &clock;
  if (config.time_scale != 1.0 || config.time_anchor) mount_clock = &*scaled_clock;
  base::Runtime runtime{mount_clock, &logger, &metrics};
  ReadyChannel ready(std::move(ready_fd));
  auto fail = [&](const Status& status) {
    // A daemon's log keeps the reason too; in the foreground stderr is the log.
    if (ready.daemon()) logger.Log(base::LogLevel::kError, status.message());
    ready.Send(status.message());
    return 1;
  };

  PidFile pid_file(config.pid_file);
  if (Status s = pid_file.Write(); !s.ok()) return fail(s);

  PrimaryOptions primary_options = config.primary;
  primary_options.max_connections = kDemandConnections + kPrefetchConcurrency;
  auto primary = OpenPrimary(primary_options, primary_runtime);
  if (!primary.ok()) return fail(primary.status());
  // --primary-latency-ms (hidden): every request waits first, as behind a slow link.
  std::unique_ptr<blobstore::BlobStore> undelayed;
  if (config.primary_latency.count() > 0) {
    undelayed = std::move(primary->store);
    auto delayed = std::make_unique<blobstore::FaultInjectionBlobStore>(undelayed.get(), &clock);
    delayed->SetLatency(config.primary_latency);
    primary->store = std::move(delayed);
  }
  shadow::ShadowStoreOptions store_options;
  store_options.dir = config.store_dir;
  store_options.capacity_bytes = config.cache_bytes;
  store_options.min_confidence = config.min_confidence;
  store_options.raw_below_fill = config.raw_below_fill;
  if (!config.compress) store_options.codec.preferred = shadow::Codec::kNone;
  auto store = shadow::ShadowStore::Open(store_options, runtime);
  if (!store.ok()) {
    std::string hint = store.status().code() == base::StatusCode::kAlreadyExists
                           ? " (each mount needs its own --store)"
                           : "";
    return fail(Status(store.status().code(), store.status().message() + hint));
  }
  // The prediction engine (predict/README.md) learns from every read, prefetches through the
  // Materializer (unless --prediction off) and ranks the store's eviction. Its state lives in the
  // store, which this process now holds.
  // A prefetched file's lookup is answered from its shadow, without a HEAD, once the
  // filesystem knows the version the prefetch's GET returned; its directory's, once a listing
  // showed whether the directory has a marker.
  VersionRelay versions;
  PrimaryNamespace names(primary->store.get(), mount_clock);
  names.SetListingObserver(
      [&versions](const std::string& dir, bool has_marker, base::MonoTime listed_at) {
        versions.LearnDirectory(dir, has_marker, listed_at);
      });
  ShadowStoreView store_view(store->get());
  predict::EngineOptions engine_options;
  engine_options.state_path = config.store_dir + "/predict.db";
  engine_options.prefetch = config.prediction;
  // The filesystem's readahead follows each open file's stream; the engine predicts across files.
  engine_options.readahead_owns_open_file = true;
  auto engine = predict::Engine::Create(engine_options, {&names, &store_view, runtime});
  if (!engine.ok()) return fail(engine.status().WithContext("prediction engine"));
  (*store)->SetScorer(engine->get());
  // Destroyed before the engine: afterwards the store's eviction no longer asks it.
  ScopedScorer scorer_reset(store->get());
  // Likewise, the listings reach the engine until it goes (the namespace's thread outlives it).
  ScopedRelay engine_relay(&versions, engine->get());
  shadow::MaterializerOptions materializer_options;
  materializer_options.max_concurrent = kPrefetchConcurrency;
  shadow::Materializer materializer(primary->store.get(), store->get(), materializer_options,
                                    runtime);
  materializer.SetPrefetchListener(engine->get());
  materializer.SetVersionObserver(
      [&versions](const blobstore::ObjectInfo& v) { versions.Learn(v); });
  (*engine)->AttachSink(&materializer);
  std::unique_ptr<predict::AccessLogWriter> access_log;
  if (!config.access_log.empty()) {
    auto opened = predict::AccessLogWriter::Open(config.access_log, mount_clock);
    if (!opened.ok()) return fail(opened.status().WithContext("--access-log"));
    access_log = std::move(*opened);
  }
  predict::EventRing ring(1 << 16);
  bool access_log_failed = false;  // the prediction thread's own
  PredictionLoop prediction(
      &ring, engine->get(),
      [&](const predict::AccessEvent& e) {
        if (!access_log || access_log_failed) return;
        if (Status s = access_log->Write(e); !s.ok()) {
          access_log_failed = true;  // logged once; the mount goes on without its log
          logger.Log(base::LogLevel::kError, "access log: " + s.message());
        }
      },
      runtime);

  fs::FileSystemOptions fs_options = config.fs;
  fs_options.prefix = primary->prefix;
  fs::FileSystemDeps deps{primary->store.get(), store->get(), &ring, runtime, &materializer};
  auto filesystem = fs::FileSystem::Create(deps, fs_options);
  if (!filesystem.ok()) return fail(filesystem.status());
  ScopedRelay relay(&versions, filesystem->get());

  auto metrics_export = MetricsExport::Start(
      {.address = config.metrics_addr, .textfile = config.metrics_textfile}, runtime,
      [mount = MountCollector(filesystem->get(), store->get(), &metrics), e = engine->get()] {
        mount();
        e->ExportMetrics();
      });
  if (!metrics_export.ok()) return fail(metrics_export.status());

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

  // The control socket (cli/README.md): `shadowfs shadow|warmup|stats|status` reach the mount
  // through it, and find it through the registry file written once the mount is ready.
  OpsContext ops_context;
  ops_context.store = store->get();
  ops_context.materializer = &materializer;
  ops_context.primary = primary->store.get();
  ops_context.prefix = primary->prefix;
  ops_context.fs_stats = [fs = filesystem->get()] { return fs->stats(); };
  ops_context.metrics = &metrics;
  ops_context.prediction = [e = engine->get()] { return AccountingJson(e->accounting()); };
  ops_context.mountpoint = config.mountpoint;
  ops_context.store_dir = config.store_dir;
  ops_context.runtime = runtime;
  OpsService ops_service(std::move(ops_context));
  RegisterPredictOps(ops_service, engine->get());
  auto control = ControlServer::Start(config.store_dir + "/control.sock", &ops_service, &logger);
  if (!control.ok()) return fail(control.status().WithContext("control socket"));
  auto registration = std::make_unique<MountRegistration>();

  bool mounted = false;
  Status served = fs::RunFuseMount(
      filesystem->get(), config.fuse,
      [&] {
        mounted = true;
        Status registered = registration->Write({.pid = ::getpid(),
                                                 .mountpoint = config.mountpoint,
                                                 .primary = config.primary.url,
                                                 .store_dir = config.store_dir,
                                                 .socket = (*control)->path()});
        if (!registered.ok()) logger.Log(base::LogLevel::kWarning, registered.message());
        ready.Send("ready");
        NotifyReady();  // a Type=notify unit running `shadowfs mount --foreground`
      },
      runtime);
  if (!served.ok() && !mounted) (void)fail(served);
  if (!served.ok() && mounted) logger.Log(base::LogLevel::kError, served.message());
  if (mounted) NotifyStopping();  // pending uploads may take a while yet

  // Reverse order of construction; the uploads the last writes queued finish before we exit.
  // The operator commands go first: the mount point is gone.
  registration.reset();
  (*control)->Stop();
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
