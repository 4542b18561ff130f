#include "blobstore/s3/multipart_upload.h"

#include <algorithm>

#include "blobstore/base/digest.h"
#include "blobstore/base/logging.h"
#include "blobstore/s3/object_headers.h"
#include "blobstore/s3/parallel_work.h"
#include "blobstore/s3/s3_errors.h"
#include "blobstore/s3/s3_xml.h"

namespace shadowfs::s3 {

using base::Result;
using base::Status;
using blobstore::ObjectInfo;

uint64_t ChoosePartSize(uint64_t object_size, uint64_t configured) {
  uint64_t part = std::clamp(configured, kMinPartSize, kMaxPartSize);
  if ((object_size + part - 1) / part > kMaxParts) {
    constexpr uint64_t kMiB = 1ull << 20;
    part = (object_size + kMaxParts - 1) / kMaxParts;
    part = (part + kMiB - 1) / kMiB * kMiB;
  }
  return part;
}

std::string MultipartEtag(const std::vector<std::string>& part_etags) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  base::Digest md5(base::Digest::Algorithm::kMd5);
  for (const std::string& etag : part_etags) {
    if (etag.size() != 32) return "";
    std::string raw(16, '\0');
    for (size_t i = 0; i < 16; ++i) {
      int hi = hex(etag[2 * i]), lo = hex(etag[2 * i + 1]);
      if (hi < 0 || lo < 0) return "";
      raw[i] = static_cast<char>(hi * 16 + lo);
    }
    md5.Update(raw);
  }
  return md5.FinishHex() + "-" + std::to_string(part_etags.size());
}

MultipartUpload::MultipartUpload(S3Client& client, base::Executor* executor, std::string_view key,
                                 blobstore::ByteSource& body, const blobstore::PutOptions& options,
                                 Headers condition_headers)
    : client_(client),
      executor_(executor),
      key_(key),
      body_(body),
      options_(options),
      condition_headers_(std::move(condition_headers)) {}

Result<ObjectInfo> MultipartUpload::Run() {
  size_ = body_.size();
  if (size_ > kMaxObjectSize) {
    return Status::InvalidArgument("'" + key_ + "' is larger than S3's 5 TiB object limit");
  }
  part_size_ = ChoosePartSize(size_, client_.config().part_size);
  part_count_ = static_cast<size_t>(std::max<uint64_t>(1, (size_ + part_size_ - 1) / part_size_));
  part_etags_.assign(part_count_, std::string());

  SHADOWFS_ASSIGN_OR_RETURN(upload_id_, Initiate());
  ParallelWork work(executor_, part_count_, client_.config().parallelism,
                    [this](size_t i) { return UploadPart(i); });
  Status parts = work.Finish();
  if (!parts.ok()) {
    Abort();
    return parts;
  }
  Result<ObjectInfo> info = Complete();
  if (!info.ok()) Abort();
  return info;
}

Result<std::string> MultipartUpload::Initiate() {
  S3Request request;
  request.op = "create-multipart";
  request.method = "POST";
  request.key = key_;
  request.query.emplace_back("uploads", "");
  if (!options_.content_type.empty())
    request.headers.emplace_back("content-type", options_.content_type);
  AddMetadataHeaders(options_.metadata, &request.headers);
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  if (response.status != 200) return client_.ErrorStatus(response, request.op, key_);
  return ParseInitiateMultipartUpload(response.body);
}

Status MultipartUpload::UploadPart(size_t index) {
  S3Request request;
  request.op = "upload-part";
  request.method = "PUT";
  request.key = key_;
  request.query.emplace_back("partNumber", std::to_string(index + 1));
  request.query.emplace_back("uploadId", upload_id_);
  request.body_source = &body_;
  request.body_offset = index * part_size_;
  request.body_length = std::min(part_size_, size_ - request.body_offset);
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  if (response.status != 200) return client_.ErrorStatus(response, request.op, key_);
  const std::string* etag = response.Header("etag");
  if (etag == nullptr || etag->empty()) {
    return Status::Corruption("UploadPart " + std::to_string(index + 1) + " of '" + key_ +
                              "' returned no ETag");
  }
  part_etags_[index] = UnquoteEtag(*etag);
  return Status::Ok();
}

Result<ObjectInfo> MultipartUpload::Complete() {
  std::vector<std::pair<int, std::string>> parts;
  for (size_t i = 0; i < part_count_; ++i)
    parts.emplace_back(static_cast<int>(i + 1), part_etags_[i]);
  S3Request request;
  request.op = "complete-multipart";
  request.method = "POST";
  request.key = key_;
  request.query.emplace_back("uploadId", upload_id_);
  request.headers = condition_headers_;
  request.headers.emplace_back("content-type", "application/xml");
  request.body = BuildCompleteMultipartUpload(parts);
  request.errors_in_200 = true;
  int attempts = 0;
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Retry(request.op, key_, [&](int n) {
    attempts = n;
    return client_.SendOnce(request);
  }));
  if (response.status == 404 && ErrorCode(response) == "NoSuchUpload" && attempts > 1) {
    // An earlier attempt may have completed the upload and lost its response. The object is
    // ours if it has our size and a multipart ETag with our part count.
    S3Request head;
    head.op = "head";
    head.method = "HEAD";
    head.key = key_;
    auto current = client_.Send(head);
    if (current.ok() && current->status == 200) {
      ObjectInfo info = InfoFromHeaders(key_, *current);
      if (info.size == size_ && info.etag.size() > 2 &&
          info.etag.ends_with("-" + std::to_string(part_count_))) {
        return info;
      }
    }
  }
  if (response.status != 200) return client_.ErrorStatus(response, request.op, key_);
  SHADOWFS_ASSIGN_OR_RETURN(std::string etag, ParseCompleteMultipartUpload(response.body));
  if (etag.empty()) etag = MultipartEtag(part_etags_);
  if (etag.empty()) {
    return Status::Corruption("CompleteMultipartUpload of '" + key_ +
                              "' returned no ETag, and the parts' ETags are not MD5s to derive "
                              "it from");
  }
  ObjectInfo info;
  info.key = key_;
  info.size = size_;
  info.etag = etag;
  info.content_type = options_.content_type;
  info.metadata = options_.metadata;
  if (const std::string* v = response.Header("x-amz-version-id"); v != nullptr && *v != "null") {
    info.version_id = *v;
  }
  const std::string* date = response.Header("date");
  auto when = date != nullptr ? ParseHttpDate(*date) : std::nullopt;
  info.last_modified = when ? *when : client_.runtime().clock->Now();
  return info;
}

void MultipartUpload::Abort() {
  S3Request request;
  request.op = "abort-multipart";
  request.method = "DELETE";
  request.key = key_;
  request.query.emplace_back("uploadId", upload_id_);
  auto response = client_.Send(request);
  if (response.ok() && (response->status < 300 || response->status == 404)) return;
  base::LogStream(*client_.runtime().logger, base::LogLevel::kWarning)
      << "could not abort multipart upload " << upload_id_ << " of '" << key_ << "' in "
      << client_.endpoint().Describe() << ": "
      << (response.ok() ? client_.ErrorStatus(*response, request.op, key_).ToString()
                        : response.status().ToString())
      << "; its parts stay stored until it is aborted (shadowfs lists such uploads)";
}

}  // namespace shadowfs::s3
