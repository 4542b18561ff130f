// BucketAdmin: the bucket-level requests behind S3BlobStore's administration methods (create,
// delete, access check, versioning, version listing, multipart upload listing and abort).
// Stateless over a shared S3Client; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "blobstore/s3/s3_blob_store.h"
#include "blobstore/s3/s3_client.h"

namespace shadowfs::s3 {

class BucketAdmin {
 public:
  explicit BucketAdmin(S3Client& client) : client_(client) {}

  base::Status CreateBucket();
  base::Status DeleteBucket();
  base::Status CheckAccess();
  base::Status SetVersioning(bool enabled);
  base::Result<std::vector<ObjectVersion>> ListVersions(std::string_view prefix);
  base::Status DeleteVersion(std::string_view key, std::string_view version_id);
  base::Result<std::vector<MultipartUploadInfo>> ListMultipartUploads(std::string_view prefix);
  base::Status AbortMultipartUpload(std::string_view key, std::string_view upload_id);

 private:
  // Sends a bucket-level request with an XML body and expects a 2xx.
  base::Status SendConfiguration(std::string op, std::string method, QueryParams query,
                                 std::string body);

  S3Client& client_;
};

}  // namespace shadowfs::s3
