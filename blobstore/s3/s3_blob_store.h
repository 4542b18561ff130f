// S3BlobStore: the BlobStore for S3-compatible servers (AWS S3, Ceph RGW, MinIO). Requests are
// signed with SigV4, sent over a pool of reused libcurl connections shared by all threads,
// retried with exponential backoff and jitter on 5xx, 503 SlowDown, 408, 429, resets and
// timeouts (never on other 4xx), and parsed with pugixml. Large PUTs become multipart uploads
// with parts sent in parallel (aborted on failure); large GETs become parallel ranged GETs pinned
// to one ETag. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/s3/credentials.h"

namespace shadowfs::s3 {

using base::Result;
using base::Status;

struct RetryPolicy {
  int max_attempts = 6;  // including the first
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{10'000};
};

struct S3Config {
  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:7480". Empty: AWS for `region`.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Path-style (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key) addressing.
  bool path_style = true;
  bool verify_tls = true;
  std::string ca_bundle;  // a PEM file; empty: curl's default (which honours CURL_CA_BUNDLE)
  Credentials credentials;

  uint64_t multipart_threshold = 32ull << 20;     // PUTs at least this large go multipart
  uint64_t part_size = 16ull << 20;               // grown automatically to stay under 10000 parts
  uint64_t parallel_get_threshold = 16ull << 20;  // GETs at least this large are split
  uint64_t get_part_size = 8ull << 20;
  int parallelism = 8;       // concurrent parts per request
  int max_connections = 32;  // the shared connection pool

  std::chrono::seconds connect_timeout{10};
  // A transfer that moves less than 1 byte/s for this long is abandoned (and retried).
  std::chrono::seconds stall_timeout{30};
  RetryPolicy retry;
};

struct MultipartUploadInfo {
  std::string key;
  std::string upload_id;
  base::WallTime initiated{};
};

struct ObjectVersion {
  std::string key;
  std::string version_id;
  std::string etag;
  uint64_t size = 0;
  bool is_latest = false;
  bool is_delete_marker = false;
};

class S3BlobStore final : public blobstore::BlobStore {
 public:
  // Checks the configuration (endpoint URL, bucket name) but sends nothing.
  static Result<std::unique_ptr<S3BlobStore>> Create(S3Config config, base::Runtime runtime);
  ~S3BlobStore() override;

  Result<blobstore::ObjectInfo> Head(std::string_view key,
                                     const blobstore::Preconditions& conditions) override;
  using BlobStore::Head;
  Result<blobstore::GetResult> Get(std::string_view key, const blobstore::GetOptions& options,
                                   blobstore::ByteSink& sink) override;
  Result<blobstore::ObjectInfo> Put(std::string_view key, blobstore::ByteSource& body,
                                    const blobstore::PutOptions& options) override;
  Status Delete(std::string_view key) override;
  Result<blobstore::ListPage> List(const blobstore::ListOptions& options) override;
  Result<blobstore::ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                                     const blobstore::CopyOptions& options) override;
  // Probes once (a create-only PUT and a stale If-Match PUT on a scratch key) and caches the
  // answer, including which ETag quoting the server's If-Match accepts. The probe also checks
  // whether CompleteMultipartUpload honours the conditions; where it does not (RGW 16),
  // conditional Puts above multipart_threshold are sent as single PUTs (NotSupported above
  // 5 GiB).
  Result<bool> SupportsConditionalWrites() override;
  std::string Describe() const override;

  // Bucket administration, for tests, tools and `shadowfs` setup.
  Status CreateBucket();
  Status DeleteBucket();  // the bucket must be empty
  // Confirms the bucket exists and the credentials work, with a message a user can act on.
  Status CheckAccess();
  Status SetVersioning(bool enabled);
  Result<std::vector<ObjectVersion>> ListVersions(std::string_view prefix);
  Status DeleteVersion(std::string_view key, std::string_view version_id);
  Result<std::vector<MultipartUploadInfo>> ListMultipartUploads(std::string_view prefix);
  Status AbortMultipartUpload(std::string_view key, std::string_view upload_id);

  const S3Config& config() const;

  struct Impl;

 private:
  explicit S3BlobStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowfs::s3
