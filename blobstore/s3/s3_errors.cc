#include "blobstore/s3/s3_errors.h"

#include "blobstore/s3/s3_xml.h"

namespace shadowfs::s3 {

using base::Status;

std::string ErrorCode(const HttpResponse& response) {
  if (response.body.empty()) return "";
  auto parsed = ParseError(response.body);
  return parsed.ok() ? parsed->code : "";
}

Status MapS3Error(const HttpResponse& response, const ErrorContext& ctx) {
  S3Error error;
  if (!response.body.empty()) {
    auto parsed = ParseError(response.body);
    if (parsed.ok()) error = *parsed;
  }
  const std::string bucket = ctx.endpoint != nullptr ? ctx.endpoint->bucket() : "?";
  const std::string where = ctx.endpoint != nullptr ? ctx.endpoint->Describe() : bucket;
  const std::string subject = ctx.key.empty()
                                  ? "bucket '" + bucket + "'"
                                  : "'" + std::string(ctx.key) + "' in bucket '" + bucket + "'";
  std::string detail = " (HTTP " + std::to_string(response.status);
  if (!error.code.empty()) detail += " " + error.code;
  if (!error.message.empty()) detail += ": " + error.message;
  if (!error.request_id.empty()) detail += ", request id " + error.request_id;
  detail += ")";
  const std::string action = "S3 " + std::string(ctx.op) + " of " + subject;
  const std::string creds =
      "credentials from " + (ctx.credential_source.empty() ? std::string("anonymous")
                                                           : std::string(ctx.credential_source));
  const std::string& code = error.code;
  const long status = response.status;

  if (status == 304) return Status::NotModified(subject + " is unchanged");
  if (status == 412 || code == "PreconditionFailed") {
    return Status::Conflict(action +
                            ": precondition failed; the object changed (or does not "
                            "exist) since the ETag the caller had" +
                            detail);
  }
  if (code == "NoSuchBucket" || (status == 404 && ctx.key.empty() && code.empty())) {
    return Status::NotFound("bucket '" + bucket + "' does not exist at " + where + detail);
  }
  if (code == "NoSuchUpload") {
    return Status::NotFound(action +
                            ": the multipart upload no longer exists (completed or "
                            "aborted)" +
                            detail);
  }
  if (code == "NoSuchVersion") return Status::NotFound(action + ": no such version" + detail);
  if (status == 404) return Status::NotFound("no such object " + subject + detail);
  if (code == "SignatureDoesNotMatch") {
    return Status::PermissionDenied(
        action + ": the server rejected the request signature for access key '" +
        std::string(ctx.access_key_id) + "'; the secret key is probably wrong (" + creds +
        "), or the region does not match the server's" + detail);
  }
  if (code == "InvalidAccessKeyId") {
    return Status::PermissionDenied("access key '" + std::string(ctx.access_key_id) +
                                    "' is unknown to " + where + " (" + creds +
                                    "); check the access key id" + detail);
  }
  if (code == "RequestTimeTooSkewed") {
    return Status::PermissionDenied(action +
                                    ": this machine's clock differs too much from the "
                                    "server's; synchronize it (NTP)" +
                                    detail);
  }
  if (code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired") {
    return Status::PermissionDenied(action + ": the session token is expired or invalid (" + creds +
                                    "); refresh the temporary credentials" + detail);
  }
  if (code == "PermanentRedirect" || code == "TemporaryRedirect" || status == 301 ||
      status == 307) {
    return Status::InvalidArgument(action +
                                   ": the bucket is served by another endpoint or "
                                   "region; configure that endpoint and region" +
                                   detail);
  }
  if (code == "AuthorizationHeaderMalformed") {
    return Status::InvalidArgument(action +
                                   ": the server refused the signature's scope; is "
                                   "the configured region right?" +
                                   detail);
  }
  if (status == 403) {
    return Status::PermissionDenied(
        "access denied to bucket '" + bucket + "' for " + std::string(ctx.op) +
        (ctx.key.empty() ? "" : " of '" + std::string(ctx.key) + "'") + ": check credentials (" +
        creds + ") and the bucket policy" + detail);
  }
  if (code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists") {
    return Status::AlreadyExists("bucket '" + bucket + "' already exists" + detail);
  }
  if (code == "BucketNotEmpty") {
    return Status::Conflict("bucket '" + bucket + "' is not empty" + detail);
  }
  if (status == 409) return Status::Conflict(action + " conflicts with another operation" + detail);
  if (status == 405 || status == 501 || code == "NotImplemented") {
    return Status::NotSupported(action + ": the server does not support this request" + detail);
  }
  if (status == 408 || status == 429 || status >= 500 || code == "RequestTimeout" ||
      code == "SlowDown" || code == "InternalError") {
    return Status::Unavailable(action + " failed" + detail);
  }
  if (status >= 400 && status < 500) return Status::InvalidArgument(action + " refused" + detail);
  return Status::IOError(action + ": unexpected response" + detail);
}

}  // namespace shadowfs::s3
