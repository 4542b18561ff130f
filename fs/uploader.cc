#include "fs/uploader.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "blobstore/base/executor.h"
#include "blobstore/base/logging.h"
#include "fs/uploader_impl.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

Uploader::Uploader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Uploader>> Uploader::Create(blobstore::BlobStore* primary,
                                                   shadow::ShadowStore* store,
                                                   UploaderOptions options, base::Runtime runtime) {
  if (!primary || !store) return Status::InvalidArgument("Uploader: no primary or store");
  if (options.parallel_uploads < 1) options.parallel_uploads = 1;
  auto impl = std::make_unique<Impl>(primary, store, std::move(options), runtime);
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<shadow::WriteIntent> intents, store->PendingWriteIntents());
  for (shadow::WriteIntent& intent : intents) {
    auto job = std::make_shared<UploadJob>();
    job->path = store->staging_dir() + "/" + intent.staging_file;
    if (!std::filesystem::exists(job->path)) {
      base::LogStream(*runtime.logger, base::LogLevel::kError)
          << "write intent " << intent.id << " of " << intent.key << ": staging file " << job->path
          << " is missing; the write cannot be replayed";
      (void)store->CompleteWriteIntent(intent.id);
      continue;
    }
    job->tag = impl->TagFor(intent);
    job->intent = std::move(intent);
    impl->Enqueue(std::move(job));
  }
  Impl* self = impl.get();
  for (int i = 0; i < impl->options.parallel_uploads; ++i) {
    impl->workers.emplace_back([self, i] { self->WorkerLoop(i); });
  }
  return std::unique_ptr<Uploader>(new Uploader(std::move(impl)));
}

Uploader::~Uploader() {
  {
    base::MutexLock lock(&impl_->mu_);
    impl_->stopping_ = true;
    impl_->cv_.SignalAll();
  }
  for (std::thread& t : impl_->workers) t.join();
}

std::string Uploader::Impl::TagFor(const shadow::WriteIntent& intent) const {
  // The staging file's name is unique and recorded with the intent, so a replay after a crash
  // derives the same tag and can recognize an upload of its own that did land.
  std::string unique = intent.staging_file;
  if (auto dash = unique.rfind('-'); dash != std::string::npos) unique = unique.substr(dash + 1);
  return options.hostname + "-" + std::to_string(intent.id) + "-" + unique;
}

void Uploader::Impl::Enqueue(std::shared_ptr<UploadJob> job) {
  base::MutexLock lock(&mu_);
  const std::string key = job->intent.key;
  auto& q = queues_[key];
  q.push_back(std::move(job));
  if (q.size() == 1 && !active_.count(key)) ready_.push_back(key);
  cv_.SignalAll();
}

Result<UploadResult> Uploader::Upload(UploadRequest request) {
  Impl& d = *impl_;
  namespace stdfs = std::filesystem;
  std::error_code ec;
  stdfs::path src(request.staging_path);
  if (src.parent_path() != stdfs::path(d.store->staging_dir())) {
    // Intents name files inside the staging directory; move a file staged elsewhere there.
    stdfs::path dst = stdfs::path(d.store->staging_dir()) / src.filename();
    stdfs::rename(src, dst, ec);
    if (ec) return Status::IOError("cannot move " + request.staging_path + ": " + ec.message());
    request.staging_path = dst.string();
  }
  auto job = std::make_shared<UploadJob>();
  job->path = request.staging_path;
  shadow::WriteIntent& in = job->intent;
  in.key = request.key;
  in.staging_file = stdfs::path(request.staging_path).filename().string();
  in.size = request.size;
  in.create_only = request.create_only;
  in.base_etag = request.base_etag;
  in.metadata = request.metadata;
  in.content_type = request.content_type;
  in.created = d.runtime.clock->Now();
  {
    base::MutexLock order(&d.order_mu_);
    Result<int64_t> id = d.store->RecordWriteIntent(in);
    if (!id.ok()) {
      // Nothing will ever upload or replay the file: it would hold its space (on a full disk,
      // the reason the intent failed) until the next mount.
      ::unlink(job->path.c_str());
      return id.status();
    }
    in.id = *id;
    job->tag = d.TagFor(in);
    d.Enqueue(job);
  }
  if (d.options.writeback) {
    UploadResult r;
    r.queued = true;
    r.committed.key = request.key;
    r.committed.size = request.size;
    r.committed.metadata = request.metadata;
    r.committed.content_type = request.content_type;
    return r;
  }
  base::MutexLock lock(&d.mu_);
  while (!job->done && !d.stopping_) d.cv_.Wait(&d.mu_);
  if (!job->done)
    return Status::Unavailable("shutting down; the upload of " + request.key +
                               " stays recorded and resumes at the next mount");
  return job->result;
}

void Uploader::Impl::WorkerLoop(int index) {
  base::SetThreadName("upload-" + std::to_string(index));
  for (;;) {
    std::shared_ptr<UploadJob> job;
    std::string key;
    {
      base::MutexLock lock(&mu_);
      while (!stopping_ && ready_.empty()) cv_.Wait(&mu_);
      if (stopping_) return;  // queued intents stay recorded for the next mount
      key = ready_.front();
      ready_.pop_front();
      active_.insert(key);
      job = queues_[key].front();
    }
    Result<UploadResult> result = Process(*job);
    bool kept = !result.ok() && result.status().code() == base::StatusCode::kUnavailable;
    if (result.ok()) {
      if (Status s = store->CompleteWriteIntent(job->intent.id); !s.ok()) {
        base::LogStream(*runtime.logger, base::LogLevel::kError)
            << "cannot complete write intent " << job->intent.id << ": " << s.ToString();
      }
    } else if (!kept) {
      // A permanent failure: the intent cannot succeed by retrying. Its data is kept in
      // STORE/conflicts (the fail policy moved it there already).
      if (result.status().code() != base::StatusCode::kIOError ||
          std::filesystem::exists(job->path)) {
        std::string where = KeepInConflicts(*job);
        base::LogStream(*runtime.logger, base::LogLevel::kError)
            << "upload of " << job->intent.key << " failed: " << result.status().ToString()
            << "; the data is kept in " << where;
      }
      (void)store->CompleteWriteIntent(job->intent.id);
    }
    {
      base::MutexLock lock(&mu_);
      job->done = true;
      job->result = result;
      cv_.SignalAll();
    }
    // Off the caller's path: the staged bytes become the new version's shadow.
    if (result.ok() && !result->conflict_copy) FillShadow(*job, result->committed);
    if (!kept) ::remove(job->path.c_str());
    {
      base::MutexLock lock(&mu_);
      auto it = queues_.find(key);
      it->second.pop_front();
      active_.erase(key);
      if (it->second.empty()) {
        queues_.erase(it);
      } else {
        ready_.push_back(key);
      }
      cv_.SignalAll();
    }
  }
}

bool Uploader::Impl::SleepUnlessStopping(std::chrono::milliseconds d) {
  // In slices, so that shutdown does not wait out a long backoff; through the injected clock,
  // so that tests on a FakeClock do not wait at all.
  const auto slice = std::chrono::milliseconds(50);
  while (d.count() > 0) {
    {
      base::MutexLock lock(&mu_);
      if (stopping_) return false;
    }
    auto step = std::min(d, slice);
    runtime.clock->SleepFor(step);
    d -= step;
  }
  base::MutexLock lock(&mu_);
  return !stopping_;
}

Result<UploadResult> Uploader::Impl::Process(UploadJob& job) {
  auto backoff = options.retry_initial;
  for (;;) {
    Result<UploadResult> r = Attempt(job);
    if (r.ok() || r.status().code() != base::StatusCode::kUnavailable) return r;
    ++job.intent.attempts;
    (void)store->UpdateWriteIntent(job.intent.id, job.intent.attempts, r.status().ToString());
    base::LogStream(*runtime.logger, base::LogLevel::kWarning)
        << "upload of " << job.intent.key << " failed (attempt " << job.intent.attempts
        << "): " << r.status().ToString() << "; retrying in " << backoff.count() << " ms";
    if (!SleepUnlessStopping(backoff)) {
      return Status::Unavailable("shutting down; the upload of " + job.intent.key +
                                 " stays recorded and resumes at the next mount");
    }
    backoff = std::min(backoff * 2, options.retry_max);
  }
}

std::optional<std::string> Uploader::PendingStagingPath(const std::string& key) const {
  base::MutexLock lock(&impl_->mu_);
  auto it = impl_->queues_.find(key);
  if (it == impl_->queues_.end()) return std::nullopt;
  // A job that is done stays queued while its shadow is filled, but the primary already has its
  // data then, and may have newer data still (a rename onto the key, another writer): only an
  // upload that has not committed stands in for the primary.
  for (auto job = it->second.rbegin(); job != it->second.rend(); ++job) {
    if (!(*job)->done) return (*job)->path;
  }
  return std::nullopt;
}

void Uploader::WaitForKey(const std::string& key) {
  base::MutexLock lock(&impl_->mu_);
  while (impl_->queues_.count(key) && !impl_->stopping_) impl_->cv_.Wait(&impl_->mu_);
}

Status Uploader::Drain(std::optional<base::MonoTime> deadline) {
  base::MutexLock lock(&impl_->mu_);
  while (!impl_->queues_.empty()) {
    if (deadline && impl_->runtime.clock->Monotonic() >= *deadline) {
      return Status::Unavailable(std::to_string(impl_->queues_.size()) +
                                 " keys still have uploads pending");
    }
    impl_->cv_.WaitFor(&impl_->mu_, std::chrono::milliseconds(20));
  }
  return Status::Ok();
}

uint64_t Uploader::pending() const {
  base::MutexLock lock(&impl_->mu_);
  uint64_t n = 0;
  for (const auto& [key, q] : impl_->queues_) n += q.size();
  return n;
}

uint64_t Uploader::conflicts() const {
  base::MutexLock lock(&impl_->mu_);
  return impl_->conflicts_;
}

}  // namespace shadowfs::fs
