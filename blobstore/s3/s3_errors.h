// Maps S3 error responses (status + <Error> body) to Status codes with messages a user can act
// on: which object or bucket, what the server said, and what to check. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "blobstore/base/status.h"
#include "blobstore/s3/http_client.h"
#include "blobstore/s3/s3_endpoint.h"

namespace shadowfs::s3 {

struct ErrorContext {
  std::string_view op;   // "get", "put", ...
  std::string_view key;  // empty for bucket-level requests
  const S3Endpoint* endpoint = nullptr;
  std::string_view credential_source;  // "environment", "/root/.aws/credentials [default]"
  std::string_view access_key_id;      // not a secret; names which key the server rejected
};

// For a response that is not a success. 304 -> NotModified, 412 -> Conflict, 404 -> NotFound
// (naming the bucket for NoSuchBucket), 403 and signature/key errors -> PermissionDenied, 409 ->
// Conflict or AlreadyExists, 5xx/408/429 -> Unavailable, 405/501 -> NotSupported, other 4xx ->
// InvalidArgument.
base::Status MapS3Error(const HttpResponse& response, const ErrorContext& context);

// The S3 error code in the response body, or "" when it has none (HEAD) or it is not XML.
std::string ErrorCode(const HttpResponse& response);

}  // namespace shadowfs::s3
