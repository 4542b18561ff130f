// S3Client: one S3 REST request = addressing + SigV4 + HTTP + retries + metrics. The operations in
// S3BlobStore are built on it. Thread-safe; holds no lock during a request.
//
// Payload signing: bodies streamed from a ByteSource are sent with x-amz-content-sha256:
// UNSIGNED-PAYLOAD, because hashing first would read every upload twice (16 MiB parts, files on
// disk) before the first byte goes out; TLS protects those bodies in transit. Small in-memory
// bodies (the XML of CompleteMultipartUpload, bucket configuration) are signed with their real
// SHA-256.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/s3/http_client.h"
#include "blobstore/s3/retry.h"
#include "blobstore/s3/s3_blob_store.h"
#include "blobstore/s3/s3_endpoint.h"
#include "blobstore/s3/sigv4.h"

namespace shadowfs::s3 {

struct S3Request {
  std::string op;  // for metrics and messages: "get", "put", "head", ...
  std::string method;
  std::string key;  // empty: the bucket itself
  QueryParams query;
  Headers headers;  // besides host and x-amz-date; all are signed
  blobstore::ByteSource* body_source = nullptr;
  uint64_t body_offset = 0;
  uint64_t body_length = 0;
  std::string body;  // a small in-memory body
  // CompleteMultipartUpload and CopyObject can fail after the server has sent "200 OK" (it
  // keeps the connection alive with whitespace while it works): the <Error> then arrives in the
  // body. With this set, such a response is rewritten to the error status it stands for.
  bool errors_in_200 = false;
  std::function<bool(const HttpResponse&)> stream_body_if;
  std::function<base::Status(std::string_view)> on_body;
};

class S3Client {
 public:
  S3Client(S3Endpoint endpoint, const S3Config& config, base::Runtime runtime);

  // One attempt. Any HTTP status is a successful Result; transport failures are Unavailable.
  base::Result<HttpResponse> SendOnce(const S3Request& request);

  // SendOnce with retries of retryable outcomes. The result is a response that is final (a
  // success or a non-retryable error status), or Unavailable after the last attempt, naming the
  // operation, the key and the last error.
  base::Result<HttpResponse> Send(const S3Request& request);

  // The retry loop of Send for callers that change the request between attempts (a GET that
  // resumes after the bytes it already has). `attempt` gets the attempt number from 1; an
  // Unavailable Status from it is retried like a transport failure.
  using Attempt = std::function<base::Result<HttpResponse>(int attempt)>;
  base::Result<HttpResponse> Retry(std::string_view op, std::string_view key,
                                   const Attempt& attempt);

  // The Status for a response that is not a success.
  base::Status ErrorStatus(const HttpResponse& response, std::string_view op,
                           std::string_view key) const;

  const S3Endpoint& endpoint() const { return endpoint_; }
  const S3Config& config() const { return config_; }
  base::Runtime runtime() const { return runtime_; }

 private:
  const S3Endpoint endpoint_;
  const S3Config& config_;  // owned by the store, which outlives the client
  const base::Runtime runtime_;
  const std::unique_ptr<SigV4Signer> signer_;  // null for anonymous requests
  HttpClient http_;
  Backoff backoff_;
};

}  // namespace shadowfs::s3
