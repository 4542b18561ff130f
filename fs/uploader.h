// Uploader: commits staged files to the primary (DESIGN.md section 5). Every upload is first
// recorded as a write intent in the store's catalog (key, staging file, base ETag, metadata,
// time); the intent is removed only after the primary acknowledged the new version. Uploads
// carry If-Match with the base ETag, or If-None-Match: * for a new file, where the primary
// honours conditional writes; elsewhere it compares the current ETag with a HEAD just before the
// PUT. A 412 is resolved by the conflict policy: lww re-uploads unconditionally, copy keeps
// theirs and stores ours as NAME.conflict-<host>-<time>, fail gives IOError to the caller and
// keeps ours in STORE/conflicts/.
//
// A primary that is unavailable keeps the intent queued and retried with exponential backoff;
// the caller of a synchronous upload waits (close/fsync do not return before the data is at the
// primary) unless the mount is in writeback mode, where Commit returns once the staged file and
// its intent are durable. Intents left by a crash are replayed by Create.
//
// After a commit the staged bytes become the new shadow asynchronously (Fill with the new ETag,
// origin write, valid_from = the commit time), off the caller's path; the staging file is removed
// once that is done.
//
// Thread-safe. Uploads of different keys run in parallel (bounded); uploads of one key run in
// the order they were committed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/shadow/shadow_store.h"
#include "fs/types.h"

namespace shadowfs::fs {

struct UploaderOptions {
  ConflictPolicy conflict = ConflictPolicy::kCopy;
  bool writeback = false;
  std::string hostname;
  int parallel_uploads = 4;
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{30000};
};

struct UploadRequest {
  std::string key;
  std::string staging_path;  // an fsynced file in the store's staging directory; taken over
  uint64_t size = 0;
  bool create_only = false;  // a new file: If-None-Match: *
  std::string base_etag;     // otherwise the version the staged data was based on
  blobstore::UserMetadata metadata;
  std::string content_type;
};

struct UploadResult {
  blobstore::ObjectInfo committed;  // the new version (in writeback mode: etag empty, queued)
  bool queued = false;              // writeback: the upload runs in the background
  // Under the copy policy, the key our data went to instead of `key`.
  std::optional<std::string> conflict_copy;
};

class Uploader {
 public:
  // Replays the intents in the store: queued in the background, in their original order.
  static base::Result<std::unique_ptr<Uploader>> Create(blobstore::BlobStore* primary,
                                                        shadow::ShadowStore* store,
                                                        UploaderOptions options,
                                                        base::Runtime runtime);
  ~Uploader();  // waits for running uploads; queued intents stay recorded for the next mount
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  // Records the intent and uploads (blocking) or, in writeback mode, queues.
  base::Result<UploadResult> Upload(UploadRequest request);

  // A queued upload of `key` that has not finished, if any: reads of the key must see it (the
  // staged file stands in for the primary until then).
  std::optional<std::string> PendingStagingPath(const std::string& key) const;
  // Waits until no upload of `key` is queued or running (before a rename, unlink or metadata
  // change of the key). The upload's own failure is not reported here.
  void WaitForKey(const std::string& key);
  // Waits for queued uploads until the deadline (none: until done). Unavailable if some remain.
  base::Status Drain(std::optional<base::MonoTime> deadline);
  uint64_t pending() const;
  uint64_t conflicts() const;

  struct Impl;

 private:
  explicit Uploader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowfs::fs
