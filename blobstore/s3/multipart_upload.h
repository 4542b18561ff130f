// MultipartUpload: one large BlobStore::Put as an S3 multipart upload. Parts are read from the
// ByteSource at their offsets and sent in parallel (the caller plus executor helpers), each part
// retried on its own. Any failure aborts the upload, so no parts are left behind (if the abort
// itself fails, a warning names the upload id; ListMultipartUploads finds it). Conditions
// (If-Match / If-None-Match) go on CompleteMultipartUpload, the moment the object appears.
// Used once, by one calling thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/executor.h"
#include "blobstore/blob_store.h"
#include "blobstore/s3/s3_client.h"

namespace shadowfs::s3 {

// S3's limits: at most 10000 parts, each at least 5 MiB except the last, at most 5 GiB.
inline constexpr uint64_t kMinPartSize = 5ull << 20;
inline constexpr uint64_t kMaxPartSize = 5ull << 30;
inline constexpr uint64_t kMaxParts = 10000;
inline constexpr uint64_t kMaxObjectSize = 5ull << 40;

// The configured part size, grown (in whole MiB) when the object would need more than 10000.
uint64_t ChoosePartSize(uint64_t object_size, uint64_t configured);

// The ETag S3 gives a multipart object: the MD5 of the parts' binary MD5s, then "-<parts>".
// Empty if a part's ETag is not a plain MD5 (SSE-KMS/SSE-C objects). Needed because RGW 16
// answers CompleteMultipartUpload with an empty <ETag>.
std::string MultipartEtag(const std::vector<std::string>& part_etags);

class MultipartUpload {
 public:
  MultipartUpload(S3Client& client, base::Executor* executor, std::string_view key,
                  blobstore::ByteSource& body, const blobstore::PutOptions& options,
                  Headers condition_headers);

  base::Result<blobstore::ObjectInfo> Run();

 private:
  base::Result<std::string> Initiate();
  base::Status UploadPart(size_t index);
  base::Result<blobstore::ObjectInfo> Complete();
  void Abort();

  S3Client& client_;
  base::Executor* const executor_;
  const std::string key_;
  blobstore::ByteSource& body_;
  const blobstore::PutOptions& options_;
  const Headers condition_headers_;
  uint64_t size_ = 0;
  uint64_t part_size_ = 0;
  size_t part_count_ = 0;
  std::string upload_id_;
  std::vector<std::string> part_etags_;  // slot i written only by the task for part i
};

}  // namespace shadowfs::s3
