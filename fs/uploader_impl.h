// The private state of Uploader, shared by uploader.cc (queue, workers, API) and
// uploader_put.cc (one upload: conditional PUT, conflict policy, shadow fill). Not public.
//
// Locks, in the order they may be taken:
//   order_mu_  held across recording an intent and queueing it, so that uploads of one key
//              run in the order their intents were recorded.
//   mu_        the queues; a leaf lock, never held across a request, an fsync or the catalog.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "blobstore/base/mutex.h"
#include "fs/uploader.h"

namespace shadowfs::fs {

inline constexpr char kIntentTagName[] = "shadowfs-intent";

struct UploadJob {
  shadow::WriteIntent intent;
  std::string path;  // the staging file
  std::string tag;   // the shadowfs-intent metadata value of this intent's PUTs
  // Set by the worker (under Impl::mu_) for a synchronous caller waiting on done_cv.
  bool done = false;
  base::Result<UploadResult> result = base::Status::Unavailable("not uploaded yet");
};

struct Uploader::Impl {
  Impl(blobstore::BlobStore* p, shadow::ShadowStore* s, UploaderOptions o, base::Runtime r)
      : primary(p), store(s), options(std::move(o)), runtime(r) {}

  void Enqueue(std::shared_ptr<UploadJob> job) EXCLUDES(mu_);
  void WorkerLoop(int index) EXCLUDES(mu_);
  // Uploads until success, a permanent failure, or shutdown (Unavailable, intent kept).
  base::Result<UploadResult> Process(UploadJob& job) EXCLUDES(mu_);
  base::Result<UploadResult> Attempt(UploadJob& job) EXCLUDES(mu_);
  base::Result<UploadResult> Resolve(UploadJob& job, blobstore::ByteSource& body,
                                     const blobstore::PutOptions& put) EXCLUDES(mu_);
  // Moves the staging file to STORE/conflicts; returns the new path.
  std::string KeepInConflicts(const UploadJob& job);
  void FillShadow(const UploadJob& job, const blobstore::ObjectInfo& committed);
  bool SleepUnlessStopping(std::chrono::milliseconds d) EXCLUDES(mu_);
  std::string TagFor(const shadow::WriteIntent& intent) const;
  base::Result<bool> Conditional() EXCLUDES(mu_);

  blobstore::BlobStore* const primary;
  shadow::ShadowStore* const store;
  const UploaderOptions options;
  const base::Runtime runtime;

  base::Mutex order_mu_;
  mutable base::Mutex mu_ ACQUIRED_AFTER(order_mu_);
  base::CondVar cv_;  // work queued, a job done, a key drained, stopping
  // Per key, in commit order; the front is running while the key is in active_.
  std::map<std::string, std::deque<std::shared_ptr<UploadJob>>> queues_ GUARDED_BY(mu_);
  std::deque<std::string> ready_ GUARDED_BY(mu_);  // keys with work and no worker
  std::set<std::string> active_ GUARDED_BY(mu_);
  // The ETag our last upload of a key produced: the base of a writeback commit made before it.
  std::map<std::string, std::string> last_etag_ GUARDED_BY(mu_);
  std::optional<bool> conditional_ GUARDED_BY(mu_);
  uint64_t conflicts_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers;  // "upload-N", joined by ~Uploader
};

}  // namespace shadowfs::fs
