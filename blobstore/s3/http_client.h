// HttpClient: HTTP/1.1 requests over libcurl for the S3 client. Thread-safe: any number of threads
// call Send() at once; each borrows an easy handle (and the keep-alive connection it caches) from
// a pool bounded by max_connections, blocking while all are busy. No lock is held during a
// transfer. Request bodies are read from a ByteSource range; response bodies can be streamed to a
// callback (so GETs land in a ByteSink without a copy of the whole object).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/metrics.h"
#include "blobstore/base/mutex.h"
#include "blobstore/base/result.h"
#include "blobstore/byte_io.h"
#include "blobstore/s3/sigv4.h"

namespace shadowfs::s3 {

struct HttpClientOptions {
  int max_connections = 32;
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer that moves less than 1 byte/s for this long is abandoned (Unavailable).
  std::chrono::seconds stall_timeout{30};
  bool verify_tls = true;
  std::string ca_bundle;  // PEM file; empty: curl's default
  // Optional byte counters (owned by a MetricsRegistry).
  base::Counter* bytes_sent = nullptr;
  base::Counter* bytes_received = nullptr;
};

struct HttpResponse {
  long status = 0;
  Headers headers;   // names lower-case, in arrival order
  std::string body;  // the body, unless it was streamed to on_body
  // The first header with this (lower-case) name, or null.
  const std::string* Header(std::string_view name) const;
};

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST or DELETE
  std::string url;     // already encoded
  Headers headers;
  // The body: bytes [body_offset, body_offset + body_length) of body_source if set, else `body`.
  blobstore::ByteSource* body_source = nullptr;
  uint64_t body_offset = 0;
  uint64_t body_length = 0;
  std::string body;
  // Called when the final response's status line and headers are in, before any body byte.
  // Returning true streams the body to on_body; false collects it into HttpResponse::body.
  std::function<bool(const HttpResponse&)> stream_body_if;
  std::function<base::Status(std::string_view)> on_body;
  // Collected bodies larger than this fail the request (a listing page is well under 1 MiB).
  size_t max_collected_body = 8u << 20;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP status is a successful Result. Transport failures (refused, reset, timeout, stall,
  // truncated body) are Unavailable; a failing body source or on_body returns its own Status;
  // TLS verification failures are PermissionDenied.
  base::Result<HttpResponse> Send(const HttpRequest& request) EXCLUDES(mu_);

 private:
  struct Handle;
  std::unique_ptr<Handle> Acquire() EXCLUDES(mu_);
  void Release(std::unique_ptr<Handle> handle) EXCLUDES(mu_);

  const HttpClientOptions options_;
  base::Mutex mu_;  // leaf lock: never held while calling out
  base::CondVar available_;
  std::vector<std::unique_ptr<Handle>> idle_ GUARDED_BY(mu_);
  int in_use_ GUARDED_BY(mu_) = 0;
};

}  // namespace shadowfs::s3
