#include "blobstore/s3/s3_blob_store.h"

#include <unistd.h>

#include <algorithm>

#include "blobstore/base/executor.h"
#include "blobstore/s3/bucket_admin.h"
#include "blobstore/s3/conditional_probe.h"
#include "blobstore/s3/multipart_upload.h"
#include "blobstore/s3/object_headers.h"
#include "blobstore/s3/ranged_download.h"
#include "blobstore/s3/s3_client.h"
#include "blobstore/s3/s3_errors.h"
#include "blobstore/s3/s3_xml.h"

namespace shadowfs::s3 {

using blobstore::CopyOptions;
using blobstore::GetOptions;
using blobstore::GetResult;
using blobstore::ListOptions;
using blobstore::ListPage;
using blobstore::ObjectInfo;
using blobstore::Preconditions;
using blobstore::PutOptions;

namespace {

// CopyObject's limit; larger objects need UploadPartCopy.
constexpr uint64_t kMaxCopySize = 5ull << 30;
// PutObject's limit.
constexpr uint64_t kMaxSinglePutSize = 5ull << 30;

Status ValidateConfig(const S3Config& c) {
  auto bad = [](const std::string& what) { return Status::InvalidArgument("S3 config: " + what); };
  if (c.region.empty()) return bad("region must not be empty");
  if (c.part_size < kMinPartSize || c.part_size > kMaxPartSize) {
    return bad("part_size must be between 5 MiB and 5 GiB (S3's limits for multipart parts)");
  }
  if (c.multipart_threshold == 0) return bad("multipart_threshold must be at least 1 byte");
  if (c.parallel_get_threshold == 0 || c.get_part_size == 0) {
    return bad("parallel_get_threshold and get_part_size must be at least 1 byte");
  }
  if (c.parallelism < 1 || c.parallelism > 256) return bad("parallelism must be 1..256");
  if (c.max_connections < 1 || c.max_connections > 1024) {
    return bad("max_connections must be 1..1024");
  }
  if (c.connect_timeout.count() <= 0 || c.stall_timeout.count() <= 0) {
    return bad("connect_timeout and stall_timeout must be positive");
  }
  if (c.retry.max_attempts < 1) return bad("retry.max_attempts must be at least 1");
  if (c.retry.base_delay.count() < 0 || c.retry.max_delay.count() < 0) {
    return bad("retry delays must not be negative");
  }
  if (!c.ca_bundle.empty() && ::access(c.ca_bundle.c_str(), R_OK) != 0) {
    return bad("ca_bundle '" + c.ca_bundle + "' is not a readable file");
  }
  if (!c.credentials.empty() && c.credentials.secret_access_key.empty()) {
    return bad("credentials have an access key id but no secret access key");
  }
  return Status::Ok();
}

void AddReadConditions(const Preconditions& conditions, Headers* headers) {
  if (!conditions.if_match.empty()) {
    headers->emplace_back("if-match", QuoteEtag(conditions.if_match));
  }
  if (!conditions.if_none_match.empty()) {
    headers->emplace_back("if-none-match", QuoteEtag(conditions.if_none_match));
  }
}

Status ValidateContentType(const std::string& content_type) {
  for (char c : content_type) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      return Status::InvalidArgument("content type must be printable ASCII");
  }
  return Status::Ok();
}

}  // namespace

struct S3BlobStore::Impl {
  Impl(S3Config c, S3Endpoint endpoint, base::Runtime r)
      : config(std::move(c)),
        runtime(r),
        client(std::move(endpoint), config, r),
        probe(client),
        admin(client),
        pool("s3-xfer", std::max(1, config.parallelism)) {}

  Result<ObjectInfo> PutSingle(std::string_view key, blobstore::ByteSource& body,
                               const PutOptions& options, const Headers& conditions);

  const S3Config config;
  const base::Runtime runtime;
  S3Client client;
  ConditionalWriteProbe probe;
  BucketAdmin admin;
  // Declared last so it is destroyed (its threads joined) first.
  base::ThreadPool pool;
};

Result<std::unique_ptr<S3BlobStore>> S3BlobStore::Create(S3Config config, base::Runtime runtime) {
  if (runtime.clock == nullptr || runtime.logger == nullptr || runtime.metrics == nullptr) {
    return Status::InvalidArgument("S3BlobStore needs a clock, a logger and a metrics registry");
  }
  SHADOWFS_RETURN_IF_ERROR(ValidateConfig(config));
  SHADOWFS_ASSIGN_OR_RETURN(
      S3Endpoint endpoint,
      S3Endpoint::Create(config.endpoint, config.region, config.bucket, config.path_style));
  auto impl = std::make_unique<Impl>(std::move(config), std::move(endpoint), runtime);
  return std::unique_ptr<S3BlobStore>(new S3BlobStore(std::move(impl)));
}

S3BlobStore::S3BlobStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3BlobStore::~S3BlobStore() = default;

const S3Config& S3BlobStore::config() const { return impl_->config; }

std::string S3BlobStore::Describe() const { return impl_->client.endpoint().Describe(); }

Result<ObjectInfo> S3BlobStore::Head(std::string_view key, const Preconditions& conditions) {
  SHADOWFS_RETURN_IF_ERROR(blobstore::ValidateKey(key));
  S3Request request;
  request.op = "head";
  request.method = "HEAD";
  request.key = std::string(key);
  AddReadConditions(conditions, &request.headers);
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, impl_->client.Send(request));
  if (response.status != 200) return impl_->client.ErrorStatus(response, request.op, key);
  return InfoFromHeaders(key, response);
}

Result<GetResult> S3BlobStore::Get(std::string_view key, const GetOptions& options,
                                   blobstore::ByteSink& sink) {
  SHADOWFS_RETURN_IF_ERROR(blobstore::ValidateKey(key));
  RangedDownload download(impl_->client, &impl_->pool, key, options, sink);
  return download.Run();
}

Result<ObjectInfo> S3BlobStore::Impl::PutSingle(std::string_view key, blobstore::ByteSource& body,
                                                const PutOptions& options,
                                                const Headers& conditions) {
  S3Request request;
  request.op = "put";
  request.method = "PUT";
  request.key = std::string(key);
  request.headers = conditions;
  if (!options.content_type.empty()) {
    request.headers.emplace_back("content-type", options.content_type);
  }
  AddMetadataHeaders(options.metadata, &request.headers);
  request.body_source = &body;
  request.body_length = body.size();
  // Known limit: if a conditional PUT is stored but its response is lost, the retry meets our
  // own write and reports Conflict. Callers' conflict handling keeps both versions, so nothing
  // is lost; telling the cases apart would need the body's MD5 before sending.
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client.Send(request));
  if (response.status != 200) return client.ErrorStatus(response, request.op, key);
  ObjectInfo info;
  info.key = std::string(key);
  info.size = body.size();
  const std::string* etag = response.Header("etag");
  if (etag == nullptr || etag->empty()) {
    return Status::Corruption("PUT of '" + info.key + "' returned no ETag");
  }
  info.etag = UnquoteEtag(*etag);
  if (const std::string* v = response.Header("x-amz-version-id"); v != nullptr && *v != "null") {
    info.version_id = *v;
  }
  // A PUT answers with no Last-Modified; the server's Date is when it stored the object.
  const std::string* date = response.Header("date");
  auto when = date != nullptr ? ParseHttpDate(*date) : std::nullopt;
  info.last_modified = when ? *when : runtime.clock->Now();
  info.content_type = options.content_type;
  info.metadata = options.metadata;
  return info;
}

Result<ObjectInfo> S3BlobStore::Put(std::string_view key, blobstore::ByteSource& body,
                                    const PutOptions& options) {
  SHADOWFS_RETURN_IF_ERROR(blobstore::ValidateKey(key));
  SHADOWFS_RETURN_IF_ERROR(ValidateMetadata(options.metadata));
  SHADOWFS_RETURN_IF_ERROR(ValidateContentType(options.content_type));
  Headers conditions;
  if (!options.conditions.empty()) {
    SHADOWFS_ASSIGN_OR_RETURN(ConditionalSupport support, impl_->probe.Get());
    const bool wants_match = !options.conditions.if_match.empty();
    const bool wants_absent = !options.conditions.if_none_match.empty();
    if ((wants_match && !support.if_match) || (wants_absent && !support.create_only)) {
      return Status::NotSupported(
          Describe() + " ignores " + (wants_match ? "If-Match" : "If-None-Match") +
          " on PUT, so a conditional write of '" + std::string(key) + "' cannot be made safe");
    }
    conditions = WriteConditionHeaders(options.conditions, support);
    if (body.size() >= impl_->config.multipart_threshold && !support.multipart) {
      // The server would complete a multipart upload whatever the condition says; a single PUT
      // is the only way to keep the write conditional.
      if (body.size() > kMaxSinglePutSize) {
        return Status::NotSupported(
            Describe() + " ignores conditions on CompleteMultipartUpload, and '" +
            std::string(key) + "' (" + std::to_string(body.size()) +
            " bytes) is too large for a single conditional PUT (5 GiB at most)");
      }
      return impl_->PutSingle(key, body, options, conditions);
    }
  }
  if (body.size() >= impl_->config.multipart_threshold) {
    MultipartUpload upload(impl_->client, &impl_->pool, key, body, options, conditions);
    return upload.Run();
  }
  return impl_->PutSingle(key, body, options, conditions);
}

Status S3BlobStore::Delete(std::string_view key) {
  SHADOWFS_RETURN_IF_ERROR(blobstore::ValidateKey(key));
  S3Request request;
  request.op = "delete";
  request.method = "DELETE";
  request.key = std::string(key);
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, impl_->client.Send(request));
  if (response.status >= 200 && response.status < 300) return Status::Ok();
  Status error = impl_->client.ErrorStatus(response, request.op, key);
  // Deleting a missing key succeeds, as S3 itself answers; a missing bucket does not.
  if (response.status == 404 && ErrorCode(response) != "NoSuchBucket") return Status::Ok();
  return error;
}

Result<ListPage> S3BlobStore::List(const ListOptions& options) {
  S3Request request;
  request.op = "list";
  request.method = "GET";
  request.query = {{"list-type", "2"},
                   {"encoding-type", "url"},
                   {"max-keys", std::to_string(std::clamp(options.max_keys, 1, 1000))}};
  if (!options.prefix.empty()) request.query.emplace_back("prefix", options.prefix);
  if (!options.delimiter.empty()) request.query.emplace_back("delimiter", options.delimiter);
  if (!options.continuation_token.empty()) {
    request.query.emplace_back("continuation-token", options.continuation_token);
  }
  if (!options.start_after.empty()) request.query.emplace_back("start-after", options.start_after);
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, impl_->client.Send(request));
  if (response.status != 200) return impl_->client.ErrorStatus(response, request.op, "");
  return ParseListObjectsV2(response.body);
}

Result<ObjectInfo> S3BlobStore::Copy(std::string_view source_key, std::string_view dest_key,
                                     const CopyOptions& options) {
  SHADOWFS_RETURN_IF_ERROR(blobstore::ValidateKey(source_key));
  SHADOWFS_RETURN_IF_ERROR(blobstore::ValidateKey(dest_key));
  if (options.replace_metadata) {
    SHADOWFS_RETURN_IF_ERROR(ValidateMetadata(*options.replace_metadata));
    SHADOWFS_RETURN_IF_ERROR(ValidateContentType(options.content_type));
  }
  // The source's size decides whether CopyObject can do it, and its ETag pins the copy to the
  // version we looked at.
  Result<ObjectInfo> source = Head(source_key, options.source_conditions);
  if (!source.ok()) {
    // A copy whose source condition fails is a conflict, whichever condition it was.
    if (source.status().IsNotModified()) {
      return Status::Conflict("copy source '" + std::string(source_key) +
                              "' matches If-None-Match");
    }
    return source.status();
  }
  if (source->size > kMaxCopySize) {
    return Status::NotSupported("copying '" + std::string(source_key) + "' (" +
                                std::to_string(source->size) +
                                " bytes) needs a multipart copy, which is not implemented yet; "
                                "CopyObject handles at most 5 GiB");
  }
  S3Request request;
  request.op = "copy";
  request.method = "PUT";
  request.key = std::string(dest_key);
  request.errors_in_200 = true;
  request.headers.emplace_back("x-amz-copy-source",
                               impl_->client.endpoint().CopySource(source_key, ""));
  request.headers.emplace_back("x-amz-copy-source-if-match", QuoteEtag(source->etag));
  ObjectInfo info = *source;
  info.key = std::string(dest_key);
  info.version_id.clear();
  if (options.replace_metadata) {
    request.headers.emplace_back("x-amz-metadata-directive", "REPLACE");
    if (!options.content_type.empty()) {
      request.headers.emplace_back("content-type", options.content_type);
    }
    AddMetadataHeaders(*options.replace_metadata, &request.headers);
    info.metadata = *options.replace_metadata;
    info.content_type = options.content_type;
  }
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, impl_->client.Send(request));
  if (response.status == 412) {
    return Status::Conflict("copy source '" + std::string(source_key) +
                            "' changed while it was being copied (ETag was " + source->etag + ")");
  }
  if (response.status != 200) return impl_->client.ErrorStatus(response, request.op, dest_key);
  SHADOWFS_ASSIGN_OR_RETURN(CopyResult copied, ParseCopyObjectResult(response.body));
  info.etag = copied.etag;
  info.last_modified = copied.last_modified;
  if (const std::string* v = response.Header("x-amz-version-id"); v != nullptr && *v != "null") {
    info.version_id = *v;
  }
  return info;
}

Result<bool> S3BlobStore::SupportsConditionalWrites() {
  SHADOWFS_ASSIGN_OR_RETURN(ConditionalSupport support, impl_->probe.Get());
  return support.supported();
}

Status S3BlobStore::CreateBucket() { return impl_->admin.CreateBucket(); }
Status S3BlobStore::DeleteBucket() { return impl_->admin.DeleteBucket(); }
Status S3BlobStore::CheckAccess() { return impl_->admin.CheckAccess(); }
Status S3BlobStore::SetVersioning(bool enabled) { return impl_->admin.SetVersioning(enabled); }
Result<std::vector<ObjectVersion>> S3BlobStore::ListVersions(std::string_view prefix) {
  return impl_->admin.ListVersions(prefix);
}
Status S3BlobStore::DeleteVersion(std::string_view key, std::string_view version_id) {
  return impl_->admin.DeleteVersion(key, version_id);
}
Result<std::vector<MultipartUploadInfo>> S3BlobStore::ListMultipartUploads(
    std::string_view prefix) {
  return impl_->admin.ListMultipartUploads(prefix);
}
Status S3BlobStore::AbortMultipartUpload(std::string_view key, std::string_view upload_id) {
  return impl_->admin.AbortMultipartUpload(key, upload_id);
}

}  // namespace shadowfs::s3
