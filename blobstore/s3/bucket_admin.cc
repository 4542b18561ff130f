#include "blobstore/s3/bucket_admin.h"

#include "blobstore/base/digest.h"
#include "blobstore/s3/s3_xml.h"

namespace shadowfs::s3 {

using base::Result;
using base::Status;

namespace {

std::string ContentMd5(std::string_view body) {
  base::Digest md5(base::Digest::Algorithm::kMd5);
  md5.Update(body);
  return base::Base64Encode(md5.Finish());
}

}  // namespace

Status BucketAdmin::SendConfiguration(std::string op, std::string method, QueryParams query,
                                      std::string body) {
  S3Request request;
  request.op = std::move(op);
  request.method = std::move(method);
  request.query = std::move(query);
  if (!body.empty()) {
    request.headers.emplace_back("content-type", "application/xml");
    request.headers.emplace_back("content-md5", ContentMd5(body));
  }
  request.body = std::move(body);
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  if (response.status >= 200 && response.status < 300) return Status::Ok();
  return client_.ErrorStatus(response, request.op, "");
}

Status BucketAdmin::CreateBucket() {
  return SendConfiguration("create-bucket", "PUT", {},
                           BuildCreateBucketConfiguration(client_.config().region));
}

Status BucketAdmin::DeleteBucket() { return SendConfiguration("delete-bucket", "DELETE", {}, ""); }

Status BucketAdmin::CheckAccess() {
  // A one-key listing rather than a HEAD: its error body says why access failed.
  S3Request request;
  request.op = "check-access";
  request.method = "GET";
  request.query = {{"list-type", "2"}, {"max-keys", "1"}};
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  if (response.status == 200) return Status::Ok();
  return client_.ErrorStatus(response, request.op, "");
}

Status BucketAdmin::SetVersioning(bool enabled) {
  return SendConfiguration("put-versioning", "PUT", {{"versioning", ""}},
                           BuildVersioningConfiguration(enabled));
}

Result<std::vector<ObjectVersion>> BucketAdmin::ListVersions(std::string_view prefix) {
  std::vector<ObjectVersion> out;
  std::string key_marker, version_marker;
  for (;;) {
    S3Request request;
    request.op = "list-versions";
    request.method = "GET";
    request.query = {{"versions", ""}, {"encoding-type", "url"}};
    if (!prefix.empty()) request.query.emplace_back("prefix", std::string(prefix));
    if (!key_marker.empty()) request.query.emplace_back("key-marker", key_marker);
    if (!version_marker.empty()) request.query.emplace_back("version-id-marker", version_marker);
    SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
    if (response.status != 200) return client_.ErrorStatus(response, request.op, "");
    SHADOWFS_ASSIGN_OR_RETURN(VersionsPage page, ParseListObjectVersions(response.body));
    for (auto& v : page.versions) out.push_back(std::move(v));
    if (!page.truncated) return out;
    if (page.next_key_marker.empty() ||
        (page.next_key_marker == key_marker && page.next_version_id_marker == version_marker)) {
      return Status::Corruption("ListObjectVersions is truncated but does not advance");
    }
    key_marker = page.next_key_marker;
    version_marker = page.next_version_id_marker;
  }
}

Status BucketAdmin::DeleteVersion(std::string_view key, std::string_view version_id) {
  if (version_id.empty()) return Status::InvalidArgument("DeleteVersion needs a version id");
  S3Request request;
  request.op = "delete-version";
  request.method = "DELETE";
  request.key = std::string(key);
  request.query.emplace_back("versionId", std::string(version_id));
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  if (response.status >= 200 && response.status < 300) return Status::Ok();
  return client_.ErrorStatus(response, request.op, key);
}

Result<std::vector<MultipartUploadInfo>> BucketAdmin::ListMultipartUploads(
    std::string_view prefix) {
  std::vector<MultipartUploadInfo> out;
  std::string key_marker, upload_marker;
  for (;;) {
    S3Request request;
    request.op = "list-multipart";
    request.method = "GET";
    request.query = {{"uploads", ""}, {"encoding-type", "url"}};
    if (!prefix.empty()) request.query.emplace_back("prefix", std::string(prefix));
    if (!key_marker.empty()) request.query.emplace_back("key-marker", key_marker);
    if (!upload_marker.empty()) request.query.emplace_back("upload-id-marker", upload_marker);
    SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
    if (response.status != 200) return client_.ErrorStatus(response, request.op, "");
    SHADOWFS_ASSIGN_OR_RETURN(UploadsPage page, ParseListMultipartUploads(response.body));
    for (auto& u : page.uploads) out.push_back(std::move(u));
    if (!page.truncated) return out;
    if (page.next_key_marker.empty() ||
        (page.next_key_marker == key_marker && page.next_upload_id_marker == upload_marker)) {
      return Status::Corruption("ListMultipartUploads is truncated but does not advance");
    }
    key_marker = page.next_key_marker;
    upload_marker = page.next_upload_id_marker;
  }
}

Status BucketAdmin::AbortMultipartUpload(std::string_view key, std::string_view upload_id) {
  S3Request request;
  request.op = "abort-multipart";
  request.method = "DELETE";
  request.key = std::string(key);
  request.query.emplace_back("uploadId", std::string(upload_id));
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  if (response.status >= 200 && response.status < 300) return Status::Ok();
  return client_.ErrorStatus(response, request.op, key);
}

}  // namespace shadowfs::s3
