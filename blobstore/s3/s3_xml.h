// The XML of S3's REST API: parsers for the responses the client reads and builders for the
// bodies it sends. A malformed or unexpected document is Status::Corruption naming the response,
// never a crash. Keys in listings requested with encoding-type=url are decoded here. Pure
// functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blobstore/base/result.h"
#include "blobstore/blob_store.h"
#include "blobstore/s3/s3_blob_store.h"

namespace shadowfs::s3 {

struct S3Error {
  std::string code;  // "NoSuchKey", "SignatureDoesNotMatch", ...
  std::string message;
  std::string request_id;
};

// Whether `body` is an <Error> document (S3 sends these with 200 for CompleteMultipartUpload
// and CopyObject, so a 2xx status alone does not mean success).
bool IsErrorDocument(std::string_view body);
base::Result<S3Error> ParseError(std::string_view body);

base::Result<blobstore::ListPage> ParseListObjectsV2(std::string_view body);

// The UploadId of an InitiateMultipartUploadResult.
base::Result<std::string> ParseInitiateMultipartUpload(std::string_view body);
// The ETag (unquoted) of a CompleteMultipartUploadResult; empty if the server left it out.
base::Result<std::string> ParseCompleteMultipartUpload(std::string_view body);

struct CopyResult {
  std::string etag;
  base::WallTime last_modified{};
};
base::Result<CopyResult> ParseCopyObjectResult(std::string_view body);

struct UploadsPage {
  std::vector<MultipartUploadInfo> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
base::Result<UploadsPage> ParseListMultipartUploads(std::string_view body);

struct VersionsPage {
  std::vector<ObjectVersion> versions;  // versions and delete markers, in server order
  bool truncated = false;
  std::string next_key_marker;
  std::string next_version_id_marker;
};
base::Result<VersionsPage> ParseListObjectVersions(std::string_view body);

// <CompleteMultipartUpload> with (part number, ETag) pairs in ascending part order.
std::string BuildCompleteMultipartUpload(const std::vector<std::pair<int, std::string>>& parts);
std::string BuildVersioningConfiguration(bool enabled);
// Empty for us-east-1, which must not be named as a location constraint.
std::string BuildCreateBucketConfiguration(std::string_view region);

}  // namespace shadowfs::s3
