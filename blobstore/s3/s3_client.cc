#include "blobstore/s3/s3_client.h"

#include <random>

#include "blobstore/base/digest.h"
#include "blobstore/base/logging.h"
#include "blobstore/s3/s3_errors.h"
#include "blobstore/s3/s3_xml.h"

namespace shadowfs::s3 {

using base::Result;
using base::Status;

namespace {

std::unique_ptr<SigV4Signer> MakeSigner(const S3Config& config) {
  if (config.credentials.empty()) return nullptr;
  return std::make_unique<SigV4Signer>(config.credentials.access_key_id,
                                       config.credentials.secret_access_key,
                                       config.credentials.session_token, config.region, "s3",
                                       /*double_encode_path=*/false);
}

HttpClientOptions HttpOptions(const S3Config& config, base::MetricsRegistry* metrics) {
  HttpClientOptions o;
  o.max_connections = config.max_connections;
  o.connect_timeout = config.connect_timeout;
  o.stall_timeout = config.stall_timeout;
  o.verify_tls = config.verify_tls;
  o.ca_bundle = config.ca_bundle;
  if (metrics != nullptr) {
    o.bytes_sent =
        &metrics->GetCounter("shadowfs_s3_sent_bytes_total", "Bytes of request bodies sent to S3");
    o.bytes_received = &metrics->GetCounter("shadowfs_s3_received_bytes_total",
                                            "Bytes of response bodies received from S3");
  }
  return o;
}

uint64_t RandomSeed() {
  // random_device may throw where the system has no entropy source; jitter only needs
  // different seeds per process, which the clock gives well enough.
  try {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  } catch (const std::exception&) {
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
}

std::string StatusClass(const Result<HttpResponse>& r) {
  if (!r.ok()) return "error";
  return std::to_string(r->status / 100) + "xx";
}

}  // namespace

S3Client::S3Client(S3Endpoint endpoint, const S3Config& config, base::Runtime runtime)
    : endpoint_(std::move(endpoint)),
      config_(config),
      runtime_(runtime),
      signer_(MakeSigner(config)),
      http_(HttpOptions(config, runtime.metrics)),
      backoff_(config.retry, runtime.clock, RandomSeed()) {}

Result<HttpResponse> S3Client::SendOnce(const S3Request& request) {
  // A CR or LF in a header value would let a caller-supplied string (an ETag, a content type)
  // inject headers; the values are checked here, where every header passes.
  for (const auto& [name, value] : request.headers) {
    if (value.find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument("header " + name + " for S3 " + request.op + " of '" +
                                     request.key + "' contains a line break");
    }
  }
  HttpRequest http;
  http.method = request.method;
  http.url = endpoint_.Url(request.key, SigV4Signer::CanonicalQuery(request.query));
  http.body_source = request.body_source;
  http.body_offset = request.body_offset;
  http.body_length = request.body_length;
  http.body = request.body;
  http.stream_body_if = request.stream_body_if;
  http.on_body = request.on_body;

  SigningRequest signing;
  signing.method = request.method;
  signing.path = endpoint_.Path(request.key);
  signing.query = request.query;
  signing.headers = request.headers;
  signing.headers.emplace_back("host", endpoint_.host());
  signing.payload_hash = request.body_source != nullptr ? std::string(kUnsignedPayload)
                                                        : base::Sha256Hex(request.body);
  signing.headers.emplace_back("x-amz-content-sha256", signing.payload_hash);
  if (signer_ != nullptr) {
    std::string authorization = signer_->Sign(&signing, runtime_.clock->Now());
    signing.headers.emplace_back("authorization", std::move(authorization));
  }
  http.headers = std::move(signing.headers);

  const base::MonoTime start = runtime_.clock->Monotonic();
  Result<HttpResponse> result = http_.Send(http);
  const double seconds = std::chrono::duration<double>(runtime_.clock->Monotonic() - start).count();

  if (result.ok() && request.errors_in_200 && result->status == 200 &&
      IsErrorDocument(result->body)) {
    // Rewritten so that retry and error mapping treat it like the error it is.
    std::string code = ErrorCode(*result);
    result->status = code == "SlowDown" ? 503 : IsRetryableHttp(0, code) ? 500 : 400;
  }
  if (runtime_.metrics != nullptr) {
    runtime_.metrics
        ->GetCounter("shadowfs_s3_requests_total", "S3 requests by operation and status class",
                     {{"op", request.op}, {"code", StatusClass(result)}})
        .Increment();
    runtime_.metrics
        ->GetHistogram("shadowfs_s3_request_seconds", "S3 request latency by operation",
                       {{"op", request.op}})
        .Observe(seconds);
  }
  if (runtime_.logger != nullptr && runtime_.logger->Enabled(base::LogLevel::kDebug)) {
    base::LogStream(*runtime_.logger, base::LogLevel::kDebug)
        << "s3 " << request.op << " " << request.method << " " << http.url << " -> "
        << (result.ok() ? std::to_string(result->status) : result.status().ToString()) << " in "
        << static_cast<int64_t>(seconds * 1000) << " ms";
  }
  return result;
}

Result<HttpResponse> S3Client::Send(const S3Request& request) {
  return Retry(request.op, request.key, [&](int) { return SendOnce(request); });
}

Result<HttpResponse> S3Client::Retry(std::string_view op, std::string_view key,
                                     const Attempt& attempt) {
  std::string last_error;
  const int max_attempts = backoff_.max_attempts();
  for (int n = 1;; ++n) {
    Result<HttpResponse> result = attempt(n);
    if (result.ok()) {
      if (result->status < 400) return result;
      std::string code = ErrorCode(*result);
      if (!IsRetryableHttp(result->status, code)) return result;
      last_error = ErrorStatus(*result, op, key).message();
    } else {
      if (!result.status().IsUnavailable()) return result.status();
      last_error = result.status().message();
    }
    if (n >= max_attempts) break;
    if (runtime_.metrics != nullptr) {
      runtime_.metrics
          ->GetCounter("shadowfs_s3_retries_total", "S3 request attempts that were retried",
                       {{"op", std::string(op)}})
          .Increment();
    }
    if (runtime_.logger != nullptr) {
      base::LogStream(*runtime_.logger, base::LogLevel::kInfo)
          << "s3 " << op << " of '" << key << "': attempt " << n << " of " << max_attempts
          << " failed, retrying: " << last_error;
    }
    backoff_.Sleep(n);
  }
  std::string subject = key.empty()
                            ? "bucket '" + endpoint_.bucket() + "'"
                            : "'" + std::string(key) + "' in bucket '" + endpoint_.bucket() + "'";
  return Status::Unavailable("S3 " + std::string(op) + " of " + subject + " at " +
                             endpoint_.base_url() + " failed after " +
                             std::to_string(max_attempts) + " attempts; last error: " + last_error);
}

Status S3Client::ErrorStatus(const HttpResponse& response, std::string_view op,
                             std::string_view key) const {
  ErrorContext context;
  context.op = op;
  context.key = key;
  context.endpoint = &endpoint_;
  context.credential_source = config_.credentials.source;
  context.access_key_id = config_.credentials.access_key_id;
  return MapS3Error(response, context);
}

}  // namespace shadowfs::s3
