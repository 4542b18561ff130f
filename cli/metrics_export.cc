#include "cli/metrics_export.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "blobstore/base/executor.h"
#include "blobstore/base/logging.h"
#include "blobstore/base/unique_fd.h"
#include "blobstore/shadow/shadow_store.h"
#include "fs/file_system.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  // node_exporter reads only *.prom files, so the temporary file is never collected half written.
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  base::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return Status::IOError("cannot write the metrics file " + path + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = base::ErrnoStatus(errno, "write " + tmp);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = base::ErrnoStatus(errno, "rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

Result<std::unique_ptr<MetricsTextfile>> MetricsTextfile::Start(std::string path,
                                                                std::chrono::milliseconds interval,
                                                                base::Runtime runtime) {
  // The first write checks the path, so a mistake fails the command instead of a log line.
  SHADOWFS_RETURN_IF_ERROR(WriteFileAtomically(path, runtime.metrics->ExportPrometheus()));
  return std::unique_ptr<MetricsTextfile>(new MetricsTextfile(std::move(path), interval, runtime));
}

MetricsTextfile::MetricsTextfile(std::string path, std::chrono::milliseconds interval,
                                 base::Runtime runtime)
    : path_(std::move(path)), interval_(interval), runtime_(runtime), thread_([this] { Run(); }) {}

MetricsTextfile::~MetricsTextfile() {
  {
    base::MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.Signal();
  thread_.join();
  Status s = Write();
  if (!s.ok()) runtime_.logger->Log(base::LogLevel::kWarning, s.message());
}

void MetricsTextfile::Run() {
  base::SetThreadName("metrics-file");
  bool failing = false;
  for (;;) {
    {
      base::MutexLock lock(&mu_);
      base::MonoTime deadline = std::chrono::steady_clock::now() + interval_;
      while (!stop_ && std::chrono::steady_clock::now() < deadline) {
        cv_.WaitFor(&mu_, deadline - std::chrono::steady_clock::now());
      }
      if (stop_) return;
    }
    Status s = Write();
    // Logged when it starts failing, not every interval.
    if (!s.ok() && !failing) runtime_.logger->Log(base::LogLevel::kWarning, s.message());
    failing = !s.ok();
  }
}

Status MetricsTextfile::Write() {
  return WriteFileAtomically(path_, runtime_.metrics->ExportPrometheus());
}

Result<std::unique_ptr<MetricsExport>> MetricsExport::Start(const MetricsExportOptions& options,
                                                            base::Runtime runtime,
                                                            std::function<void()> collector) {
  std::unique_ptr<MetricsExport> e(new MetricsExport(runtime.metrics));
  if (options.address.empty() && options.textfile.empty()) return e;
  if (collector) e->collector_id_ = runtime.metrics->AddCollector(std::move(collector));
  if (!options.textfile.empty()) {
    SHADOWFS_ASSIGN_OR_RETURN(
        e->textfile_, MetricsTextfile::Start(options.textfile, options.textfile_interval, runtime));
  }
  if (!options.address.empty()) {
    SHADOWFS_ASSIGN_OR_RETURN(e->server_, MetricsServer::Start(options.address, runtime));
  }
  return e;
}

MetricsExport::~MetricsExport() {
  server_.reset();
  textfile_.reset();
  if (collector_id_ != 0) registry_->RemoveCollector(collector_id_);
}

std::function<void()> StoreCollector(shadow::ShadowStore* store, base::MetricsRegistry* registry) {
  base::Gauge* capacity = &registry->GetGauge("shadowfs_shadow_store_capacity_bytes",
                                              "The byte cap of the shadow store");
  return [store, capacity] { capacity->Set(static_cast<double>(store->capacity_bytes())); };
}

std::function<void()> MountCollector(fs::FileSystem* filesystem, shadow::ShadowStore* store,
                                     base::MetricsRegistry* registry) {
  base::Gauge* pending = &registry->GetGauge(
      "shadowfs_pending_uploads", "Uploads to the primary queued or running (write intents)");
  return [filesystem, pending, store_gauges = StoreCollector(store, registry)] {
    store_gauges();
    pending->Set(static_cast<double>(filesystem->stats().pending_uploads));
  };
}

}  // namespace shadowfs::cli
