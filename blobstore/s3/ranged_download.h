// RangedDownload: one BlobStore::Get over S3. Small ranges are one ranged GET streamed into the
// sink. Large ranges (or ranges of unknown length) start with a GET of the first part; as soon
// as its headers arrive (object size and ETag known) the remaining parts are fetched in parallel,
// every one pinned to that ETag with If-Match, so a concurrent overwrite makes the read fail with
// Conflict instead of mixing versions. A body that breaks off is resumed from the last byte
// received (Range + If-Match). Used once, by one calling thread (plus the executor's helpers).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blobstore/base/executor.h"
#include "blobstore/blob_store.h"
#include "blobstore/s3/parallel_work.h"
#include "blobstore/s3/s3_client.h"

namespace shadowfs::s3 {

class RangedDownload {
 public:
  RangedDownload(S3Client& client, base::Executor* executor, std::string_view key,
                 const blobstore::GetOptions& options, blobstore::ByteSink& sink);
  ~RangedDownload();

  base::Result<blobstore::GetResult> Run();

 private:
  // Absolute object offsets [begin, end) that one request fills, and how far it has got.
  struct Span {
    uint64_t begin = 0;
    uint64_t end = 0;
    uint64_t next = 0;
  };

  base::Result<HttpResponse> FirstAttempt();
  // Reads size, ETag and the delivered range from the first response's headers and starts the
  // parallel parts. Returns false (and sets header_error_) if the headers make no sense.
  bool OnFirstHeaders(const HttpResponse& response);
  base::Status FetchPart(size_t index);
  // Writes the part of `data` (which starts at absolute offset `at`) that falls in `span`.
  base::Status Deliver(uint64_t at, std::string_view data, Span* span);
  // For requests that select no bytes: the object's info from a HEAD.
  base::Result<blobstore::GetResult> EmptyResult();
  base::Status Fail(const HttpResponse& response);
  static base::Result<HttpResponse> Delivered();

  S3Client& client_;
  base::Executor* const executor_;
  const std::string key_;
  const blobstore::GetOptions& options_;
  blobstore::ByteSink& sink_;

  std::string first_range_;   // the Range header of the first request
  bool have_object_ = false;  // the first response's headers have arrived
  base::Status header_error_;
  blobstore::ObjectInfo info_;
  uint64_t window_begin_ = 0;  // the resolved range, absolute
  uint64_t window_end_ = 0;
  Span first_;
  uint64_t first_cursor_ = 0;  // absolute offset of the next byte of the first response body
  std::vector<std::pair<uint64_t, uint64_t>> parts_;
  std::unique_ptr<ParallelWork> work_;
};

}  // namespace shadowfs::s3
